"""Importing members from CSV: recognised columns, bad rows with their lines, statuses that stick, round trips."""

from __future__ import annotations

import dataclasses
import gc
import io
import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from actionmail.audience import Status, Store, Subscriber, firstlines, importer, upsert
from actionmail.audience import store as store_module
from actionmail.audience.cells import BACKUP_COLUMNS, EXPORT_COLUMNS
from actionmail.audience.model import BadAddress, normalize_email
from actionmail.errors import InvalidInput, UsageError
from tests.conftest import ROOT, Databases, write

DISTRICTS = ["1", "2", "3", "4", "5", "6", "7"]
SAMPLE = ROOT / "sample" / "members.csv"

MAILCHIMP = '''\
"Email Address","First Name","Last Name","Zip Code","District","Language","Phone Number","MEMBER_RATING","OPTIN_TIME","LATITUDE","LONGITUDE","LEID","EUID","NOTES","TAGS"
"Maria.Garcia@Example.org","María","García","98108","2","es","206-555-0142","4","2018-02-03 04:05:06","47.55","-122.30","1001","a1b2c3d4e5","","""volunteer"",""phone bank"""
"james.smith@example.com","James","Smith","98103","6","en","","2","2018-03-04 05:06:07","","","1002","b2c3d4e5f6","",""
'''


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.chdir(tmp_path)  # file names in messages are shown relative to it
    with Store.open(tmp_path / "actionmail.db") as opened:
        yield opened  # type: ignore[misc]


def members(store: Store) -> dict[str, tuple[object, ...]]:
    """Everything stored about each member except ids and times, by address."""
    return {
        m.email: (
            m.first_name,
            m.last_name,
            m.district,
            m.zip,
            m.language,
            m.tags,
            dict(m.fields),
            m.status,
            m.status_reason,
            m.source,
        )
        for m in store.everyone()
    }


def test_mailchimp_export(store: Store, tmp_path: Path) -> None:
    report = store.import_csv(write(tmp_path, "audience.csv", MAILCHIMP), known_districts=DISTRICTS)
    assert (report.summary, report.problems) == ("added 2, updated 0, unchanged 0, skipped 0", [])
    assert report.custom_fields == [("Phone Number", "phone_number")]
    assert members(store) == {
        "Maria.Garcia@example.org": (
            "María",
            "García",
            "2",
            "98108",
            "es",
            ("phone bank", "volunteer"),
            {"phone_number": "206-555-0142"},
            Status.ACTIVE,
            None,
            "import audience.csv",
        ),
        "james.smith@example.com": (
            "James",
            "Smith",
            "6",
            "98103",
            "en",
            (),
            {},
            Status.ACTIVE,
            None,
            "import audience.csv",
        ),
    }


def test_reimport_updates_and_never_duplicates(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "audience.csv", MAILCHIMP)
    store.import_csv(path, source="Mailchimp")
    assert store.import_csv(path).summary == "added 0, updated 0, unchanged 2, skipped 0"
    # Another export: an address in other case, a changed zip, a new tag, empty cells.
    changed = write(
        tmp_path,
        "again.csv",
        '''\
        Email Address,First Name,Last Name,Zip Code,District,TAGS
        MARIA.GARCIA@example.org,,,98118,,"""donor"""
        james.smith@example.com,,,,,
        ''',
    )
    assert store.import_csv(changed).summary == "added 0, updated 1, unchanged 1, skipped 0"
    maria = store.get("maria.garcia@example.org")
    assert maria is not None
    assert (maria.email, maria.first_name, maria.district, maria.zip, maria.tags, maria.source) == (
        "Maria.Garcia@example.org",
        "María",
        "2",
        "98118",
        ("donor", "phone bank", "volunteer"),
        "Mailchimp",
    )
    assert store.count() == 2


