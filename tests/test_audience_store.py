"""The store: schema migrations, streaming in send order, add, unsubscribe, resubscribe, suppressions."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from actionmail import database
from actionmail.audience import Change, Segment, Status, Store, SuppressEvent, schema
from actionmail.audience.store import _count_query, _send_query
from actionmail.errors import UsageError
from tests.conftest import write

DISTRICTS = ["1", "2", "3", "4", "5", "6", "7"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.chdir(tmp_path)
    with Store.open(tmp_path / "actionmail.db") as opened:
        yield opened


@pytest.mark.sqlite_only  # the SQLite file's own schema
def test_a_new_database_is_at_the_latest_version_in_wal_mode(tmp_path: Path) -> None:
    Store.open(tmp_path / "new.db").close()
    db = sqlite3.connect(tmp_path / "new.db")
    assert db.execute("PRAGMA user_version").fetchone() == (len(schema.MIGRATIONS),)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.sqlite_only  # the SQLite file's own schema
def test_an_older_database_is_migrated_and_keeps_its_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    with Store.open(path) as old:
        old.add("ana@example.org", first_name="Ana", tags=["volunteer"])
    # The next release adds a column: the database made by this one must come along.
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, ("ALTER TABLE subscribers ADD COLUMN phone TEXT",)])
    with Store.open(path) as new:
        ana = new.get("ana@example.org")
        assert ana is not None and (ana.first_name, ana.tags) == ("Ana", ("volunteer",))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (len(schema.MIGRATIONS),)
    assert "phone" in [row[1] for row in db.execute("PRAGMA table_info(subscribers)")]


@pytest.mark.sqlite_only  # the SQLite file's own schema
def test_a_failing_migration_leaves_the_database_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Store.open(tmp_path / "old.db").close()
    monkeypatch.setattr(
        schema,
        "MIGRATIONS",
        [*schema.MIGRATIONS, ("ALTER TABLE subscribers ADD COLUMN phone TEXT", "ALTER TABLE nowhere ADD COLUMN x")],
    )
    with pytest.raises(UsageError) as raised:
        Store.open(tmp_path / "old.db")
    assert str(raised.value) == (
        "cannot bring the subscriber database old.db up to date (no such table: nowhere); it is unchanged: is it "
        "another program's database? Point [audience] database in actionmail.toml at another file"
    )
    db = sqlite3.connect(tmp_path / "old.db")
    assert db.execute("PRAGMA user_version").fetchone() == (len(schema.MIGRATIONS) - 1,)
    assert "phone" not in [row[1] for row in db.execute("PRAGMA table_info(subscribers)")]


def test_a_database_from_a_newer_actionmail_is_refused(tmp_path: Path) -> None:
    location = database.locate(tmp_path / "newer.db")
    db = database.connect(location)
    db.dialect.set_version(db, 99)
    db.close()
    with pytest.raises(UsageError) as raised:
        Store.open(location)
    assert str(raised.value) == (
        f"the subscriber database is at schema version 99, newer than this actionmail knows "
        f"({len(schema.MIGRATIONS)}): upgrade actionmail"
    )


@pytest.mark.sqlite_only  # the SQLite file's own schema
def test_a_file_that_is_not_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "members.db", "email\nana@example.org\n" * 100)
    with pytest.raises(UsageError) as raised:
        Store.open(tmp_path / "members.db")
    assert str(raised.value) == (
        "members.db is not an actionmail subscriber database (file is not a database): point [audience] database "
        "in actionmail.toml at another file"
    )


def test_subscribers_come_in_send_order(store: Store, tmp_path: Path) -> None:
    store.import_csv(
        write(
            tmp_path,
            "m.csv",
            """\
            email,language,district
            a@example.org,es,2
            b@example.org,en,2
            c@example.org,,3
            d@example.org,en,
            e@example.org,en,1
            f@example.org,es,2
            """,
        )
    )
    assert [m.email[0] for m in store.subscribers()] == ["c", "d", "e", "b", "a", "f"]


@pytest.mark.parametrize("segment", [None, "district=3", "tag=volunteer language!=es", "field.team=x|none"])
@pytest.mark.sqlite_only  # SQLite's query plan and durability settings
def test_subscribers_stream_from_the_index_without_sorting(store: Store, segment: str | None) -> None:
    sql, params = _send_query(Segment.parse(segment) if segment else None)
    plan = " / ".join(row[3] for row in store._db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "USING INDEX subscribers_by_status (status=?)" in plan
    assert "TEMP B-TREE" not in plan, plan


@pytest.mark.sqlite_only  # SQLite's query plan and durability settings
def test_counting_a_send_by_variant_reads_the_index_alone(store: Store) -> None:
    # The suppression check needs each member's address key: in the index, SQLite reads no member's row.
    sql, params = _count_query(None)
    plan = " / ".join(row[3] for row in store._db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "USING COVERING INDEX subscribers_by_status (status=?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_a_send_reads_one_snapshot(store: Store, tmp_path: Path) -> None:
    for n in range(3):
        store.add(f"m{n}@example.org")
    members = store.subscribers()
    assert next(members).email == "m0@example.org"
    with Store.open(tmp_path / "actionmail.db") as other:  # another process: an import, an unsubscribe link
        other.add("m3@example.org")
        other.unsubscribe("m2@example.org")
    store.unsubscribe("m1@example.org")  # the send itself, recording a bounce
    assert [m.email for m in members] == ["m1@example.org", "m2@example.org"]
    assert store.count() == 2


def test_add_fills_in_and_never_reactivates(store: Store) -> None:
    ana, change = store.add("Ana@Example.ORG", first_name=" Ana ", district="3", tags=["volunteer"], language="es")
    assert (change, ana.email, ana.first_name, ana.district, ana.language, ana.source) == (
        Change.ADDED,
        "Ana@example.org",
        "Ana",
        "3",
        "es",
        "added by hand",
    )
    assert store.add("ana@example.org", tags=["Volunteer"])[1] is Change.UNCHANGED
    ana, change = store.add("ana@example.org", last_name="Ruiz", tags=["donor"])
    assert (change, ana.name, ana.tags, ana.district) == (Change.UPDATED, "Ana Ruiz", ("donor", "volunteer"), "3")
    store.unsubscribe("ana@example.org")
    ana, change = store.add("ana@example.org", zip="98122", fields={"Phone Bank Shift": "Tuesdays"})
    assert (change, ana.status, ana.zip) == (Change.UPDATED, Status.UNSUBSCRIBED, "98122")
    assert dict(ana.fields) == {"phone_bank_shift": "Tuesdays"}  # named as an import names it


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"email": "ana@example"},
            "'ana@example' is not a valid email address: The part after the @-sign is not valid. It should have a "
            "period.",
        ),
        (
            {"email": "ana@example.org", "district": "9"},
            "district '9' is not in officials.yaml (known: 1, 2, 3, 4, 5, 6, 7): use one of them, or leave it out",
        ),
        ({"email": "ana@example.org", "language": "Englsh"}, "'Englsh' is not a language: write a code like en or es"),
    ],
)
def test_add_refuses(store: Store, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        store.add(**kwargs, known_districts=DISTRICTS)  # type: ignore[arg-type]
    assert str(raised.value) == message
    assert store.count() == 0


def test_unsubscribing_an_address_that_is_not_a_member_suppresses_it(store: Store) -> None:
    assert store.unsubscribe("ana@example.org", "replied STOP", source="reply") is None
    suppression = store.suppression("ANA@example.org")
    assert suppression is not None
    assert (suppression.reason, suppression.detail, suppression.source) == (
        Status.UNSUBSCRIBED,
        "replied STOP",
        "reply",
    )
    ana, change = store.add("ana@example.org", first_name="Ana")
    assert (change, ana.status, ana.status_reason) == (Change.ADDED, Status.UNSUBSCRIBED, "replied STOP")
    assert store.count() == 0


def test_resubscribe_is_the_way_back(store: Store) -> None:
    store.add("ana@example.org")
    store.unsubscribe("ana@example.org", "too many emails")
    with pytest.raises(UsageError) as raised:
        store.resubscribe("ana@example.org", "  ")
    assert str(raised.value) == (
        "a reason is required to resubscribe someone: say who asked and how, e.g. --reason 'asked at the "
        "2024-05-01 meeting'"
    )
    ana = store.resubscribe("ANA@example.org", "signed up again at the May meeting")
    assert (ana.status, ana.status_reason) == (Status.ACTIVE, "resubscribed: signed up again at the May meeting")
    assert store.suppression("ana@example.org") is None and store.count() == 1
    with pytest.raises(UsageError) as raised:
        store.resubscribe("ana@example.org", "again")
    assert str(raised.value) == "ana@example.org is already active: nothing to do"
    with pytest.raises(UsageError) as raised:
        store.resubscribe("bo@example.org", "asked")
    assert str(raised.value) == (
        "bo@example.org is not a subscriber: add it with actionmail subscribers add (an address that is only on the "
        "suppression list needs adding first)"
    )


def test_suppress_events(store: Store) -> None:
    for address in ("ana@example.org", "bo@example.org", "cy@example.org"):
        store.add(address)
    store.unsubscribe("cy@example.org")
    at = dt.datetime(2019, 8, 5, 18, 33, 20, tzinfo=dt.UTC)
    report = store.suppress_events(
        [
            SuppressEvent("ana@example.org", Status.BOUNCED, at, "550 5.1.1 no such user", "SendGrid (x.json)"),
            SuppressEvent("ANA@example.org", Status.COMPLAINED, at, None, "SendGrid (x.json)"),
            SuppressEvent("cy@example.org", Status.COMPLAINED, at, None, "SendGrid (x.json)"),
            SuppressEvent("di@example.org", Status.UNSUBSCRIBED, at, None, "SendGrid (x.json)"),
        ]
    )
    assert (dict(report.suppressed), report.already, report.stale, report.members_stopped) == (
        {Status.BOUNCED: 1, Status.UNSUBSCRIBED: 1},
        2,
        0,
        1,
    )
    ana = store.get("ana@example.org")
    assert ana is not None
    assert (ana.status, ana.status_reason, ana.status_changed_at) == (Status.BOUNCED, "550 5.1.1 no such user", at)
    cy = store.get("cy@example.org")
    assert cy is not None and cy.status is Status.UNSUBSCRIBED
    assert [m.email for m in store.subscribers()] == ["bo@example.org"]


def test_an_event_older_than_a_resubscription_is_stale(store: Store) -> None:
    store.add("ana@example.org")
    store.unsubscribe("ana@example.org")
    store.resubscribe("ana@example.org", "asked again")
    old = dt.datetime(2019, 8, 5, tzinfo=dt.UTC)
    report = store.suppress_events([SuppressEvent("ana@example.org", Status.BOUNCED, old)])
    assert (report.stale, report.members_stopped, store.count()) == (1, 0, 1)
    report = store.suppress_events([SuppressEvent("ana@example.org", Status.BOUNCED)])  # now
    assert (report.stale, report.members_stopped, store.count()) == (0, 1, 0)


def test_sendable_gives_the_active_unsuppressed_members_asked_for_with_their_fields(store: Store) -> None:
    ana, _ = store.add("ana@example.org", first_name="Ana", last_name="Pérez", district="3", fields={"team": "phones"})
    bob, _ = store.add("bob@example.org", zip="98101", language="es")
    gone, _ = store.add("gone@example.org")
    store.unsubscribe("gone@example.org")
    other, _ = store.add("other@example.org")  # not asked for
    store.unsubscribe("suppressed@example.org")
    back, _ = store.add("suppressed@example.org")  # added after its address was suppressed: not active
    carl, _ = store.add("carl@example.org")
    # Active, yet on the suppression list (as a provider's list, imported by hand, could leave it): not sent to.
    store._db.execute(
        "INSERT INTO suppressions (email_key, reason, at, source) VALUES ('carl@example.org', 'bounced', ?, 'x')",
        (dt.datetime.now(dt.UTC).isoformat(),),
    )

    found = store.sendable([ana.id, bob.id, gone.id, back.id, carl.id, 9999])

    assert set(found) == {ana.id, bob.id}
    assert tuple(found[ana.id]) == (ana.id, "ana@example.org", "Ana", "Pérez", "3", None, None, {"team": "phones"})
    assert found[ana.id].name == "Ana Pérez" and found[bob.id].name == ""
    assert (found[bob.id].zip, found[bob.id].language, dict(found[bob.id].fields)) == ("98101", "es", {})
    assert other.id not in found
