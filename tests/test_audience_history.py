"""Each address's history: every status change recorded with its source and time, by every path that makes one;
`subscribers show`; the backup carries it; a database from before history gets what it knew."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail.audience import Status, Store, SuppressEvent, schema
from actionmail.cli import main
from actionmail.database.sqlite import SqliteConnection
from tests.conftest import Databases, write


@pytest.fixture
def store(project: Path) -> Iterator[Store]:
    with Store.open(project / "actionmail.db") as opened:
        yield opened


def changes(store: Store, email: str) -> list[tuple[str, str, str | None]]:
    return [(e.change, e.source, e.detail) for e in store.history(email)]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_every_way_a_status_changes_is_recorded_with_its_source(store: Store, project: Path) -> None:
    store.add("ana@example.org", first_name="Ana")
    store.unsubscribe("ana@example.org", "too many emails", source="one-click")
    store.unsubscribe("ana@example.org", source="one-click")  # again: no change, so nothing recorded
    store.resubscribe("ana@example.org", "clicked undo", source="undo")
    store.suppress_events([SuppressEvent("ana@example.org", Status.BOUNCED, None, "550 no such user", "mailgun")])
    store.remove_suppression("ana@example.org")
    assert changes(store, "ana@example.org") == [
        ("unsubscribed", "one-click", "too many emails"),
        ("resubscribed", "undo", "clicked undo"),
        ("bounced", "mailgun", "550 no such user"),
        ("unsuppressed", "by hand", "was bounced"),
    ]
    store.unsubscribe("nobody@example.org")  # not a member: suppressed all the same, and recorded
    assert changes(store, "nobody@example.org") == [("unsubscribed", "by hand", None)]
    write(project, "m.csv", "email,status\nbo@example.org,unsubscribed\ncy@example.org,subscribed\n")
    store.import_csv(project / "m.csv")
    assert changes(store, "bo@example.org") == [("unsubscribed", "import m.csv", None)]
    assert changes(store, "cy@example.org") == []  # joining as active is no change: the member's row says it


def test_a_reason_is_kept_on_one_line_and_short(store: Store) -> None:
    store.add("ana@example.org")
    store.unsubscribe("ana@example.org", "line one\r\nline\x00two " + "x" * 1000, source="page")
    [(_, _, detail)] = changes(store, "ana@example.org")
    assert detail is not None and detail.startswith("line one line two x") and len(detail) == 500


def test_subscribers_show(project: Path) -> None:
    invoke("subscribers", "add", "ana@example.org", "--first-name", "Ana", "--district", "3", "--tag", "host")
    invoke("subscribers", "unsubscribe", "ana@example.org", "--reason", "asked by phone")
    invoke("subscribers", "resubscribe", "ana@example.org", "--reason", "came back")
    code, output = invoke("subscribers", "show", "ANA@example.org")
    today = dt.date.today().isoformat()
    assert code == 0
    lines = output.splitlines()
    assert lines[:7] == [
        "ana@example.org",
        "  name: Ana",
        "  district: 3",
        "  tags: host",
        f"  status: active since {today} (resubscribed: came back)",
        f"  joined: {today} (added by hand)",
        "  id: 1",
    ]
    assert lines[7] == "History:"
    assert [line[len("  2026-12-04 21:20 UTC  ") :] for line in lines[8:]] == [
        "unsubscribed  by hand  asked by phone",
        "resubscribed  by hand  came back",
    ]
    assert invoke("subscribers", "show", "zed@example.org") == (
        2,
        "Error: zed@example.org is not a subscriber, and has no history here: check the address\n",
    )


def test_the_backup_carries_the_history_and_restoring_it_twice_adds_nothing(project: Path) -> None:
    invoke("subscribers", "add", "ana@example.org")
    invoke("subscribers", "unsubscribe", "ana@example.org", "--reason", "moving")
    invoke("subscribers", "unsubscribe", "gone@example.org")
    assert invoke("subscribers", "export", "--all", "-o", "backup.csv")[0] == 0
    settings = project / "actionmail.toml"
    settings.write_text(settings.read_text() + '\n[audience]\ndatabase = "restored.db"\n')
    assert invoke("subscribers", "import", "backup.csv")[0] == 0
    assert invoke("subscribers", "import", "backup.csv")[0] == 0
    assert invoke("subscribers", "export", "--all", "-o", "again.csv")[0] == 0
    assert (project / "again.csv").read_text() == (project / "backup.csv").read_text()
    with Store.open(project / "restored.db") as restored:
        assert changes(restored, "ana@example.org") == [("unsubscribed", "by hand", "moving")]
        assert changes(restored, "gone@example.org") == [("unsubscribed", "by hand", None)]


def test_a_damaged_history_cell_is_a_warning_and_the_member_is_imported(project: Path, databases: Databases) -> None:
    invoke("subscribers", "add", "ana@example.org")
    invoke("subscribers", "unsubscribe", "ana@example.org")
    invoke("subscribers", "export", "--all", "-o", "backup.csv")
    text = (project / "backup.csv").read_text()
    start = text.index('"[{')
    damaged = text[:start] + '"[{""at"":""yesterday""}]"' + text[text.index("\n", start) :]
    (project / "backup.csv").write_text(damaged)
    second = databases.switch(project / "restored.db", settings=project / "actionmail.toml")
    code, output = invoke("subscribers", "import", "backup.csv")
    assert code == 0
    assert output.splitlines()[0] == (
        "backup.csv:2: history: warning: the history is not what an export writes (entry 1 has no time ('at')): "
        "it was left out"
    )
    with Store.open(second) as restored:
        ana = restored.get("ana@example.org")
        assert ana is not None and ana.status is Status.UNSUBSCRIBED
        # Without the backup's history, the import records the change it makes.
        assert changes(restored, "ana@example.org") == [("unsubscribed", "import backup.csv", None)]


@pytest.mark.sqlite_only  # the SQLite file's own migrations
def test_a_database_from_before_history_gets_what_it_knew(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None, factory=SqliteConnection)
    schema.migrate(db, schema.MIGRATIONS[:4])
    now = "2024-05-01T10:00:00+00:00"
    db.executescript(f"""
        INSERT INTO subscribers (email, email_key, status, status_changed_at, status_reason, created_at, updated_at)
        VALUES ('ana@example.org', 'ana@example.org', 'unsubscribed', '{now}', 'moving', '{now}', '{now}'),
               ('bo@example.org', 'bo@example.org', 'active', NULL, NULL, '{now}', '{now}');
        INSERT INTO suppressions VALUES ('ana@example.org', 'unsubscribed', 'moving', '{now}', 'by hand'),
                                        ('x@example.org', 'bounced', '550', '{now}', 'Mailgun events (b.json)');
    """)
    db.close()
    with Store.open(path) as store:
        assert changes(store, "ana@example.org") == [("unsubscribed", "by hand", "moving")]
        assert changes(store, "x@example.org") == [("bounced", "Mailgun events (b.json)", "550")]
        assert changes(store, "bo@example.org") == []
