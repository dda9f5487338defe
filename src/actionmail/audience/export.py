"""`subscribers export`: members as CSV in the columns import reads back, and with ``--all`` the backup."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from actionmail.audience import history
from actionmail.audience.cells import BACKUP_COLUMNS, EXPORT_COLUMNS, escape_formula
from actionmail.audience.model import email_key, to_db_time
from actionmail.audience.segment import Segment
from actionmail.database import Connection

if TYPE_CHECKING:
    from actionmail.audience.store import Store


def write_csv(store: Store, db: Connection, out: TextIO, segment: Segment | None, *, everyone: bool) -> int:
    """Write members as CSV with the canonical columns (those of :data:`EXPORT_COLUMNS`, then
    ``field.NAME`` for each custom field, ``district.SET`` for each other district set), which
    :meth:`Store.import_csv` reads back as they were. Active members only, as :meth:`Store.subscribers` gives
    them, unless ``everyone``. Returns how many members were written.

    With ``everyone`` the file is a backup: the :data:`BACKUP_COLUMNS` too (each member's id, entry on the
    suppression list and history), and, without a segment, a row for each address on the suppression list that is not
    a member, so that restoring it never lets an address that opted out back in.
    """
    field_names = _keys(db, "fields")
    set_names = _keys(db, "districts")
    backup = BACKUP_COLUMNS if everyone else ()
    suppressed = {
        key: (reason, at, detail or "", source or "")
        for key, reason, at, detail, source in (
            db.execute("SELECT email_key, reason, at, detail, source FROM suppressions") if everyone else ()
        )
    }
    histories = history.all_by_key(db) if everyone else {}
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [*EXPORT_COLUMNS, *backup, *(f"field.{name}" for name in field_names), *(f"district.{n}" for n in set_names)]
    )
    written = 0
    for member in store.everyone(segment) if everyone else store.subscribers(segment):
        row = [
            member.email,
            member.first_name or "",
            member.last_name or "",
            member.district or "",
            member.zip or "",
            member.language or "",
            join_tags(member.tags),
            member.status,
            to_db_time(member.status_changed_at) if member.status_changed_at else "",
            member.status_reason or "",
            member.source or "",
            to_db_time(member.created_at),
        ]
        if everyone:
            key = email_key(member.email)
            row += [str(member.id), *suppressed.get(key, ("", "", "", "")), history.to_cell(histories.get(key, []))]
        row += [member.fields.get(name, "") for name in field_names]
        row += [member.districts.get(name, "") for name in set_names]
        writer.writerow([escape_formula(value) for value in row])
        written += 1
    if everyone and segment is None:
        blank = [""] * (len(EXPORT_COLUMNS) - 1)
        for key, reason, at, detail, source in db.execute(
            "SELECT email_key, reason, at, detail, source FROM suppressions x WHERE NOT EXISTS "
            "(SELECT 1 FROM subscribers s WHERE s.email_key = x.email_key) ORDER BY email_key"
        ):
            entries = history.to_cell(histories.get(key, []))
            row = [
                key,
                *blank,
                "",
                reason,
                at,
                detail or "",
                source or "",
                entries,
                *([""] * (len(field_names) + len(set_names))),
            ]
            writer.writerow([escape_formula(value) for value in row])
    return written


def join_tags(tags: Sequence[str]) -> str:
    """Tags in one cell, as CSV within the cell (a tag with a comma is quoted); :func:`split_tags` reads it."""
    cell = io.StringIO()
    csv.writer(cell, lineterminator="").writerow(tags)
    return cell.getvalue()


def _keys(db: Connection, column: str) -> list[str]:
    """Every name some member has in the JSON column ``column`` of subscribers, sorted."""
    d = db.dialect
    (names,) = db.execute(
        f"SELECT {d.json_array_agg('j.key', distinct=True)} FROM {d.json_keys('subscribers s', f's.{column}')}"
    ).fetchone()
    return sorted(json.loads(names))
