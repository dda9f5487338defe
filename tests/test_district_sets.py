"""Several district sets at once: council, congress, state house; a member's district in each, an email's variants
as the combinations of districts it uses, and every phone for readers whose district is unknown."""

from __future__ import annotations

import csv
import email.parser
import email.policy
import io
import shutil
import sqlite3
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import delivery, merge
from actionmail.audience import Store, schema
from actionmail.cli import main
from actionmail.database.sqlite import SqliteConnection
from actionmail.errors import InvalidInput
from actionmail.officials import load_directory
from actionmail.variants import load_edition, plan, plan_counts
from tests.conftest import ROOT, write

COUNCIL_TEL = {str(d): f"tel:+120668488{d:02d}" for d in range(1, 8)}
# Each representative's two offices (officials.yaml), by congressional district.
HOUSE_TEL = {"7": ("tel:+12022253106", "tel:+12066740040"), "9": ("tel:+12022258901", "tel:+14257935180")}

TWO_CALLS = """\
date: 2019-08-02
subject: "Two calls today, district {district|unknown}"
preheader: Your councilmember and your U.S. Representative, five minutes.
headline: Two calls today
actions:
  - kind: call
    title: Call your councilmember and your U.S. Representative
    why: Tell them to oppose facial recognition.
    targets:
      - group: district-councilmember
      - group: us-representative
    script:
      - text: I live in council district {district|unknown}, congressional district {district.congress|unknown}.
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def problems(path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        load_directory(path, "US")
    return [str(p) for p in caught.value.problems]


# officials.yaml ---------------------------------------------------------------------------------------------------

STATE_HOUSE = """\
officials:
  - {id: a, name: Ann A, title: Representative, district: 43, phones: [{label: Olympia, number: "360-786-7818"}]}
  - {id: b, name: Bo B, title: Representative, district: 43, phones: [{label: Olympia, number: "360-786-7826"}]}
  - {id: c, name: Cy C, title: Representative, district: 37, phones: [{label: Olympia, number: "360-786-7838"}]}
groups:
  - id: state-representatives
    label: your two state representatives
    per_district: true
    set: state-house
    seats: 2
    members: [a, b, c]
    lookup: {text: Find your legislative district, url: "https://app.leg.wa.gov/DistrictFinder/"}
