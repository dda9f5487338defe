"""Members' reports in the subscriber database (actionmail.audience.reports): once per member per question, a second
answer replaces the first, taps at once from several connections are counted once each."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest

from actionmail.audience import Store
from actionmail.audience.reports import Recorded, Report, read_only
from actionmail.tally import Row
from tests import sql

ISSUE = "2019-08-01-ring"


def _members(path: Path, n: int) -> list[int]:
    with Store.open(path) as store:
        for i in range(n):
            store.add(f"m{i}@example.org", district=str(i % 3 + 1))
        return [m.id for m in store.subscribers()]


def test_one_answer_per_member_per_question(tmp_path: Path) -> None:
    database = tmp_path / "actionmail.db"
    ana, bo = _members(database, 2)
    at = dt.datetime(2019, 8, 1, 15, tzinfo=dt.UTC)
    with Store.open(database) as store:
        reports = store.reports
        assert reports.record(Report(ana, ISSUE, "1", "done", "1", "herbold"), at) is Recorded.NEW
        assert reports.record(Report(ana, ISSUE, "1", "done", "1", "herbold"), at) is Recorded.SAME
        assert reports.record(Report(ana, ISSUE, "bonus-1", "yes"), at) is Recorded.NEW
        assert reports.record(Report(bo, ISSUE, "bonus-1", "yes"), at) is Recorded.NEW
        later = at + dt.timedelta(hours=2)
        assert reports.record(Report(ana, ISSUE, "bonus-1", "maybe"), later) is Recorded.CHANGED
        assert reports.record(Report(ana, "2019-08-02-other", "1", "done"), at) is Recorded.NEW
        assert (reports.count(ISSUE, "1"), reports.count(ISSUE, "bonus-1"), reports.count(ISSUE, "bonus-1", "yes")) == (
            1,
            2,
            1,
        )
        assert reports.answer_of(ana, ISSUE, "bonus-1") == "maybe" and reports.answer_of(bo, ISSUE, "1") is None
        assert reports.rows(ISSUE) == [
            Row("1", "done", "1", "herbold", 1),
            Row("bonus-1", "maybe", None, None, 1),
            Row("bonus-1", "yes", None, None, 1),
        ]
        assert reports.latest(ISSUE) == later and reports.latest("nothing") is None
        assert reports.issues() == {ISSUE, "2019-08-02-other"}


def test_a_deleted_members_reports_stay_counted_without_their_id(tmp_path: Path) -> None:
    database = tmp_path / "actionmail.db"
    (ana,) = _members(database, 1)
    with Store.open(database) as store:
        store.reports.record(Report(ana, ISSUE, "1", "done"))
    db = sql.connect(database)
    with db:
        db.execute("DELETE FROM subscribers WHERE id = ?", (ana,))  # as merging two members does
    assert db.execute("SELECT subscriber_id FROM reports").fetchall() == [(None,)]
    db.close()
    with Store.open(database) as store:
        assert store.reports.count(ISSUE, "1") == 1


def test_taps_at_once_from_many_connections_count_each_member_once(tmp_path: Path) -> None:
    database = tmp_path / "actionmail.db"
    ids = _members(database, 20)
    outcomes: list[Recorded] = []
    lock = threading.Lock()

    def tap(member: int) -> None:
        with Store.open(database) as store:
            for answer in ("yes", "yes", "no"):
                outcome = store.reports.record(Report(member, ISSUE, "bonus-1", answer))
                with lock:
                    outcomes.append(outcome)

    threads = [threading.Thread(target=tap, args=(i,)) for i in ids for _ in range(2)]  # two devices each
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(Recorded.NEW) == 20
    with Store.open(database) as store:
        assert store.reports.count(ISSUE, "bonus-1") == 20


@pytest.mark.sqlite_only  # files that are not databases, or not ours
def test_reading_without_a_database_creates_none(tmp_path: Path) -> None:
    with read_only(tmp_path / "actionmail.db") as reports:
        assert reports is None
    assert not (tmp_path / "actionmail.db").exists()
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.close()
    with read_only(other) as reports:
        assert reports is None  # not ours, or older than reports
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with read_only(tmp_path / "junk.db") as reports:
        assert reports is None
    _members(tmp_path / "actionmail.db", 1)
    with read_only(tmp_path / "actionmail.db") as reports:
        assert reports is not None and reports.issues() == set()
