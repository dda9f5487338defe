"""Variants: readers grouped by what the email uses of them; each variant rendered once, naming the right people."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import database, tokens
from actionmail.audience import Store
from actionmail.cli import main
from actionmail.errors import InvalidInput
from actionmail.variants import VariantKey, load_edition, plan, plan_counts, reader_values
from tests.conftest import ROOT, SEED, write


@dataclasses.dataclass(frozen=True)
class Reader:
    id: int
    email: str
    district: str | None = None
    language: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    fields: Mapping[str, str] = dataclasses.field(default_factory=dict)


SEATTLE = {  # district: (councilmember in August 2019, City Hall number)
    "1": ("Lisa Herbold", "+12066848801"),
    "2": ("Bruce Harrell", "+12066848802"),
    "3": ("Kshama Sawant", "+12066848803"),
    "4": ("Abel Pacheco", "+12066848804"),
    "5": ("Debora Juarez", "+12066848805"),
    "6": ("Mike O'Brien", "+12066848806"),
    "7": ("Sally Bagshaw", "+12066848807"),
}


def test_readers_are_grouped_by_district_with_a_fallback() -> None:
    edition = load_edition(SEED)
    readers = [Reader(i, f"r{i}@example.org", district=str(i % 9) if i % 9 else None) for i in range(90)]
    # Districts 1-7 are known; 8 is not a Seattle council district and, like no district, gets the fallback.
    assert plan(edition, readers) == {
        **{VariantKey("en", str(d)): 10 for d in range(1, 8)},
        VariantKey("en", None): 20,
    }


def test_every_district_variant_names_its_own_councilmember() -> None:
    edition = load_edition(SEED)
    for district, (name, tel) in SEATTLE.items():
        rendered = edition.render(VariantKey("en", district))
        assert f'href="tel:{tel}"' in rendered.html
        others = [other for d, (other, _) in SEATTLE.items() if d != district]
        assert name in rendered.text and not any(other in rendered.text for other in others), district
    fallback = edition.render(VariantKey("en", None))
    assert "find-your-council-district" in fallback.html
    assert all(f'href="tel:{tel}"' in fallback.html for _, tel in SEATTLE.values())


def test_an_email_that_does_not_depend_on_district_is_one_variant(project: Path) -> None:
    text = (ROOT / "newsletters" / "2019-09-16-climate-strike-green-new-deal-budget.yaml").read_text()
    path = write(project / "newsletters", "2019-09-16-x.yaml", text)
    edition = load_edition(path)
    readers = [Reader(i, f"r{i}@example.org", district=str(i % 7 + 1), language="es") for i in range(50)]
    assert edition.uses_district is False
    assert plan(edition, readers) == {VariantKey("en", None): 50}


def test_translations_beside_the_file_serve_readers_in_their_language(project: Path) -> None:
    main = write(project / "newsletters", SEED.name, SEED.read_text())
    spanish = (
        SEED.read_text()
        .replace("language: en", "language: es")
        .replace(
            "headline: No police partnerships on facial recognition in Seattle",
            "headline: No a las alianzas policiales de reconocimiento facial en Seattle",
        )
    )
    write(project / "newsletters", f"{SEED.stem}.es.yaml", spanish)
    edition = load_edition(main)
    readers = [Reader(1, "a@example.org", "3", "es"), Reader(2, "b@example.org", "3", "fr"), Reader(3, "c@example.org")]
    assert plan(edition, readers) == {VariantKey("en", None): 1, VariantKey("en", "3"): 1, VariantKey("es", "3"): 1}
    rendered = edition.render(VariantKey("es", "3"))
    assert rendered.language == "es" and "No a las alianzas policiales" in rendered.text
    assert "Kshama Sawant" in rendered.text


def test_a_translation_must_match_language_and_date(project: Path) -> None:
    main = write(project / "newsletters", SEED.name, SEED.read_text())
    write(project / "newsletters", f"{SEED.stem}.es.yaml", SEED.read_text())
    with pytest.raises(InvalidInput) as wrong_language:
        load_edition(main)
    assert str(wrong_language.value) == (
        f"newsletters/{SEED.stem}.es.yaml:1: language: a translation named .es is not in 'es': write 'language: es' in it"
    )
    later = SEED.read_text().replace("language: en", "language: es").replace("date: 2019-08-01", "date: 2019-08-02")
    write(project / "newsletters", f"{SEED.stem}.es.yaml", later)
    with pytest.raises(InvalidInput) as wrong_date:
        load_edition(main)
    assert str(wrong_date.value) == (
        f"newsletters/{SEED.stem}.es.yaml:1: date: the translation's date 2019-08-02 is not 2019-08-01: "
        f"use the same date as newsletters/{SEED.name}"
    )


def test_reader_values_carry_a_verifiable_unsubscribe_link() -> None:
    edition = load_edition(SEED)
    reader = Reader(42, "ana@example.org", "3", first_name="Ana", fields={"team": "phones"})
    key = b"s" * 32
    values = reader_values(reader, edition.project, key)
    prefix = "https://www.seattleindivisible.com/unsubscribe/"
    url = values["unsubscribe_url"] or ""
    assert url.startswith(prefix) and "ana" not in url
    assert tokens.verify(key, "daily-action", url.removeprefix(prefix), {42: "ana@example.org"}.get) == 42
    assert (values["first_name"], values["field.team"]) == ("Ana", "phones")
    assert reader_values(reader, edition.project, None)["unsubscribe_url"] == prefix + "preview"


def import_members(project: Path) -> None:
    write(
        project,
        "members.csv",
        """
        Email Address,First Name,Last Name,District,Language
        ana@example.org,Ana,Pérez,3,es
        bob@example.org,Bob,Lee,3,en
        cy@example.org,Cy,Ng,,en
        dee@example.org,Dee,Ray,7,
        """,
    )
    result = CliRunner().invoke(main, ["subscribers", "import", "members.csv"])
    assert result.exit_code == 0, result.output


@pytest.mark.database
def test_variants_command_lists_each_version_with_its_members_and_names(project: Path) -> None:
    import_members(project)
    seed = write(project / "newsletters", SEED.name, SEED.read_text())
    result = CliRunner().invoke(main, ["variants", str(seed), "--render", "out"])
    assert result.exit_code == 0
    assert result.stdout == (
        "VARIANT                MEMBERS  NAMES\n"
        "en · district 3              2  Kshama Sawant (206) 684-8803\n"
        "en · district 7              1  Sally Bagshaw (206) 684-8807\n"
        "en · district unknown        1  our district City Councilmember: lookup link and all 7\n"
        "total                        4\n"
    )
    assert sorted(p.name for p in (project / "out").iterdir()) == [
        "en-district-3.html",
        "en-district-3.txt",
        "en-district-7.html",
        "en-district-7.txt",
        "en-district-unknown.html",
        "en-district-unknown.txt",
    ]
    assert "Sally Bagshaw" in (project / "out" / "en-district-7.txt").read_text()
    segment = CliRunner().invoke(main, ["variants", str(seed), "--segment", "district=3 language=es"])
    assert segment.stdout.splitlines()[1:] == [
        "en · district 3        1  Kshama Sawant (206) 684-8803",
        "total                  1",
    ]


@pytest.mark.database
def test_render_as_a_member_is_what_they_get(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import_members(project)
    main_file = write(
        project / "newsletters",
        SEED.name,
        SEED.read_text().replace("headline: No police", "greeting: Hi {first_name|friend},\nheadline: No police"),
    )
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", "s" * 32)
    result = CliRunner().invoke(main, ["render", str(main_file), "--as", "ANA@example.org", "--text", "ana.txt"])
    assert result.exit_code == 0
    text = (project / "ana.txt").read_text()
    assert "Hi Ana," in text and "Kshama Sawant" in text and "Lisa Herbold" not in text
    token = text.split("/unsubscribe/")[1].split()[0]
    with Store.open(project / "actionmail.db") as store:
        ana = store.get("ana@example.org")
    assert ana is not None
    assert tokens.verify(b"s" * 32, "daily-action", token, {ana.id: ana.email}.get) == ana.id
    missing = CliRunner().invoke(main, ["render", str(main_file), "--as", "zed@example.org"])
    where = database.describe(database.locate(Path("actionmail.db")))  # the file, or PostgreSQL's URL
    assert (missing.exit_code, missing.output) == (2, f"Error: --as zed@example.org: no such member in {where}\n")
    both = CliRunner().invoke(main, ["render", str(main_file), "--as", "ana@example.org", "--district", "3"])
    assert both.exit_code == 2 and "give one of them" in both.output


@pytest.mark.database
def test_planning_from_counts_agrees_with_streaming(project: Path) -> None:
    import_members(project)
    edition = load_edition(write(project / "newsletters", SEED.name, SEED.read_text()))
    with Store.open(project / "actionmail.db") as store:
        streamed = plan(edition, store.subscribers())
        counted = plan_counts(edition, store.count_by_variant(other_sets=False))
    assert streamed == counted == {VariantKey("en", "3"): 2, VariantKey("en", "7"): 1, VariantKey("en", None): 1}


@pytest.mark.database
def test_the_sample_list_gets_one_variant_per_district_and_the_fallback(project: Path) -> None:
    import shutil

    shutil.copy(ROOT / "sample" / "members.csv", project / "members.csv")
    assert CliRunner().invoke(main, ["subscribers", "import", "members.csv"]).exit_code == 0
    edition = load_edition(write(project / "newsletters", SEED.name, SEED.read_text()))
    with Store.open(project / "actionmail.db") as store:
        counts = plan(edition, store.subscribers())
    assert list(counts) == [VariantKey("en", str(d)) for d in range(1, 8)] + [VariantKey("en", None)]
    assert sum(counts.values()) == 1000 and all(counts.values())
    for key in counts:
        rendered = edition.render(key)
        if key.district:
            name, tel = SEATTLE[key.district]
            assert name in rendered.text and f'href="tel:{tel}"' in rendered.html
        else:
            assert all(f'href="tel:{tel}"' in rendered.html for _, tel in SEATTLE.values())