def test_unsubscribed_members_stay_unsubscribed(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "audience.csv", MAILCHIMP)
    store.import_csv(path)
    store.unsubscribe("james.smith@example.com", "asked by reply")
    report = store.import_csv(path)
    assert report.summary == "added 0, updated 0, unchanged 2, skipped 0"
    james = store.get("james.smith@example.com")
    assert james is not None and (james.status, james.status_reason) == (Status.UNSUBSCRIBED, "asked by reply")
    # Even a file that says, in so many words, that he is subscribed.
    action_network = write(
        tmp_path,
        "an.csv",
        "email,first_name,can2_subscription_status\njames.smith@example.com,Jim,subscribed\n",
    )
    report = store.import_csv(action_network)
    assert (report.summary, report.kept_inactive) == ("added 0, updated 1, unchanged 0, skipped 0", 1)
    james = store.get("james.smith@example.com")
    assert james is not None and (james.first_name, james.status) == ("Jim", Status.UNSUBSCRIBED)
    assert [m.email for m in store.subscribers()] == ["Maria.Garcia@example.org"]


def test_a_file_can_unsubscribe_an_active_member(store: Store, tmp_path: Path) -> None:
    store.import_csv(write(tmp_path, "audience.csv", MAILCHIMP))
    unsubscribed = write(
        tmp_path,
        "unsubscribed.csv",
        """\
        "Email Address","UNSUB_TIME","UNSUB_REASON"
        "JAMES.SMITH@example.com","2019-08-02 17:12:33","I never signed up for this mailing list"
        """,
    )
    report = store.import_csv(unsubscribed)
    assert (report.summary, dict(report.not_active)) == (
        "added 0, updated 1, unchanged 0, skipped 0",
        {Status.UNSUBSCRIBED: 1},
    )
    james = store.get("james.smith@example.com")
    assert james is not None
    assert (james.status, james.status_reason, james.first_name) == (
        Status.UNSUBSCRIBED,
        "I never signed up for this mailing list",
        "James",
    )
    suppression = store.suppression("james.smith@example.com")
    assert suppression is not None and suppression.reason is Status.UNSUBSCRIBED
    assert store.import_csv(unsubscribed).summary == "added 0, updated 0, unchanged 1, skipped 0"


def test_a_suppressed_address_is_imported_with_its_status(store: Store, tmp_path: Path) -> None:
    # Unsubscribed before ever being a member (a reply to a forwarded email, say): never added as active.
    assert store.unsubscribe("james.smith@example.com", "replied STOP") is None
    report = store.import_csv(write(tmp_path, "audience.csv", MAILCHIMP))
    assert (report.summary, dict(report.not_active)) == (
        "added 2, updated 0, unchanged 0, skipped 0",
        {Status.UNSUBSCRIBED: 1},
    )
    james = store.get("james.smith@example.com")
    assert james is not None and (james.status, james.status_reason) == (Status.UNSUBSCRIBED, "replied STOP")
    assert store.count() == 1


def test_mailchimp_unsubscribed_and_cleaned_exports(store: Store, tmp_path: Path) -> None:
    unsubscribed = write(
        tmp_path,
        "unsubscribed_members_export.csv",
        """\
        "Email Address","First Name","Last Name","MEMBER_RATING","OPTIN_TIME","UNSUB_TIME","UNSUB_CAMPAIGN_TITLE","UNSUB_CAMPAIGN_ID","UNSUB_REASON","UNSUB_REASON_OTHER","TAGS"
        "linda.brown@example.com","Linda","Brown","2","2018-01-01 00:00:00","2019-08-02 17:12:33","Daily action 8/1","a1b2c3","I no longer want to receive these emails","",""
        "olga.nowak@example.net","Olga","Nowak","2","2018-01-01 00:00:00","2019-08-03 09:00:00","Daily action 8/2","d4e5f6","Other","Too many emails",""
        """,
    )
    cleaned = write(
        tmp_path,
        "cleaned_members_export.csv",
        """\
        "Email Address","First Name","Last Name","MEMBER_RATING","CLEAN_TIME","CLEAN_CAMPAIGN_TITLE","CLEAN_CAMPAIGN_ID","TAGS"
        "wei.chen@example.net","Wei","Chen","1","2019-08-04 10:00:00","Daily action 8/3","g7h8i9",""
        """,
    )
    assert store.import_csv(unsubscribed).summary == "added 2, updated 0, unchanged 0, skipped 0"
    assert store.import_csv(cleaned).summary == "added 1, updated 0, unchanged 0, skipped 0"
    statuses = {m.email: (m.status, m.status_reason, str(m.status_changed_at)) for m in store.everyone()}
    assert statuses == {
        "linda.brown@example.com": (
            Status.UNSUBSCRIBED,
            "I no longer want to receive these emails",
            "2019-08-02 17:12:33+00:00",
        ),
        "olga.nowak@example.net": (Status.UNSUBSCRIBED, "Other: Too many emails", "2019-08-03 09:00:00+00:00"),
        "wei.chen@example.net": (Status.BOUNCED, None, "2019-08-04 10:00:00+00:00"),
    }
    assert store.count() == 0
    suppression = store.suppression("LINDA.BROWN@example.com")
    assert suppression is not None and suppression.reason is Status.UNSUBSCRIBED


