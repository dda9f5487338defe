"""Importing damaged and hostile CSV files: each damage costs its own row only, is reported on its line, and no
value a member supplies can add a header to an email or run as a formula in a spreadsheet."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from actionmail.audience import Store
from actionmail.database.sqlite import SqliteConnection
from actionmail.errors import InvalidInput
from tests.conftest import Databases, write
from tests.test_cli import invoke

DISTRICTS = ["1", "2", "3", "4", "5", "6", "7"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.chdir(tmp_path)  # file names in messages are shown relative to it
    with Store.open(tmp_path / "actionmail.db") as opened:
        yield opened  # type: ignore[misc]


def emails(store: Store) -> list[str]:
    return sorted(m.email for m in store.everyone())


def test_an_unclosed_quote_costs_its_row_only(project: Path) -> None:
    write(
        project,
        "members.csv",
        """\
        email,first_name,last_name
        ana@example.org,Ana,Ruiz
        bo@example.org,"Bo,Lee
        cy@example.org,Cy,Park
        dee@example.org,Dee,Ford
        """,
    )
    assert invoke("subscribers", "import", "members.csv") == (
        3,
        "members.csv:3: the quote opened here never closes: close it, or remove it (a quote inside a quoted cell "
        'is written twice: ""), and import the file again; the lines after it were read as rows of their own\n'
        "added 3, updated 0, unchanged 0, skipped 1\n",
    )
    with Store.open(project / "actionmail.db") as store:
        assert emails(store) == ["ana@example.org", "cy@example.org", "dee@example.org"]
        assert [m.first_name for m in store.everyone()] == ["Ana", "Cy", "Dee"]


def test_a_quote_that_closes_rows_later_is_damage_too(store: Store, tmp_path: Path) -> None:
    # A quote that opens on line 3 and, by chance, a stray one on line 6 that closes it.
    rows = [f"{name}@example.org,{name.title()},98108" for name in ("ana", "bo", "cy", "dee", "eve", "fay")]
    rows[1] = 'bo@example.org,"Bo,98108'
    rows[4] = 'eve@example.org,Eve",98108'
    path = tmp_path / "audience.csv"
    path.write_text("Email Address,First Name,Zip\n" + "\n".join(rows) + "\n")
    report = store.import_csv(path)
    assert [str(p) for p in report.problems] == [
        "audience.csv:3: the quote opened here closes only on line 6, taking in line 4, which looks like a row of "
        'its own: close it, or remove it (a quote inside a quoted cell is written twice: ""), and import the file '
        "again; the lines after it were read as rows of their own"
    ]
    assert "ana@example.org" in emails(store) and "cy@example.org" in emails(store)
    assert "bo@example.org" not in emails(store)
    assert {m.email: m.first_name for m in store.everyone()}["dee@example.org"] == "Dee"


def test_a_cell_over_several_lines_is_still_a_cell(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", 'email,note\nana@example.org,"call her\nafter 5, not before"\nbo@example.org,\n')
    assert store.import_csv(path).summary == "added 2, updated 0, unchanged 0, skipped 0"
    ana = store.get("ana@example.org")
    assert ana is not None and dict(ana.fields) == {"note": "call her\nafter 5, not before"}


def test_an_unclosed_quote_in_the_header(project: Path) -> None:
    write(project, "m.csv", 'email,"first_name\nana@example.org,Ana\n')
    assert invoke("subscribers", "import", "m.csv") == (
        2,
        "m.csv:1: the quote opened here never closes, so the header line cannot be read and nothing was imported: "
        "close it, or remove it, and import the file again\n",
    )


def test_an_encoded_word_cannot_smuggle_a_header_in_a_name(project: Path) -> None:
    write(
        project,
        "m.csv",
        "email,first_name,last_name,Team\n"
        "ev@example.org,=?utf-8?q?Ev=0D=0ABcc:_a@evil.example?=,Smith,phones\n"
        "jo@example.org,=?UTF-8?B?Sm9zw6k=?=,Pérez,=?utf-8?q?a=00b?=\n"
        "al@example.org,Al\x0bBcc: b@evil.example,N\u2028g,\n",
    )
    code, output = invoke("subscribers", "import", "m.csv")
    assert (code, output) == (
        0,
        "m.csv:2: first_name: warning: has RFC 2047 encoded words (=?charset?…?=), decoded or broken up; has "
        "control characters (U+000A, U+000D), which could add a line to an email's headers: imported as "
        "'Ev Bcc: a@evil.example'; correct it if that is wrong\n"
        "m.csv:3: first_name: warning: has RFC 2047 encoded words (=?charset?…?=), decoded or broken up: imported "
        "as 'José'; correct it if that is wrong\n"
        "m.csv:3: Team: warning: has RFC 2047 encoded words (=?charset?…?=), decoded or broken up; has control "
        "characters (U+0000), which could add a line to an email's headers: imported as 'a b'; correct it if that "
        "is wrong\n"
        "m.csv:4: first_name: warning: has control characters (U+000B), which could add a line to an email's "
        "headers: imported as 'Al Bcc: b@evil.example'; correct it if that is wrong\n"
        "m.csv:4: last_name: warning: has control characters (U+2028), which could add a line to an email's "
        "headers: imported as 'N g'; correct it if that is wrong\n"
        "custom fields: field.team (from 'Team')\n"
        "added 3, updated 0, unchanged 0, skipped 0\n",
    )
    with Store.open(project / "actionmail.db") as store:
        names = {m.email: (m.first_name, m.last_name, dict(m.fields)) for m in store.everyone()}
    assert names == {
        "ev@example.org": ("Ev Bcc: a@evil.example", "Smith", {"team": "phones"}),
        "jo@example.org": ("José", "Pérez", {"team": "a b"}),
        "al@example.org": ("Al Bcc: b@evil.example", "N g", {}),
    }


def test_an_encoded_word_inside_an_encoded_word_is_not_left_for_a_header_parser(store: Store, tmp_path: Path) -> None:
    inner = "=?utf-8?q?Ev=0D=0ABcc:=20a@evil.example?="
    outer = "=?utf-8?b?" + __import__("base64").b64encode(inner.encode()).decode() + "?="
    store.import_csv(write(tmp_path, "m.csv", f"email,first_name\nev@example.org,{outer}\n"))
    ev = store.get("ev@example.org")
    assert ev is not None and ev.first_name == "Ev Bcc: a@evil.example"
    store.import_csv(write(tmp_path, "n.csv", "email,first_name\nun@example.org,=?x-unknown?q?Ev=0D=0A?=\n"))
    un = store.get("un@example.org")
    assert un is not None and un.first_name == "= ?x-unknown?q?Ev=0D=0A?="


def test_an_unknown_language_costs_the_language_only(project: Path) -> None:
    write(project, "m.csv", "email,language\nana@example.org,Klingon\nbo@example.org,Español\n")
    assert invoke("subscribers", "import", "m.csv") == (
        0,
        "m.csv:2: language: warning: 'Klingon' is not a language actionmail knows, so the member was imported "
        "without one: write a code like en or es and import the file again\n"
        "added 2, updated 0, unchanged 0, skipped 0\n",
    )


def test_districts_written_another_way(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.csv",
        "email,district\n"
        "a@example.org,District 3\n"
        "b@example.org,council district #4\n"
        "c@example.org,D5\n"
        "d@example.org,06\n"
        "e@example.org,\uff17\n"
        "f@example.org,9\n",
    )
    report = store.import_csv(path, known_districts=DISTRICTS)
    assert report.summary == "added 6, updated 0, unchanged 0, skipped 0"
    assert [str(p) for p in report.problems] == [
        "m.csv:7: district: warning: '9' is not a district in officials.yaml (known: 1, 2, 3, 4, 5, 6, 7), so the "
        "member was imported without a district: correct it and import the file again, or leave the cell empty"
    ]
    assert {m.email[0]: m.district for m in store.everyone()} == {
        "a": "3",
        "b": "4",
        "c": "5",
        "d": "6",
        "e": "7",
        "f": None,
    }


def test_full_width_and_differently_normalised_addresses_are_one_member(store: Store, tmp_path: Path) -> None:
    store.import_csv(write(tmp_path, "a.csv", "email,first_name\nana@example.org,Ana\nstrasse@example.org,S\n"))
    report = store.import_csv(
        write(tmp_path, "b.csv", "email,zip\n\uff21\uff2e\uff21@example.org,98108\nSTRASSE@EXAMPLE.ORG,98122\n")
    )
    assert report.summary == "added 0, updated 2, unchanged 0, skipped 0"
    assert store.count() == 2
    ana = store.get("\uff41na@example.org")
    assert ana is not None and (ana.email, ana.zip) == ("ana@example.org", "98108")
    # Composed and decomposed forms of an accented letter, and ß against SS: one member each.
    store.add("jose\u0301@example.org")
    assert store.add("JOS\u00c9@example.org")[0].email == "jos\u00e9@example.org"
    store.add("stra\u00dfe@example.org")
    assert store.count() == 3


@pytest.mark.sqlite_only  # the SQLite file's own migrations
def test_a_database_with_keys_of_the_old_form_is_brought_up_to_date(tmp_path: Path) -> None:
    import sqlite3

    from actionmail.audience import schema

    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None, factory=SqliteConnection)
    schema.migrate(db, schema.MIGRATIONS[:3])
    at = "2024-01-01T00:00:00+00:00"
    for sid, email, status in ((1, "\uff21na@example.org", "active"), (2, "ana@example.org", "unsubscribed")):
        db.execute(
            "INSERT INTO subscribers (id, email, email_key, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (sid, email, email.lower(), status, at, at),
        )
    db.execute("INSERT INTO tags VALUES ('volunteer', 1)")
    db.execute("INSERT INTO suppressions VALUES ('\uff42o@example.org', 'bounced', NULL, ?, NULL)", (at,))
    db.close()
    with Store.open(path) as store:
        (member,) = store.everyone()
        # The two rows were one person: the one kept is the first, with the other's stricter status and all tags.
        assert (member.id, member.email, member.status, member.tags) == (
            1,
            "\uff21na@example.org",
            "unsubscribed",
            ("volunteer",),
        )
        assert store.suppression("bo@example.org") is not None
        assert store.add("BO@example.org")[0].status == "bounced"


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://evil.example","x")', "+1 206 555 0100", "-2+3", "@SUM(A1)", "'quoted", "''twice", "ok"],
)
def test_export_escapes_formulas_and_import_restores_them(store: Store, tmp_path: Path, value: str) -> None:
    store.add("ana@example.org", first_name=value, fields={"note": value}, tags=[value])
    out = io.StringIO()
    store.export_csv(out)
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    for cell in row:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert row[header.index("first_name")] == ("'" + value if value != "ok" else value)
    path = tmp_path / "export.csv"
    path.write_text(out.getvalue())
    with Store.open(tmp_path / "copy.db") as copy:
        copy.import_csv(path)
        ana = copy.get("ana@example.org")
        assert ana is not None and (ana.first_name, dict(ana.fields), ana.tags) == (value, {"note": value}, (value,))


def test_an_apostrophe_means_nothing_in_other_files(store: Store, tmp_path: Path) -> None:
    store.import_csv(write(tmp_path, "m.csv", "Email Address,First Name\nana@example.org,'Ana\n"))
    ana = store.get("ana@example.org")
    assert ana is not None and ana.first_name == "'Ana"


def test_a_backup_restores_everything(store: Store, tmp_path: Path, databases: Databases) -> None:
    from actionmail.audience import Status, SuppressEvent

    store.import_csv(
        write(
            tmp_path,
            "m.csv",
            "email,first_name,tags,Team\n"
            'ana@example.org,Ana,"volunteer,host",phones\n'
            "bo@example.org,=1+1,,\n"
            "cy@example.org,Cy,,\n"
            "dee@example.org,Dee,,\n",
        )
    )
    store.unsubscribe("bo@example.org", "moving away")
    store.resubscribe("bo@example.org", "moved back")
    store.unsubscribe("cy@example.org", "asked by reply")
    store.suppress_events([SuppressEvent("dee@example.org", Status.BOUNCED, None, "550 no such user", "Mailgun")])
    store.unsubscribe("never-a-member@example.org", "asked at an event")
    store._db.execute(  # what `unsubscribe` used to let in: text that is no address
        "INSERT INTO suppressions VALUES ('not an email at all', 'unsubscribed', NULL, '2024-01-01T00:00:00+00:00', "
        "'by hand')"
    )
    backup = io.StringIO()
    assert store.export_csv(backup, everyone=True) == 4
    path = tmp_path / "backup.csv"
    path.write_text(backup.getvalue())
    with databases.new(tmp_path / "restored.db") as second, Store.open(second) as restored:
        report = restored.import_csv(path)
        assert (report.summary, report.problems, report.suppressions_added) == (
            "added 4, updated 0, unchanged 0, skipped 0",
            [],
            2,
        )
        again = io.StringIO()
        restored.export_csv(again, everyone=True)
        assert again.getvalue() == backup.getvalue()
        assert list(restored.suppressions()) == list(store.suppressions())
        assert [(m.id, m.email, m.status, m.status_reason) for m in restored.everyone()] == [
            (m.id, m.email, m.status, m.status_reason) for m in store.everyone()
        ]
        # The address that opted out without ever being a member stays out.
        assert restored.add("never-a-member@example.org")[0].status == Status.UNSUBSCRIBED


def test_a_backup_into_a_database_with_members_keeps_their_ids(
    store: Store, tmp_path: Path, databases: Databases
) -> None:
    store.add("ana@example.org")
    store.add("bo@example.org")
    backup = io.StringIO()
    store.export_csv(backup, everyone=True)
    path = tmp_path / "backup.csv"
    path.write_text(backup.getvalue())
    with databases.new(tmp_path / "other.db") as second, Store.open(second) as other:
        other.add("zed@example.org")  # takes id 1
        assert other.import_csv(path).summary == "added 2, updated 0, unchanged 0, skipped 0"
        assert {m.email: m.id for m in other.everyone()} == {
            "zed@example.org": 1,
            "ana@example.org": 3,
            "bo@example.org": 2,
        }


def test_blank_lines_before_the_header(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("\n \n\r\nemail,first_name\nana@example.org,Ana\n,\nbo@example,Bo\n")
    report = store.import_csv(path)
    assert (report.summary, [str(p) for p in report.problems]) == (
        "added 1, updated 0, unchanged 0, skipped 1",
        [
            "m.csv:7: email: 'bo@example' is not a valid email address (The part after the @-sign is not valid. It "
            "should have a period.): correct it"
        ],
    )


def test_a_header_cell_over_the_size_limit(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(f'email,"{"x" * 140_000}"\nana@example.org,Ana\n')
    with pytest.raises(InvalidInput) as raised:
        store.import_csv(path)
    assert str(raised.value) == (
        "m.csv:1: cannot read the header line as CSV (field larger than field limit (131072)), so nothing was "
        "imported: the first line should hold the column names, like Email Address,First Name"
    )


def test_an_imported_name_adds_no_header_to_the_message(store: Store, tmp_path: Path) -> None:
    # From the CSV to the bytes an SMTP server or the outbox gets, with the MIME code as it is.
    from email.parser import BytesParser

    from actionmail.providers import mime
    from actionmail.providers.base import Recipient
    from tests.contract import batch

    store.import_csv(
        write(
            tmp_path,
            "m.csv",
            "email,first_name,last_name\n"
            "ev@example.org,=?utf-8?q?Ev=0D=0ABcc:_a@evil.example?=,=?utf-8?q?Smith=0ACc:_b@evil.example?=\n",
        )
    )
    (member,) = store.subscribers()
    person = Recipient("1", member.email, member.name, {"first_name": member.first_name, "unsubscribe_url": "u"})
    raw = mime.message(batch([person]), person).as_bytes(policy=mime.WIRE)
    got = BytesParser(policy=mime.POLICY).parsebytes(raw)
    assert "Bcc" not in got and "Cc" not in got
    assert [(a.display_name, a.addr_spec) for a in got["To"].addresses] == [
        ("Ev Bcc: a@evil.example Smith Cc: b@evil.example", "ev@example.org")
    ]
    assert not any(line.lower().startswith((b"bcc:", b"cc:")) for line in raw.split(b"\r\n"))


def test_add_refuses_a_name_that_could_add_a_header(project: Path) -> None:
    assert invoke("subscribers", "add", "ev@example.org", "--first-name", "Ev\r\nBcc: a@evil.example") == (
        2,
        "Error: the first name 'Ev\\r\\nBcc: a@evil.example' has control characters (U+000A, U+000D), which could "
        "add a line to an email's headers: write it as 'Ev Bcc: a@evil.example'\n",
    )
    assert invoke("subscribers", "add", "ev@example.org", "--first-name", "=?utf-8?q?Ev=0ABcc:_x?=")[0] == 2
    assert invoke("subscribers", "count") == (0, "0\n")


def test_an_address_that_looks_like_a_formula_round_trips(store: Store, tmp_path: Path, databases: Databases) -> None:
    for address in ("=cmd@example.org", "-ana@example.org", "+bo@example.org", "'cy@example.org"):
        store.add(address)
    out = io.StringIO()
    store.export_csv(out, everyone=True)
    assert [row[0] for row in csv.reader(io.StringIO(out.getvalue()))][1:] == [
        "'=cmd@example.org",
        "'-ana@example.org",
        "'+bo@example.org",
        "''cy@example.org",
    ]
    path = tmp_path / "backup.csv"
    path.write_text(out.getvalue())
    with databases.new(tmp_path / "copy.db") as second, Store.open(second) as copy:
        assert copy.import_csv(path).summary == "added 4, updated 0, unchanged 0, skipped 0"
        again = io.StringIO()
        copy.export_csv(again, everyone=True)
        assert again.getvalue() == out.getvalue()
