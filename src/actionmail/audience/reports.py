"""What members told us, in the subscriber database: one row per member per question of an issue.

``actionmail serve`` writes a row when a member presses the button on a report link's page
(:mod:`actionmail.serve.reports`): the issue, the question (its action's place: ``1``, ``bonus-1``), the answer,
and — where the action's targets depend on it — the member's district and whom they were asked to contact
(:func:`actionmail.tally.target_for`). A member has at most one row per question: pressing again with another
answer changes it, never adds a second, so a tally counts people, not taps.

A member who is deleted leaves their rows behind without their id: a count of what happened does not shrink
when someone leaves, and nothing in it names them any more.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from actionmail import database
from actionmail.audience.model import from_db_time, now, to_db_time
from actionmail.database import Connection, Location, transaction
from actionmail.tally import Row


class Recorded(enum.StrEnum):
    NEW = "new"  # the member's first answer to this question
    CHANGED = "changed"  # another answer than before: it replaces it
    SAME = "same"  # the answer they had given: nothing changes


@dataclass(frozen=True)
class Report:
    subscriber_id: int
    issue: str
    question: str
    answer: str
    district: str | None = None
    target: str | None = None


class Reports:
    """Reports on one open connection (a :class:`~actionmail.audience.Store`'s: ``store.reports``)."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    def record(self, report: Report, at: dt.datetime | None = None) -> Recorded:
        """Record a member's answer, in its own write transaction, which takes the write lock before the
        read, so two taps at once (two devices, a double click) are one after the other, and counted once."""
        when = to_db_time(at or now())
        with transaction(self._db):
            row = self._db.execute(
                "SELECT answer FROM reports WHERE issue = ? AND question = ? AND subscriber_id = ?",
                (report.issue, report.question, report.subscriber_id),
            ).fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO reports (subscriber_id, issue, question, answer, district, target, reported_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (report.subscriber_id, report.issue, report.question, report.answer, report.district,
                     report.target, when, when),
                )  # fmt: skip
                outcome = Recorded.NEW
            elif row[0] != report.answer:
                self._db.execute(
                    "UPDATE reports SET answer = ?, updated_at = ? WHERE issue = ? AND question = ? "
                    "AND subscriber_id = ?",
                    (report.answer, when, report.issue, report.question, report.subscriber_id),
                )
                outcome = Recorded.CHANGED
            else:
                outcome = Recorded.SAME
        return outcome

    def answer_of(self, subscriber_id: int, issue: str, question: str) -> str | None:
        """The answer a member gave to a question, if any."""
        row = self._db.execute(
            "SELECT answer FROM reports WHERE issue = ? AND question = ? AND subscriber_id = ?",
            (issue, question, subscriber_id),
        ).fetchone()
        return None if row is None else str(row[0])

    def count(self, issue: str, question: str, answer: str | None = None) -> int:
        """How many members answered a question (gave this answer, when one is named)."""
        sql = "SELECT count(*) FROM reports WHERE issue = ? AND question = ?"
        params: tuple[str, ...] = (issue, question)
        if answer is not None:
            sql, params = f"{sql} AND answer = ?", (*params, answer)
        return int(self._db.execute(sql, params).fetchone()[0])

    def rows(self, issue: str) -> list[Row]:
        """An issue's reports, counted by question, answer, district and target: what a tally is made from."""
        return [
            Row(question, answer, district, target, count)
            for question, answer, district, target, count in self._db.execute(
                "SELECT question, answer, district, target, count(*) FROM reports WHERE issue = ? "
                "GROUP BY question, answer, district, target "
                f"ORDER BY {self._db.dialect.nulls_first('question', 'answer', 'district', 'target')}",
                (issue,),
            )
        ]

    def latest(self, issue: str) -> dt.datetime | None:
        """When a report on this issue last came in or changed."""
        (at,) = self._db.execute("SELECT max(updated_at) FROM reports WHERE issue = ?", (issue,)).fetchone()
        return None if at is None else from_db_time(at)

    def issues(self) -> set[str]:
        """The issues members have reported on."""
        return {issue for (issue,) in self._db.execute("SELECT DISTINCT issue FROM reports")}


@contextlib.contextmanager
def read_only(location: Location) -> Iterator[Reports | None]:
    """The reports of a database, for reading only, without creating or migrating it (what `check` looks at):
    None where there is no database yet, or it has no reports table (an older schema, or not ours)."""
    location = database.locate(location)
    if not database.is_postgres(location) and not Path(location).is_file():
        yield None
        return
    try:
        db = database.connect(location, read_only=True)
    except Exception:  # sqlite3.Error, or a UsageError saying why the server cannot be reached
        yield None
        return
    try:
        try:
            db.execute("SELECT 1 FROM reports LIMIT 1").fetchall()
        except db.dialect.errors():
            yield None
            return
        yield Reports(db)
    finally:
        db.close()