def test_action_network_export(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "an.csv",
        """\
        first_name,last_name,email,zip_code,can2_subscription_status,can2_user_tags,can2_state_abbreviated
        Ana,Ruiz,ana@example.org,98108,subscribed,"Volunteer, Phone bank",WA
        Bo,Lee,bo@example.org,98122,unsubscribed,,WA
        Cy,Park,cy@example.org,98105,bouncing,,WA
        Di,Ng,di@example.org,98115,spam complaint,,WA
        Ed,Ko,ed@example.org,98101,pending,,WA
        """,
    )
    report = store.import_csv(path)
    assert report.summary == "added 4, updated 0, unchanged 0, skipped 1"
    assert [str(p) for p in report.problems] == [
        "an.csv:6: can2_subscription_status: 'pending' is not a subscription status: use active, unsubscribed, "
        "bounced or complained (or Action Network's subscribed, bouncing, spam complaint)"
    ]
    assert report.custom_fields == [("can2_state_abbreviated", "can2_state_abbreviated")]
    assert {m.email: (m.status, m.tags) for m in store.everyone()} == {
        "ana@example.org": (Status.ACTIVE, ("Phone bank", "Volunteer")),
        "bo@example.org": (Status.UNSUBSCRIBED, ()),
        "cy@example.org": (Status.BOUNCED, ()),
        "di@example.org": (Status.COMPLAINED, ()),
    }


def test_bad_rows_are_reported_with_their_line_and_the_good_rows_kept(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "signup.csv",
        """\
        email,first_name,district,language,note
        ana@example.org,Ana,2,es,"Met at the
        library, on a Tuesday"
        ana@example,Bob,3,en,
        ,Cy,4,,
        ANA@example.org,Ana again,2,,
        dee@example.org,Dee,9,,
        eve@example.org,Eve,,Englsh,

        fay@example.org,Fay,none,,
        gus@example.org,Gus,7,Español,"two
        lines"
        """,
    )
    report = store.import_csv(path, known_districts=DISTRICTS)
    assert [str(p) for p in report.problems] == [
        "signup.csv:4: email: 'ana@example' is not a valid email address (The part after the @-sign is not valid. "
        "It should have a period.): correct it",
        "signup.csv:5: email: no email address: add the address, or delete the row",
        "signup.csv:6: email: ANA@example.org is already on line 2: keep one of the two rows (the first was imported)",
        "signup.csv:7: district: warning: '9' is not a district in officials.yaml (known: 1, 2, 3, 4, 5, 6, 7), so "
        "the member was imported without a district: correct it and import the file again, or leave the cell empty",
        "signup.csv:8: language: warning: 'Englsh' is not a language actionmail knows, so the member was imported "
        "without one: write a code like en or es and import the file again",
        "signup.csv:10: district: warning: 'none' is not a district in officials.yaml (known: 1, 2, 3, 4, 5, 6, 7), "
        "so the member was imported without a district: correct it and import the file again, or leave the cell "
        "empty",
    ]
    assert report.summary == "added 5, updated 0, unchanged 0, skipped 3"
    assert {m.email: (m.district, m.language, dict(m.fields)) for m in store.subscribers()} == {
        "ana@example.org": ("2", "es", {"note": "Met at the\nlibrary, on a Tuesday"}),
        "dee@example.org": (None, None, {}),
        "eve@example.org": (None, None, {}),
        "fay@example.org": (None, None, {}),
        "gus@example.org": ("7", "es", {"note": "two\nlines"}),
    }


