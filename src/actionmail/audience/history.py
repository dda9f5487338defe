"""Each address's history: every change of whether it is sent to, with when, what changed it and why.

A row is written in the same transaction as the change it records, by every path that changes a status
(:meth:`Store.unsubscribe`, :meth:`Store.resubscribe`, :meth:`Store.suppress_events`,
:meth:`Store.remove_suppression`, an import or ``add``), so a member's status and its history never disagree.
Rows are keyed by the address (its email key), not the member's id: an address that is deleted and imported
again, or that was never a member but is on the suppression list, keeps its history.

A member joining as active is not a change of status (the member's row says when and from where they joined);
joining as unsubscribed, bounced or complained is, and is recorded.

The backup (`subscribers export --all`) carries each address's history in one cell, as JSON (:func:`to_cell`);
restoring it (:func:`from_cell`) puts the rows back for an address that has none yet.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from actionmail.audience.model import from_db_time, parse_time, to_db_time
from actionmail.database import Connection

# What a row may say happened: a status taken (the Status values other than active), a way back to active,
# and an address taken off the suppression list by hand.
CHANGES = ("unsubscribed", "bounced", "complained", "resubscribed", "unsuppressed")
MAX_DETAIL = 500  # characters of a reason kept: a reason typed into the unsubscribe page is not a letter


@dataclass(frozen=True, slots=True)
class Entry:
    """One change: when, what (one of :data:`CHANGES`), its source (``one-click``, ``page``, ``undo``, ``by
    hand``, ``import members.csv``, a provider's name…) and the reason or detail given, if any."""

    at: dt.datetime
    change: str
    source: str
    detail: str | None = None


def record(db: Connection, key: str, entry: Entry) -> None:
    """Write one row, inside the caller's transaction."""
    record_many(db, [(key, entry)])


def record_many(db: Connection, rows: Iterable[tuple[str, Entry]]) -> None:
    db.executemany(
        "INSERT INTO history (email_key, at, change, source, detail) VALUES (?, ?, ?, ?, ?)",
        [(key, to_db_time(e.at), e.change, e.source, clean_detail(e.detail)) for key, e in rows],
    )


def read(db: Connection, key: str) -> list[Entry]:
    """An address's history, oldest first."""
    return [
        Entry(from_db_time(at), change, source, detail)
        for at, change, source, detail in db.execute(
            "SELECT at, change, source, detail FROM history WHERE email_key = ? ORDER BY at, id", (key,)
        )
    ]


def all_by_key(db: Connection) -> dict[str, list[Entry]]:
    """Every address's history, for the backup: one read, not one a member."""
    found: dict[str, list[Entry]] = {}
    for key, at, change, source, detail in db.execute(
        "SELECT email_key, at, change, source, detail FROM history ORDER BY email_key, at, id"
    ):
        found.setdefault(key, []).append(Entry(from_db_time(at), change, source, detail))
    return found


def restore(db: Connection, rows: Sequence[tuple[str, Sequence[Entry]]]) -> None:
    """A backup's histories, for the addresses that have none yet (so importing one backup twice adds nothing)."""
    keys = [key for key, entries in rows if entries]
    if not keys:
        return
    had = {
        row[0]
        for row in db.execute(
            f"SELECT DISTINCT email_key FROM history WHERE email_key IN ({', '.join('?' * len(keys))})", keys
        )
    }
    record_many(db, [(key, entry) for key, entries in rows if key not in had for entry in entries])


def to_cell(entries: Sequence[Entry]) -> str:
    """A history as the backup's ``history`` cell: a JSON list, ASCII only (a spreadsheet changes nothing in it)."""
    if not entries:
        return ""
    return json.dumps(
        [{"at": to_db_time(e.at), "change": e.change, "source": e.source, "detail": e.detail} for e in entries],
        ensure_ascii=True,
        separators=(",", ":"),
    )


class BadHistory(ValueError):
    """A backup's history cell that is not what :func:`to_cell` writes; the message says what is wrong."""


def from_cell(text: str) -> tuple[Entry, ...]:
    """What :func:`to_cell` wrote, read back; :class:`BadHistory` for anything else."""
    try:
        items: Any = json.loads(text)
    except (ValueError, RecursionError):
        raise BadHistory("not the JSON list an export writes") from None
    if not isinstance(items, list):
        raise BadHistory("not the JSON list an export writes")
    entries = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise BadHistory(f"entry {number} is not an object")
        at = parse_time(item.get("at")) if isinstance(item.get("at"), str) else None
        change, source, detail = item.get("change"), item.get("source"), item.get("detail")
        if at is None:
            raise BadHistory(f"entry {number} has no time ('at')")
        if change not in CHANGES:
            raise BadHistory(f"entry {number}: '{change}' is not one of {', '.join(CHANGES)}")
        if not isinstance(source, str) or not source.strip():
            raise BadHistory(f"entry {number} has no source")
        if detail is not None and not isinstance(detail, str):
            raise BadHistory(f"entry {number}: the detail is not text")
        entries.append(Entry(at, change, _one_line(source) or "unknown", clean_detail(detail)))
    return tuple(entries)


def _one_line(text: str | None) -> str | None:
    if text is None:
        return None
    # Control characters (a line break typed into the page's reason field) would break the table it is shown in.
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return cleaned or None


def clean_detail(text: str | None) -> str | None:
    """A reason or detail as kept: one line, printable, at most :data:`MAX_DETAIL` characters; None if empty."""
    cleaned = _one_line(text)
    if cleaned is None or len(cleaned) <= MAX_DETAIL:
        return cleaned
    return cleaned[: MAX_DETAIL - 1] + "…"
