"""Adding and updating members in batches: the rules every way in (import, ``add``) follows.

- A value given replaces the stored one; a value not given (an empty cell) erases nothing. Tags and custom
  fields are added to those stored.
- A member who unsubscribed, bounced or complained stays so, whatever the row says.
- A new member whose address is on the suppression list takes the suppression's status.
- A row that says a member unsubscribed, bounced or complained puts the address on the suppression list.
"""

from __future__ import annotations

import collections
import datetime as dt
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from actionmail.audience import history
from actionmail.audience.model import Incoming, Status, Suppressed, from_db_time, now, to_db_time
from actionmail.database import Connection, marks
from actionmail.errors import Problem

_DETAILS = ("first_name", "last_name", "district", "zip", "language")


class Change(enum.StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    custom_fields: list[tuple[str, str]] = field(default_factory=list)  # (column, field name)
    not_active: collections.Counter[Status] = field(default_factory=collections.Counter)
    kept_inactive: int = 0  # rows saying 'subscribed' for members who unsubscribed, bounced or complained
    suppressions_added: int = 0  # a backup's addresses on the suppression list that are not members

    @property
    def summary(self) -> str:
        return f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, skipped {self.skipped}"


def apply(db: Connection, batch: list[Incoming], report: ImportReport) -> list[Change]:
    """Add or update each member of ``batch`` (unique addresses), inside the caller's transaction."""
    keys = [incoming.key for incoming in batch]
    places = marks(len(keys))
    stored = {
        row[1]: row
        for row in db.execute(
            "SELECT id, email_key, first_name, last_name, district, zip, language, fields, status, districts "
            f"FROM subscribers WHERE email_key IN ({places})",
            keys,
        )
    }
    stored_tags: dict[int, set[str]] = collections.defaultdict(set)
    if stored:
        ids = [row[0] for row in stored.values()]
        for subscriber_id, tag in db.execute(
            f"SELECT subscriber_id, tag FROM tags WHERE subscriber_id IN ({', '.join('?' * len(ids))})", ids
        ):
            stored_tags[subscriber_id].add(tag.casefold())
    suppressed = {
        row[0]: row
        for row in db.execute(
            f"SELECT email_key, reason, detail, at FROM suppressions WHERE email_key IN ({places})", keys
        )
    }
    wanted_ids = [incoming.id for incoming in batch if incoming.id is not None]
    taken_ids = {
        row[0] for row in db.execute(f"SELECT id FROM subscribers WHERE id IN ({marks(len(wanted_ids))})", wanted_ids)
    }
    at = to_db_time(now())
    inserts: list[list[Any]] = []
    new_tags: list[tuple[str, list[Any]]] = []  # each tag with its member's row in inserts, whose id is not known yet
    updates: list[tuple[Any, ...]] = []
    status_updates: list[tuple[Any, ...]] = []
    old_tags: list[tuple[str, int]] = []
    suppressions: list[tuple[Any, ...]] = []
    changes: list[Change] = []
    # Each status the file gives a member is a change in their history, made by this import; a backup brings
    # the history it carries instead.
    recorded: list[tuple[str, history.Entry]] = []
    restored: list[tuple[str, tuple[history.Entry, ...]]] = []
    for incoming in batch:
        row = stored.get(incoming.key)
        suppression = suppressed.get(incoming.key)
        if incoming.history is not None:
            restored.append((incoming.key, incoming.history))
        if row is None:
            status, changed_at, reason = Status.ACTIVE, incoming.status_changed_at, incoming.status_reason
            if suppression is not None:
                status, changed_at, reason = Status(suppression[1]), from_db_time(suppression[3]), suppression[2]
            else:
                if incoming.status not in (None, Status.ACTIVE):
                    status, changed_at = incoming.status, incoming.status_changed_at or now()
                    if incoming.suppression is None:
                        suppressions.append((incoming.key, status, reason, to_db_time(changed_at), incoming.source))
                    if incoming.history is None:
                        recorded.append((incoming.key, _entry_of(incoming, status, changed_at)))
                if incoming.suppression is not None:
                    suppressions.append(_entry(incoming.suppression))
            if status is not Status.ACTIVE:
                report.not_active[status] += 1
            # A backup's id where it is free, so that the unsubscribe links already sent to this member still work.
            new_id = incoming.id if incoming.id is not None and incoming.id not in taken_ids else None
            if new_id is not None:
                taken_ids.add(new_id)
            insert = [
                new_id,
                incoming.email,
                incoming.key,
                incoming.first_name,
                incoming.last_name,
                incoming.district,
                incoming.zip,
                incoming.language,
                _fields(incoming.fields),
                _fields(incoming.districts) if incoming.districts else "{}",
                status,
                to_db_time(changed_at) if changed_at else None,
                reason,
                incoming.source,
                to_db_time(incoming.created_at) if incoming.created_at else at,
                at,
            ]
            inserts.append(insert)
            for tag in incoming.tags:
                new_tags.append((tag, insert))
            changes.append(Change.ADDED)
            continue
        subscriber_id, stored_status = row[0], Status(row[8])
        values = dict(zip(_DETAILS, row[2:7], strict=True))
        changed = False
        for name in _DETAILS:
            value = getattr(incoming, name)
            if value is not None and value != values[name]:
                values[name] = value
                changed = True
        stored_fields = json.loads(row[7])
        merged = stored_fields | (incoming.fields or {})
        if merged != stored_fields:
            changed = True
        stored_districts = json.loads(row[9]) if row[9] != "{}" else {}
        districts = stored_districts | (incoming.districts or {})
        if districts != stored_districts:
            changed = True
        if changed:
            updates.append(
                (
                    *(values[name] for name in _DETAILS),
                    _fields(merged),
                    _fields(districts),
                    at,
                    subscriber_id,
                )
            )
        for tag in incoming.tags:
            if tag.casefold() not in stored_tags[subscriber_id]:
                old_tags.append((tag, subscriber_id))
                changed = True
        if incoming.suppression is not None and suppression is None:
            suppressions.append(_entry(incoming.suppression))
            changed = True
        if incoming.status not in (None, Status.ACTIVE) and stored_status is Status.ACTIVE:
            changed_at = incoming.status_changed_at or now()
            status_updates.append((incoming.status, to_db_time(changed_at), incoming.status_reason, at, subscriber_id))
            if incoming.history is None:
                recorded.append((incoming.key, _entry_of(incoming, incoming.status, changed_at)))
            if incoming.suppression is None:
                suppressions.append(
                    (incoming.key, incoming.status, incoming.status_reason, to_db_time(changed_at), incoming.source)
                )
            report.not_active[incoming.status] += 1
            changed = True
        elif incoming.status is Status.ACTIVE and stored_status is not Status.ACTIVE:
            report.kept_inactive += 1
        changes.append(Change.UPDATED if changed else Change.UNCHANGED)
    # Those with a backup's id first; the others then take the ids SQLite would give them, one more than the
    # largest (never the largest possible: a backup's ids have at most 18 digits), so that their tags can be
    # written without looking each member up by address.
    kept = [insert for insert in inserts if insert[0] is not None]
    _insert(db, _INSERT, kept)
    if len(kept) < len(inserts):
        (largest,) = db.execute("SELECT max(id) FROM subscribers").fetchone()
        numbered = [insert for insert in inserts if insert[0] is None]
        for number, insert in enumerate(numbered, start=(largest or 0) + 1):
            insert[0] = number
        _insert(db, _INSERT, numbered)
    _insert(db, "INSERT INTO tags (tag, subscriber_id) VALUES", [(t, i[0]) for t, i in new_tags], _IGNORE)
    db.executemany(
        "UPDATE subscribers SET first_name = ?, last_name = ?, district = ?, zip = ?, language = ?, fields = ?, "
        "districts = ?, updated_at = ? WHERE id = ?",
        updates,
    )
    db.executemany(f"INSERT INTO tags (tag, subscriber_id) VALUES (?, ?) {_IGNORE}", old_tags)
    db.executemany(
        "UPDATE subscribers SET status = ?, status_changed_at = ?, status_reason = ?, updated_at = ? WHERE id = ?",
        status_updates,
    )
    # Tags alone changing a member still counts as an update.
    touched = {t[1] for t in old_tags} - {u[-1] for u in updates} - {s[-1] for s in status_updates}
    db.executemany("UPDATE subscribers SET updated_at = ? WHERE id = ?", [(at, i) for i in touched])
    db.executemany(
        f"INSERT INTO suppressions (email_key, reason, detail, at, source) VALUES (?, ?, ?, ?, ?) {_IGNORE}",
        suppressions,
    )
    history.record_many(db, recorded)
    history.restore(db, restored)
    return changes


def reactivate(db: Connection, key: str, when: dt.datetime, reason: str, source: str) -> None:
    """Make the member with this email key active again, inside the caller's transaction: the one way back
    (:meth:`Store.resubscribe`, a confirmed sign-up). The address leaves the suppression list, the reason is kept
    with the member, and the history records it with ``source``."""
    at = to_db_time(when)
    db.execute("DELETE FROM suppressions WHERE email_key = ?", (key,))
    db.execute(
        "UPDATE subscribers SET status = 'active', status_changed_at = ?, status_reason = ?, updated_at = ? "
        "WHERE email_key = ?",
        (at, f"resubscribed: {reason}", at, key),
    )
    history.record(db, key, history.Entry(when, "resubscribed", source, reason))


_INSERT = (
    "INSERT INTO subscribers (id, email, email_key, first_name, last_name, district, zip, language, fields, districts, "
    "status, "
    "status_changed_at, status_reason, source, created_at, updated_at) VALUES"
)
_ROWS_PER_INSERT = 2000
_IGNORE = "ON CONFLICT DO NOTHING"


def _insert(db: Connection, insert: str, rows: Sequence[Sequence[Any]], suffix: str = "") -> None:
    """``insert`` (up to VALUES) of ``rows``, many rows to a statement: executemany's work for each row (binding
    its values one statement at a time, a step, a reset) took a fifth of inserting 100,000 new members."""
    if not rows:
        return
    width = len(rows[0])
    per_statement = max(1, min(_ROWS_PER_INSERT, db.dialect.max_parameters // width))
    values = "(" + ", ".join("?" * width) + ")"
    whole = len(rows) - len(rows) % per_statement
    for start in range(0, whole, per_statement):
        part = rows[start : start + per_statement]
        db.execute(f"{insert} {', '.join([values] * per_statement)} {suffix}", [value for row in part for value in row])
    # The rest one by one: a statement for each number of rows left over would stay in the connection's cache
    # of statements (128; a compiled 1,000-row INSERT of tags takes 0.23 MB, 2,000 members 3 MB): at 1,000,000
    # members, 15 MB more at the peak.
    db.executemany(f"{insert} {values} {suffix}", rows[whole:])


def _fields(fields: dict[str, str] | None) -> str:
    # Most members have no custom fields, and json.dumps takes 1.6 us even for none: 0.16 s of 100,000 members.
    return json.dumps(fields, ensure_ascii=False, sort_keys=True) if fields else "{}"


def _entry_of(incoming: Incoming, status: Status, at: dt.datetime) -> history.Entry:
    return history.Entry(at, str(status), incoming.changed_by or incoming.source or "import", incoming.status_reason)


def _entry(suppressed: Suppressed) -> tuple[str, Status, str | None, str, str | None]:
    return suppressed.key, suppressed.reason, suppressed.detail, to_db_time(suppressed.at), suppressed.source


def add_suppressions(db: Connection, entries: list[Suppressed]) -> int:
    """Put addresses on the suppression list (those already on it keep their entry), inside the caller's
    transaction; how many were not on it before."""
    added = db.executemany(
        f"INSERT INTO suppressions (email_key, reason, detail, at, source) VALUES (?, ?, ?, ?, ?) {_IGNORE}",
        [_entry(entry) for entry in entries],
    ).rowcount
    history.restore(db, [(entry.key, entry.history) for entry in entries])
    return added