def test_districts_are_free_text_without_officials(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", "email,district\nana@example.org,Ward 9\n")
    assert store.import_csv(path, known_districts=[]).summary == "added 1, updated 0, unchanged 0, skipped 0"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("semicolons", "Email Address;First Name;Zip Code\nana@example.org;Ana;98108\nbo@example.org;Bo;98122\n"),
        ("tabs", "email\tfirst_name\tzip\nana@example.org\tAna\t98108\nbo@example.org\tBo\t98122\n"),
        ("one column", "email\nana@example.org\nbo@example.org\n"),
        ("crlf", "email,first_name\r\nana@example.org,Ana\r\nbo@example.org,Bo\r\n"),
    ],
)
def test_delimiters_and_line_ends(store: Store, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(text.encode())
    assert store.import_csv(path).summary == "added 2, updated 0, unchanged 0, skipped 0"
    ana = store.get("ana@example.org")
    assert ana is not None and ana.first_name == (None if name == "one column" else "Ana")


def test_utf8_with_a_byte_order_mark(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffEmail Address,First Name\r\njose@example.org,José\r\n".encode())
    assert store.import_csv(path).summary == "added 1, updated 0, unchanged 0, skipped 0"
    jose = store.get("jose@example.org")
    assert jose is not None and jose.first_name == "José"


def test_lines_that_are_not_utf8_cost_their_rows_only(store: Store, tmp_path: Path) -> None:
    # One row pasted from a Windows-1252 file into a UTF-8 one: that row is reported, the others imported.
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"Email Address,First Name\nana@example.org,Ana\n"
        + "jose@example.org,José\n".encode("cp1252")
        + "soren@example.org,Søren\n".encode()
    )
    report = store.import_csv(path)
    assert (report.summary, [str(p) for p in report.problems]) == (
        "added 2, updated 0, unchanged 0, skipped 1",
        [
            "mixed.csv:3: not UTF-8 text (byte 0xe9 at character 21; the file was probably saved as Windows-1252 or "
            "Latin-1), so this row was not imported: save the file as UTF-8 — in Excel, Save As, 'CSV UTF-8 (Comma "
            "delimited)'; in Google Sheets, File, Download, CSV — and import it again (rows already imported are "
            "not duplicated)"
        ],
    )
    assert sorted(m.first_name or "" for m in store.everyone()) == ["Ana", "Søren"]


def test_mapping_columns(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", "E-mail,Ward,Team,Internal id\nana@example.org,3,phones,17\n")
    report = store.import_csv(path, {"ward": "district", "Team": "field.team", "Internal id": "-"})
    assert (report.summary, report.custom_fields) == ("added 1, updated 0, unchanged 0, skipped 0", [])
    ana = store.get("ana@example.org")
    assert ana is not None and (ana.district, dict(ana.fields)) == ("3", {"team": "phones"})
    with pytest.raises(UsageError) as raised:
        store.import_csv(path, {"Zip": "zip"})
    assert str(raised.value) == (
        "--map 'Zip=zip': m.csv has no column 'Zip' (its columns: E-mail, Ward, Team, Internal id): check the name"
    )


def test_a_file_without_an_email_column(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", "Name,Phone\nAna,206-555-0100\n")
    with pytest.raises(InvalidInput) as raised:
        store.import_csv(path)
    assert str(raised.value) == (
        "m.csv:1: no email column (the columns are: Name, Phone): name it 'Email Address' or 'email', or pass "
        "--map COLUMN=email"
    )
    both = write(tmp_path, "both.csv", "Email,Email Address\nana@example.org,ana@example.org\n")
    with pytest.raises(InvalidInput) as raised:
        store.import_csv(both)
    assert str(raised.value) == (
        "both.csv:1: columns 'Email' and 'Email Address' both look like email: pass --map 'Email Address=-' to "
        "ignore one, or --map to say what each holds"
    )


def test_export_round_trips_through_import(store: Store, tmp_path: Path, databases: Databases) -> None:
    store.import_csv(SAMPLE, known_districts=DISTRICTS)
    store.import_csv(
        write(
            tmp_path,
            "more.csv",
            '''\
            email,first_name,tags,Team,Shirt size
            "o'brien@example.org","Siobhán","rapid response,""Phone bank, evenings""",phones,"M"
            bounced@example.net,Bea,,,
            ''',
        )
    )
    store.unsubscribe("o'brien@example.org", "moving away")
    store.resubscribe("o'brien@example.org", "moved back")
    store.unsubscribe("bounced@example.net", "asked at an event")
    exported = io.StringIO()
    assert store.export_csv(exported, everyone=True) == 1002
    header = exported.getvalue().splitlines()[0]
    assert header == ",".join([*EXPORT_COLUMNS, *BACKUP_COLUMNS, "field.shirt_size", "field.team"])
    path = tmp_path / "export.csv"
    path.write_text(exported.getvalue(), encoding="utf-8")
    with databases.new(tmp_path / "copy.db") as second, Store.open(second) as copy:
        report = copy.import_csv(path, known_districts=DISTRICTS)
        assert (report.summary, report.custom_fields) == ("added 1002, updated 0, unchanged 0, skipped 0", [])

        def everything(s: Store) -> list[Subscriber]:
            return [dataclasses.replace(m, updated_at=m.created_at) for m in s.everyone()]

        assert everything(copy) == everything(store)
        assert [m.email for m in copy.subscribers()] == [m.email for m in store.subscribers()]
        again = io.StringIO()
        copy.export_csv(again, everyone=True)
        assert again.getvalue() == exported.getvalue()


def test_export_without_all_is_the_active_members(store: Store, tmp_path: Path) -> None:
    store.import_csv(write(tmp_path, "audience.csv", MAILCHIMP))
    store.unsubscribe("james.smith@example.com")
    out = io.StringIO()
    assert store.export_csv(out) == 1
    assert out.getvalue().splitlines()[1].startswith("Maria.Garcia@example.org,María,García,2,98108,es,")


def test_sample_members(store: Store) -> None:
    report = store.import_csv(SAMPLE, known_districts=DISTRICTS)
    assert (report.summary, report.problems, report.custom_fields) == (
        "added 1000, updated 0, unchanged 0, skipped 0",
        [],
        [],
    )
    assert (
        store.import_csv(SAMPLE, known_districts=DISTRICTS).summary == "added 0, updated 0, unchanged 1000, skipped 0"
    )
    everyone = list(store.subscribers())
    no_district = sum(m.district is None for m in everyone)
    spanish = sum(m.language == "es" for m in everyone)
    assert 50 <= no_district <= 110 and 110 <= spanish <= 190
    assert {m.district for m in everyone} == {None, *DISTRICTS}
    assert all(m.email.rsplit("@")[1] in ("example.org", "example.com", "example.net") for m in everyone)
    assert any(any(ord(c) > 127 for c in m.name) for m in everyone)


def test_import_is_in_batches(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 2,500 rows in batches of 1,000 are three transactions: a failure in the third keeps the first two.
    monkeypatch.setattr(store_module, "BATCH", 1000)
    rows = "".join(f"member{i}@example.org,{i}\n" for i in range(2500))
    path = write(tmp_path, "many.csv", "email,field.n\n" + rows)
    original = store._db

    class FailingThirdCommit:
        commits = 0
        dialect = original.dialect

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if sql == "COMMIT":
                FailingThirdCommit.commits += 1
                if FailingThirdCommit.commits == 3:
                    original.execute("ROLLBACK")
                    raise sqlite3.OperationalError("disk I/O error")
            return original.execute(sql, *args)  # type: ignore[arg-type]

        def executemany(self, sql: str, rows: object) -> sqlite3.Cursor:
            return original.executemany(sql, rows)  # type: ignore[arg-type]

    store._db = FailingThirdCommit()  # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError):
        store.import_csv(path)
    store._db = original
    assert store.count() == 2000


def test_a_cell_over_the_size_limit_costs_its_row_only(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(f'email,note\na@example.org,ok\nb@example.org,"{"x" * 140_000}"\nc@example.org,ok\n')
    report = store.import_csv(path)
    assert (report.summary, [str(p) for p in report.problems]) == (
        "added 2, updated 0, unchanged 0, skipped 1",
        [
            "notes.csv:3: a cell is longer than the 131,072 characters a CSV cell may have, so this row was not "
            "imported: shorten it and import the file again (rows already imported are not duplicated)"
        ],
    )
    assert sorted(m.email for m in store.everyone()) == ["a@example.org", "c@example.org"]


# Local parts and domains near every rule email-validator has: dots, quotes, characters outside ASCII, names it
# lowercases (RFC 2142), special-use and IDNA domains, full-width letters, labels and addresses at their limits.
_LOCALS = st.one_of(
    st.sampled_from(["ana", "Ana.Ruiz", "o'brien", "a+tag", "=cmd", "-x", "POSTMASTER", "Info", "a" * 64, "a" * 65]),
    st.text(alphabet=st.sampled_from([*"aZ09._-+'!#$%&*/=?^`{|}~\"\\ @<>(,é\u0301\uff41\x00\u2028"]), max_size=12),
    st.integers(60, 250).map(lambda n: "b" * n),
    st.text(max_size=8),
)
_DOMAINS = st.one_of(
    st.sampled_from(
        [
            "example.org",
            "Example.ORG",
            "bücher.example",
            "xn--bcher-kva.example",
            "\uff25xample.org",
            "example.org.",
            ".example.org",
            "example..org",
            "localhost",
            "x.invalid",
            "example.local",
            "example",
            "ex_ample.org",
            "-ex.org",
            "ab--c.org",
            "a" * 63 + ".org",
            "a" * 64 + ".org",
            "192.0.2.1",
            "[192.0.2.1]",
            "",
            "ex ample.org",
            "e\u0301xample.org",
            "x@example.org",
            "\u0301example.org",
            "example.org\u3002",
            "\u00e9" * 60 + ".org",
        ]
    ),
    st.integers(1, 62).map(lambda n: ".".join(["c" * 60] * 4)[: 180 + n] + ".org"),
    st.text(alphabet=st.sampled_from([*"abAB09.-_", "ä", "\uff0e", "\u3002", "ß", "\u2488"]), max_size=20),
)
_ADDRESSES = st.one_of(
    st.builds(lambda local, domain, pad: f"{pad}{local}@{domain}{pad}", _LOCALS, _DOMAINS, st.sampled_from(["", " "])),
    st.emails(),
    st.text(max_size=30),
)


def _whole(text: str) -> str:
    return validate_email(text.strip(), check_deliverability=False).normalized


def _validated(check: Callable[[str], str], text: str) -> str:
    try:
        return check(text)
    except (BadAddress, EmailNotValidError) as e:
        return f"error: {e}"


@settings(max_examples=1000, deadline=None)
@given(_ADDRESSES)
def test_addresses_are_validated_as_email_validator_validates_them(text: str) -> None:
    # The import checks a domain once per domain; the result and every error must be email-validator's own.
    expected = _validated(_whole, text)
    assert _validated(normalize_email, text) == expected
    assert _validated(normalize_email, text) == expected  # again, from the domain's cache


@pytest.mark.parametrize(
    "domain",
    [
        "example.org",
        "EXAMPLE.ORG",
        "bücher.example",  # longer in IDNA ASCII
        "\uff25\uff38.org",  # full-width: shorter once normalized
        "\u00e9" * 40 + ".org",
        ("日本語" * 5).encode("idna").decode() + ".jp",  # IDNA ASCII: longer once normalized
    ],
)
def test_addresses_at_the_length_limit_are_validated_as_email_validator_validates_them(domain: str) -> None:
    # 254 bytes, counted as given, normalized and with the domain in IDNA ASCII: each one's limit crossed, with
    # long local parts and long domains.
    for labels in range(0, 200, 9):
        long_domain = ("c" * 50 + ".") * (labels // 51) + "d" * (labels % 51) + ("." if labels % 51 else "") + domain
        for length in range(1, 256 - len(long_domain), 3 if labels else 1):
            text = "b" * length + "@" + long_domain
            assert _validated(normalize_email, text) == _validated(_whole, text), text


def test_duplicates_are_found_however_far_apart(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Addresses are looked up a chunk of rows at a time: here three, so most duplicates are chunks apart.
    monkeypatch.setattr(importer, "_CHUNK", 3)
    path = write(
        tmp_path,
        "m.csv",
        """\
        email,first_name,status
        ana@example.org,Ana,
        bo@example.org,Bo,pending
        cy@example.org,Cy,
        dee@example.org,Dee,
        BO@example.org,Bo again,
        ANA@EXAMPLE.ORG,Ana again,
        cy@example.org,Cy again,pending
        ana@example.org,Ana thrice,
        bo@example.org,Bo thrice,
        \uff24ee@example.org,Dee again,
        """,
    )
    report = store.import_csv(path)
    assert [str(p) for p in report.problems] == [
        "m.csv:3: status: 'pending' is not a subscription status: use active, unsubscribed, bounced or complained "
        "(or Action Network's subscribed, bouncing, spam complaint)",
        "m.csv:7: email: ANA@example.org is already on line 2: keep one of the two rows (the first was imported)",
        "m.csv:8: email: cy@example.org is already on line 4: keep one of the two rows (the first was imported)",
        "m.csv:8: status: 'pending' is not a subscription status: use active, unsubscribed, bounced or complained "
        "(or Action Network's subscribed, bouncing, spam complaint)",
        "m.csv:9: email: ana@example.org is already on line 2: keep one of the two rows (the first was imported)",
        "m.csv:10: email: bo@example.org is already on line 6: keep one of the two rows (the first was imported)",
        "m.csv:11: email: \uff24ee@example.org is already on line 5: keep one of the two rows (the first was imported)",
    ]
    assert report.summary == "added 4, updated 0, unchanged 0, skipped 6"
    assert {m.email: m.first_name for m in store.everyone()} == {
        "ana@example.org": "Ana",
        "BO@example.org": "Bo again",
        "cy@example.org": "Cy",
        "dee@example.org": "Dee",
    }


def test_reading_a_file_takes_memory_that_does_not_grow_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where each address was first seen is kept on disk (actionmail.audience.firstlines), not in a dict; rows are
    # held a chunk at a time.
    monkeypatch.setattr(importer, "_CHUNK", 500)

    def peak(rows: int) -> int:
        path = tmp_path / f"{rows}.csv"
        path.write_text("email,first_name\n" + "".join(f"member{i}@example.org,Member\n" for i in range(rows)))
        tracemalloc.start()
        try:
            for _ in importer.open_csv(path, {}).rows([], "test"):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(5_000), peak(20_000)
    assert large < small * 1.3, (small, large)


def test_members_are_inserted_many_to_a_statement(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three rows to an INSERT: new members and their tags over several statements, ids in the file's order.
    monkeypatch.setattr(upsert, "_ROWS_PER_INSERT", 3)
    store.add("zed@example.org")
    rows = "".join(f'm{i}@example.org,"{"volunteer,host" if i % 2 else ""}",{i}\n' for i in range(10))
    report = store.import_csv(write(tmp_path, "m.csv", "email,tags,Team\n" + rows))
    assert report.summary == "added 10, updated 0, unchanged 0, skipped 0"
    assert {m.email: (m.id, m.tags, dict(m.fields)) for m in store.everyone()} == {
        "zed@example.org": (1, (), {}),
        **{f"m{i}@example.org": (i + 2, ("host", "volunteer") if i % 2 else (), {"team": str(i)}) for i in range(10)},
    }


def test_the_cycle_collector_is_paused_only_during_an_import(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "m.csv", "email\nana@example.org\n")
    paused = []
    apply = upsert.apply

    def watched(*args: Any) -> list[upsert.Change]:
        paused.append(not gc.isenabled())
        return apply(*args)

    monkeypatch.setattr(upsert, "apply", watched)
    store.import_csv(path)
    assert (paused, gc.isenabled()) == ([True], True)
    gc.disable()
    try:
        store.import_csv(path)
        assert not gc.isenabled()  # as it was
    finally:
        gc.enable()

    def fail(*args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(upsert, "apply", fail)
    with pytest.raises(sqlite3.OperationalError):
        store.import_csv(path)
    assert gc.isenabled()


def test_a_full_temporary_disk_is_a_clear_error(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Where each address was first seen is kept in a temporary file: if its disk is full, say so and how to fix.
    class Full:
        total_changes = 0

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            raise sqlite3.OperationalError("database or disk is full")

        def close(self) -> None:
            pass

    def init(self: firstlines.FirstLines) -> None:
        self._db = Full()  # type: ignore[assignment]

    monkeypatch.setattr(firstlines.FirstLines, "__init__", init)
    with pytest.raises(UsageError) as raised:
        store.import_csv(write(tmp_path, "m.csv", "email\nana@example.org\n"))
    assert str(raised.value) == (
        "cannot keep track of the file's addresses in SQLite's temporary file (database or disk is full): make "
        "room in the temporary directory, or point SQLITE_TMPDIR at one with room, and import the file again (rows "
        "already imported are not duplicated)"
    )
