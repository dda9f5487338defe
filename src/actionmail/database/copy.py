"""`actionmail db copy`: a group that outgrows one laptop moves its SQLite file into PostgreSQL, whole.

Every table, in an order that keeps each reference valid, into an empty PostgreSQL database at the same schema
version, in one transaction: the copy is all there or not at all, and an interrupted copy can simply be run again.
Rows go through PostgreSQL's COPY (a million members in seconds, not the minutes INSERTs take), read from SQLite a
page at a time (memory stays flat). Ids are kept, and each table's id sequence is moved past the largest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from actionmail.database import Connection, describe, transaction

# Parents before children (deliveries need their send, tags and reports their member).
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("subscribers", ("id", "email", "email_key", "first_name", "last_name", "district", "zip", "language", "fields",
                     "status", "status_changed_at", "status_reason", "source", "created_at", "updated_at",
                     "districts")),
    ("tags", ("tag", "subscriber_id")),
    ("suppressions", ("email_key", "reason", "detail", "at", "source")),
    ("sends", ("id", "issue", "content_hash", "segment", "created_at", "finished_at", "pruned_at", "summary", "rate",
               "next_slot", "sent_on")),
    ("deliveries", ("send_id", "subscriber_id", "email", "variant", "state", "batch", "provider", "provider_id",
                    "reason", "attempts", "updated_at", "claimed_by")),
    ("history", ("id", "email_key", "at", "change", "source", "detail")),
    ("feedback_events", ("id", "dedupe_key", "provider", "kind", "email_key", "message_id", "send_id", "at",
                         "received_at", "outcome")),
    ("sync_positions", ("provider", "cursor", "complete", "updated_at", "completed_at")),
    ("signups", ("id", "email_key", "email", "first_name", "district", "zip", "language", "client", "requested_at",
                 "outcome", "confirmed_at")),
    ("reports", ("id", "subscriber_id", "issue", "question", "answer", "district", "target", "reported_at",
                 "updated_at")),
)  # fmt: skip
PAGE = 10_000


class NotEmpty(Exception):
    """The target database already has rows: a copy never mixes two lists."""


@dataclass
class Copied:
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def copy(source: Connection, target: Connection, progress: Callable[[str, int], None] = lambda t, n: None) -> Copied:
    """Copy every table of ``source`` (SQLite) into ``target`` (PostgreSQL), both at the latest schema version."""
    copied = Copied()
    with transaction(target):
        for table, _ in TABLES:
            if target.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                raise NotEmpty(f"the database {describe_target(target)} already has {table}: copy into an empty one")
        for table, columns in TABLES:
            names = ", ".join(columns)
            raw = target.raw  # type: ignore[attr-defined]  # psycopg's connection: COPY
            count = 0
            with raw.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as stream:
                for row in source.execute(f"SELECT {names} FROM {table}"):
                    stream.write_row(row)
                    count += 1
                    if count % PAGE == 0:
                        progress(table, count)
            copied.rows[table] = count
            progress(table, count)
            if "id" in columns:
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) "
                    f"FROM {table}"
                )
    return copied


def describe_target(target: Connection) -> str:
    info = target.raw.info  # type: ignore[attr-defined]
    return describe(f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}")


def open_source(path: Path) -> Connection:
    """The SQLite file to copy, brought to the latest schema first (as every command that opens it does)."""
    from actionmail.audience import schema
    from actionmail.database import connect

    db = connect(path)
    schema.migrate(db)
    return db