"""


def test_a_group_names_its_set_and_a_district_may_have_two_members(project: Path) -> None:
    path = write(project, "officials.yaml", STATE_HOUSE)
    directory = load_directory(path, "US")
    group = directory.group("state-representatives")
    assert directory.sets == ["state-house"] and directory.districts == []
    assert directory.districts_of("state-house") == ["43", "37"]
    assert [m.name for m in directory.members_for(group, "43")] == ["Ann A", "Bo B"]
    assert directory.members_for(group, None) == [] and directory.members_for(group, "1") == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("    seats: 2\n", ""),
            "officials.yaml:6: groups[0]: two members have the same district (43): list one member per district, or "
            "write 'seats: 2' where each district has two",
        ),
        (
            ("    per_district: true\n", ""),
            "officials.yaml:6: groups[0]: 'set:' is only for a per-district group, and this one is not per district: "
            "add 'per_district: true' (each reader calls their own member), or delete 'set:'",
        ),
        (
            ("set: state-house", "set: State House"),
            "officials.yaml:9: groups[0].set: 'State House' is not a valid id: ",
        ),
        (
            ("seats: 2", "seats: 0"),
            "officials.yaml:10: groups[0].seats: ",
        ),
    ],
)
def test_a_wrong_set_or_seats_is_reported_where_it_is(project: Path, change: tuple[str, str], expected: str) -> None:
    path = write(project, "officials.yaml", STATE_HOUSE.replace(*change))
    found = problems(path)
    assert found[0].startswith(expected), found


def test_an_official_in_groups_of_two_sets_is_refused(project: Path) -> None:
    text = STATE_HOUSE + (
        "  - id: senators\n    label: your senator\n    per_district: true\n    set: state-senate\n    members: [c]\n"
        "    lookup: {text: Find your legislative district, url: 'https://app.leg.wa.gov/DistrictFinder/'}\n"
    )
    assert problems(write(project, "officials.yaml", text)) == [
        "officials.yaml:5: groups: 'c' is in the per-district groups 'state-representatives' (set state-house) and "
        "'senators' (set state-senate), but has one district: an official represents a district of one set: check "
        "the groups' 'set:'"
    ]


def test_the_example_directory_has_two_sets_and_old_files_keep_their_meaning() -> None:
    directory = load_directory(ROOT / "officials.yaml", "US")
    assert directory.sets == ["district", "congress"]
    assert directory.districts == [str(d) for d in range(1, 8)]  # the default set: the council, as before
    assert directory.districts_of("congress") == ["7", "9"]
    # The examples name no congress group: they depend on the council district alone, as before.
    for name in ("2019-08-01-no-police-facial-recognition.yaml", "2019-11-13-dreamers-no-pueden-esperar.yaml"):
        edition = load_edition(ROOT / "newsletters" / name)
        assert edition.other_sets == ()


# The database ------------------------------------------------------------------------------------------------------


@pytest.mark.database
@pytest.mark.sqlite_only  # the SQLite file's own migrations
def test_a_database_from_before_district_sets_keeps_its_districts(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None, factory=SqliteConnection)
    schema.migrate(db, schema.MIGRATIONS[:10])  # the last version with one district column
    db.execute(
        "INSERT INTO subscribers (email, email_key, district, language, created_at, updated_at) "
        "VALUES ('ana@example.org', 'ana@example.org', '3', 'es', '2019-01-01T00:00:00+00:00', "
        "'2019-01-01T00:00:00+00:00')"
    )
    db.close()
    with Store.open(path) as store:
        ana = store.get("ana@example.org")
        assert ana is not None and (ana.district, dict(ana.districts)) == ("3", {})
        store.add("ana@example.org", districts={"congress": "9"})
        ana = store.get("ana@example.org")
        assert ana is not None and (ana.district, dict(ana.districts)) == ("3", {"congress": "9"})
        assert ana.district_of("district") == "3" and ana.district_of("congress") == "9"
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (len(schema.MIGRATIONS),)
    with pytest.raises(sqlite3.IntegrityError):  # the column holds an object, always
        db.execute("UPDATE subscribers SET districts = '[1]'")


# Import, add, show, list, export ----------------------------------------------------------------------------------

MEMBERS = """\
Email Address,District,CD,Language
a@example.org,3,WA-9,es
b@example.org,3,7,en
c@example.org,,CD 9,en
d@example.org,5,12,
e@example.org,7,,en
"""


@pytest.mark.database
def test_a_csv_maps_a_column_to_a_set(project: Path) -> None:
    write(project, "m.csv", MEMBERS)
    code, output = invoke("subscribers", "import", "m.csv", "--map", "CD=district.congress")
    assert code == 0, output
    assert output.splitlines() == [
        "m.csv:2: CD: warning: 'WA-9' is not a congress district in officials.yaml (known: 7, 9), so the member "
        "was imported without a congress district: correct it and import the file again, or leave the cell empty",
        "m.csv:5: CD: warning: '12' is not a congress district in officials.yaml (known: 7, 9), so the member was "
        "imported without a congress district: correct it and import the file again, or leave the cell empty",
        "added 5, updated 0, unchanged 0, skipped 0",
    ]
    with Store.open(project / "actionmail.db") as store:
        found = {m.email: (m.district, dict(m.districts)) for m in store.subscribers()}
    assert found == {
        "a@example.org": ("3", {}),
        "b@example.org": ("3", {"congress": "7"}),
        "c@example.org": (None, {"congress": "9"}),  # 'CD 9', as 'District 3' is 3
        "d@example.org": ("5", {}),
        "e@example.org": ("7", {}),
    }
    # Shown by `subscribers show` and `list`, read back from `export`.
    assert "  district.congress: 7\n" in invoke("subscribers", "show", "b@example.org")[1]
    listed = invoke("subscribers", "list")[1].splitlines()
    assert listed[0].split() == ["EMAIL", "NAME", "DISTRICT", "CONGRESS", "ZIP", "LANGUAGE", "TAGS"]
    assert listed[2:4] == [
        "c@example.org                  9              en",
        "b@example.org        3         7              en",
    ]
    code, exported = invoke("subscribers", "export")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {r["email"]: r["district.congress"] for r in rows} == {
        "a@example.org": "",
        "b@example.org": "7",
        "c@example.org": "9",
        "d@example.org": "",
        "e@example.org": "",
    }
    # A header that names the set is read without --map; an import again changes nothing.
    write(project, "again.csv", exported)
    assert (
        invoke("subscribers", "import", "again.csv")[1].splitlines()[-1] == "added 0, updated 0, unchanged 5, skipped 0"
    )


@pytest.mark.database
def test_a_column_of_a_set_officials_yaml_lacks_is_refused_before_anything_is_imported(project: Path) -> None:
    write(project, "m.csv", MEMBERS)
    assert invoke("subscribers", "import", "m.csv", "--map", "CD=district.congres") == (
        2,
        "m.csv:1: the column 'CD' holds district.congres, but officials.yaml has no district set 'congres' (its "
        "other sets: congress): did you mean district.congress?\n",
    )
    assert not (project / "actionmail.db").exists() or invoke("subscribers", "count")[1].startswith("0")


@pytest.mark.database
def test_add_takes_a_district_per_set(project: Path) -> None:
    code, output = invoke("subscribers", "add", "ana@example.org", "--district", "3", "--district", "congress=CD 9")
    assert (code, output) == (0, "Added ana@example.org\n")
    with Store.open(project / "actionmail.db") as store:
        ana = store.get("ana@example.org")
    assert ana is not None and (ana.district, dict(ana.districts)) == ("3", {"congress": "9"})
    assert invoke("subscribers", "add", "bo@example.org", "--district", "congress=8") == (
        2,
        "Error: congress district '8' is not in officials.yaml (known: 7, 9): use one of them, or leave it out\n",
    )
    assert invoke("subscribers", "add", "bo@example.org", "--district", "senate=8") == (
        2,
        "Error: 'senate' is not a district set of officials.yaml (its other sets: congress)\n",
    )


# Variants -----------------------------------------------------------------------------------------------------------


def _expected_combinations(path: Path, congress: dict[str, str]) -> set[tuple[str, str | None, str | None]]:
    """The variants of TWO_CALLS for the members of a CSV, worked out from the file: (language, council district
    if known, congressional district if known)."""
    found = set()
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            council = row["District"] if row["District"] in COUNCIL_TEL else None
            found.add(("en", council, congress.get(row["Email Address"])))
    return found


@pytest.mark.database
def test_the_sample_with_two_sets_has_a_variant_per_combination(project: Path) -> None:
    sample = ROOT / "sample" / "members.csv"
    shutil.copy(sample, project / "members.csv")
    assert invoke("subscribers", "import", "members.csv")[0] == 0
    # Each member's congressional district from their zip code: south-east Seattle is the 9th, the rest the 7th.
    congress = {}
    with sample.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["Zip Code"].startswith("981"):
            congress[row["Email Address"]] = "9" if row["Zip Code"] in ("98108", "98118", "98178") else "7"
    lines = ["email,district.congress", *(f"{e},{d}" for e, d in congress.items())]
    write(project, "cd.csv", "\n".join(lines) + "\n")
    assert invoke("subscribers", "import", "cd.csv")[0] == 0
    path = write(project / "newsletters", "2019-08-02-two.yaml", TWO_CALLS)
    edition = load_edition(path)
    assert edition.used_sets == ("district", "congress")
    with Store.open(project / "actionmail.db") as store:
        streamed = plan(edition, store.subscribers())
        counted = plan_counts(edition, store.count_by_variant())
    assert streamed == counted
    assert sum(counted.values()) == len(rows)
    assert {(k.language, k.district, dict(k.others)["congress"]) for k in counted} == _expected_combinations(
        sample, congress
    )


@pytest.mark.database
def test_the_ledger_queues_each_member_under_the_combination_edition_key_gives(project: Path) -> None:
    write(project, "m.csv", MEMBERS.replace("WA-9", "9"))
    assert invoke("subscribers", "import", "m.csv", "--map", "CD=district.congress")[0] == 0
    edition = load_edition(write(project / "newsletters", "2019-08-02-two.yaml", TWO_CALLS))
    with Store.open(project / "actionmail.db") as store:
        ledger = delivery.Ledger(project / "actionmail.db")
        prepared = delivery.prepare(edition, store, ledger, None)
        send = ledger.create_send(prepared.issue, prepared.content_hash, None)
        delivery._enqueue(prepared, store, ledger, send)
        queued = {row.email: delivery._key(row.variant) for row in ledger.pending(send.id, [delivery.State.QUEUED])}
        expected = {m.email: edition.key_for(m) for m in store.subscribers()}
        ledger.close()
    assert queued == expected
    assert {e: (k.district, k.others) for e, k in queued.items()} == {
        "a@example.org": ("3", (("congress", "9"),)),
        "b@example.org": ("3", (("congress", "7"),)),
        "c@example.org": (None, (("congress", "9"),)),
        "d@example.org": ("5", (("congress", None),)),
        "e@example.org": ("7", (("congress", None),)),
    }


def parse(path: Path) -> EmailMessage:
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.database
def test_a_send_gives_each_member_their_own_officials_in_every_set(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", "k" * 32)
    write(project, "m.csv", MEMBERS.replace("WA-9", "9"))
    assert invoke("subscribers", "import", "m.csv", "--map", "CD=district.congress")[0] == 0
    write(project / "newsletters", "2019-08-02-two.yaml", TWO_CALLS)
    code, output = invoke("send", "newsletters/2019-08-02-two.yaml", "--yes", "--force")
    assert code == 0, output
    with Store.open(project / "actionmail.db") as store:
        members = {m.id: m for m in store.subscribers()}
    files = sorted((project / "outbox" / "2019-08-02-two").glob("*.eml"))
    assert len(files) == 5
    for path in files:
        member = members[int(path.stem)]
        html = parse(path).get_body(("html",)).get_content()  # type: ignore[union-attr]
        council, cd = member.district, member.districts.get("congress")
        if council:
            assert [tel for tel in COUNCIL_TEL.values() if tel in html] == [COUNCIL_TEL[council]]
        else:
            assert all(tel in html for tel in COUNCIL_TEL.values())
        house = [tel for d, tels in HOUSE_TEL.items() for tel in tels if f'href="{tel}"' in html]
        assert house == (list(HOUSE_TEL[cd]) if cd else [t for tels in HOUSE_TEL.values() for t in tels])
        if not cd:
            assert "app.leg.wa.gov/DistrictFinder" in html
        assert f"congressional district {cd or 'unknown'}" in html


# Rendering ---------------------------------------------------------------------------------------------------------


def test_each_combination_renders_its_own_officials_in_html_and_text(project: Path) -> None:
    edition = load_edition(write(project / "newsletters", "2019-08-02-two.yaml", TWO_CALLS))
    both = edition.render(edition.key("en", "3", {"congress": "9"}))
    assert "Kshama Sawant" in both.text and "Adam Smith" in both.text and "Pramila Jayapal" not in both.text
    assert "Oficina en Washington, D.C.: (202) 225-8901\n  Oficina en Renton: (425) 793-5180" in both.text
    assert all(f'href="{tel}"' in both.html for tel in HOUSE_TEL["9"])
    assert not any(tel in both.html for tel in HOUSE_TEL["7"])
    assert "I live in council district 3, congressional district 9." in " ".join(both.text.replace(">", "").split())
    assert edition.label(edition.key("en", "3", {"congress": "9"})) == "en · district 3 · congress 9"
    # The council district known, the congressional one not: their councilmember, and the lookup for the other.
    half = edition.render(edition.key("en", "3", {"congress": "12"}))
    assert [tel for tel in COUNCIL_TEL.values() if tel in half.html] == [COUNCIL_TEL["3"]]
    assert "Your U.S. Representative\nIt depends on where you live:\n" in half.text
    assert "Find your congressional district: https://app.leg.wa.gov/DistrictFinder/" in half.text
    assert "congressional district unknown" in half.html


def test_readers_whose_district_is_unknown_see_every_phone_of_every_member(project: Path) -> None:
    edition = load_edition(write(project / "newsletters", "2019-08-02-two.yaml", TWO_CALLS))
    unknown = edition.render(edition.key("en", None))
    text = unknown.text
    block = text[text.index("Your U.S. Representative\nIt depends on where you live:\n") :]
    assert block.splitlines()[2:9] == [
        "Find your congressional district: https://app.leg.wa.gov/DistrictFinder/",
        "  District 7: Pramila Jayapal",
        "    Oficina en Washington, D.C.: (202) 225-3106",
        "    Oficina en Seattle: (206) 674-0040",
        "  District 9: Adam Smith",
        "    Oficina en Washington, D.C.: (202) 225-8901",
        "    Oficina en Renton: (425) 793-5180",
    ]
    # In the HTML, each office's number is a link, labelled where a member has several; one number alone isn't.
    for tels in HOUSE_TEL.values():
        assert all(f'href="{tel}"' in unknown.html for tel in tels)
    assert 'Oficina en Renton: <a class="am-tel" href="tel:+14257935180"' in unknown.html
    assert '<strong>Lisa Herbold</strong><br><a class="am-tel" href="tel:+12066848801"' in unknown.html
    assert "  District 1: Lisa Herbold, (206) 684-8801\n" in text


def test_merge_fields_name_a_set() -> None:
    assert merge.unknown_fields("{district.congress} {district} {distrct.congress}")[0][0] == "distrct.congress"
    assert len(merge.unknown_fields("{district.congress} {district}")) == 0
    filled = merge.fill_variant("CD {district.congress|?}, {district|?}", {"district.congress": "7"}, escape=False)
    assert filled == "CD 7, ?"


def test_a_merge_field_of_a_set_officials_yaml_lacks_is_an_error(project: Path) -> None:
    write(
        project / "newsletters", "2019-08-02-two.yaml", TWO_CALLS.replace("{district.congress|", "{district.congres|")
    )
    code, output = invoke("check", "--no-spam", "newsletters/2019-08-02-two.yaml")
    assert code == 2
    assert (
        "newsletters/2019-08-02-two.yaml:13: actions[0].script[0].text: unknown merge field {district.congres}: "
        "did you mean {district.congress}?"
    ) in output.splitlines()


def test_check_renders_each_sets_districts(project: Path) -> None:
    from actionmail import check
    from actionmail.config import load_project
    from actionmail.newsletter import load_newsletter

    path = write(project / "newsletters", "2019-08-02-two.yaml", TWO_CALLS)
    loaded = load_project(path)
    draft = check.make_draft(path, loaded, load_newsletter(path, loaded.officials, "US"))
    # Unknown everywhere, each council district, each congressional district.
    assert len(draft.rendered) == 1 + 7 + 2
    assert [sum(t in v.html for t in COUNCIL_TEL.values()) for v in draft.rendered] == [7, *[1] * 7, 7, 7]
    assert invoke("check", "--no-spam", "newsletters/2019-08-02-two.yaml")[0] == 0


@pytest.mark.database
def test_render_and_variants_commands_take_a_district_per_set(project: Path) -> None:
    write(project / "newsletters", "2019-08-02-two.yaml", TWO_CALLS)
    code, output = invoke(
        "render", "newsletters/2019-08-02-two.yaml", "--district", "2", "--district", "congress=7", "-o", "out.html"
    )
    assert code == 0, output
    html = (project / "out.html").read_text()
    assert [tel for tel in COUNCIL_TEL.values() if tel in html] == [COUNCIL_TEL["2"]]
    assert [t for tels in HOUSE_TEL.values() for t in tels if t in html] == list(HOUSE_TEL["7"])
    # Written as a member list or `subscribers add` may write it: the same version.
    code, output = invoke(
        "render", "newsletters/2019-08-02-two.yaml", "--district", "District 2", "--district", "congress=CD 7",
        "-o", "written.html",
    )  # fmt: skip
    assert code == 0, output
    assert (project / "written.html").read_text() == html
    assert invoke("render", "newsletters/2019-08-02-two.yaml", "--district", "congress=8")[1] == (
        "Error: --district congress=8: not a district of the set congress in officials.yaml (known: 7, 9)\n"
    )
    assert invoke("render", "newsletters/2019-08-02-two.yaml", "--district", "senate=8")[1] == (
        "Error: --district senate=8: 'senate' is not a district set of officials.yaml (its sets: district, congress)\n"
    )
    write(project, "m.csv", MEMBERS.replace("WA-9", "9"))
    invoke("subscribers", "import", "m.csv", "--map", "CD=district.congress")
    code, output = invoke("variants", "newsletters/2019-08-02-two.yaml")
    assert code == 0, output
    assert [line.split("  ")[0] for line in output.splitlines()] == [
        "VARIANT",
        "en · district 3 · congress 7",
        "en · district 3 · congress 9",
        "en · district 5 · congress unknown",
        "en · district 7 · congress unknown",
        "en · district unknown · congress 9",
        "total",
    ]


@pytest.mark.database
def test_a_segment_selects_by_another_sets_district(project: Path) -> None:
    write(project, "m.csv", MEMBERS.replace("WA-9", "9"))
    invoke("subscribers", "import", "m.csv", "--map", "CD=district.congress")
    listed = invoke("subscribers", "list", "--segment", "district.congress=9")[1].splitlines()
    assert sorted(line.split()[0] for line in listed[1:-1]) == ["a@example.org", "c@example.org"]
    listed = invoke("subscribers", "list", "--segment", "district.congress=none district=3|5|7")[1].splitlines()
    assert sorted(line.split()[0] for line in listed[1:-1]) == ["d@example.org", "e@example.org"]
    assert invoke("subscribers", "list", "--segment", "district.congres=9") == (
        2,
        "Error: segment 'district.congres=9': officials.yaml has no district set 'congres': use one of: "
        "district.congress\n",
    )
    assert invoke("subscribers", "list", "--segment", "district.congress=8") == (
        2,
        "Error: segment 'district.congress=8': no congress district '8' in officials.yaml (known: 7, 9): use one "
        "of them, or none for members without a congress district\n",
    )


def test_the_box_with_every_phone_passes_the_official_mjml_validator(project: Path, tmp_path: Path) -> None:
    from tests.test_mjml_validator import MJML, strict_problems

    if shutil.which("node") is None or not MJML.exists():
        pytest.skip("the official MJML validator needs Node.js and `npm ci --prefix tests/mjml`")
    edition = load_edition(write(project / "newsletters", "2019-08-02-two.yaml", TWO_CALLS))
    files = []
    for number, key in enumerate([edition.key("en", None), edition.key("en", "3", {"congress": "9"})]):
        files.append(tmp_path / f"v{number}.mjml")
        files[-1].write_text(edition.render(key).mjml, encoding="utf-8")
    assert strict_problems(MJML, files) == []


def test_the_preview_offers_each_sets_districts_and_reads_a_combination_back(project: Path) -> None:
    from actionmail.preview.workspace import all_keys, parse_variant, variant_id

    edition = load_edition(write(project / "newsletters", "2019-08-02-two.yaml", TWO_CALLS))
    offered = [variant_id(key) for key in all_keys(edition)]
    assert offered == [
        *(f"en:{d}:congress=" for d in range(1, 8)),
        "en::congress=7",
        "en::congress=9",
        "en::congress=",
    ]
    both = parse_variant(edition, "en:3:congress=9")
    assert both == edition.key("en", "3", {"congress": "9"}) and variant_id(both) == "en:3:congress=9"
    assert parse_variant(edition, None) == edition.key("en", None)
