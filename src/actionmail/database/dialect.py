"""The pieces of SQL that SQLite and PostgreSQL spell differently, each written once per database.

Everything else is the SQL both speak: ``INSERT … ON CONFLICT DO NOTHING`` (not SQLite's ``INSERT OR IGNORE``),
``CASE`` (not ``iif``), ``RETURNING`` (not ``lastrowid``), ``coalesce(sum(…), 0)`` (not ``total``), ``TRUE``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actionmail.database import Connection

# Every writer of the whole database, one at a time (PostgreSQL: an advisory lock held to the transaction's end),
# as SQLite's BEGIN IMMEDIATE has it.
WRITE_LOCK = 0x61637469  # "acti"


class Dialect:
    """SQLite's spelling; :class:`Postgres` overrides what PostgreSQL spells otherwise."""

    name = "sqlite"
    # The most parameters one statement may have.
    max_parameters = 32766

    def begin(self, exclusive: bool) -> Sequence[str]:
        return ("BEGIN IMMEDIATE",)

    def begin_snapshot(self) -> str:
        """A read transaction that sees one state of the database from its first read to its end."""
        return "BEGIN"

    def ids(self) -> str:
        """A subquery of the integers in one ``?`` parameter, a JSON array: ``x IN (…)`` for any number of ids."""
        return "SELECT value FROM json_each(?)"

    def skip_locked(self) -> str:
        """What ends a SELECT whose rows a transaction takes for itself while others take theirs at once: nothing
        in SQLite, where a write transaction has the whole database to itself (BEGIN IMMEDIATE)."""
        return ""

    def json_array_agg(self, expr: str, *, distinct: bool = False) -> str:
        """The values of ``expr`` over the group as one JSON array, as text ('[]' for none)."""
        return f"json_group_array({'DISTINCT ' if distinct else ''}{expr})"

    def json_array(self, *exprs: str) -> str:
        return f"json_array({', '.join(exprs)})"

    def json_text(self, column: str) -> str:
        """A JSON column as a JSON value inside :meth:`json_array` (not a string holding JSON)."""
        return f"json({column})"

    def json_member(self, column: str) -> str:
        """A member of a JSON object column, as text or NULL, the member named by one ``?``: see :meth:`member`."""
        return f"json_extract({column}, ?)"

    def member(self, name: str) -> str:
        """The parameter that names the member ``name`` in :meth:`json_member`."""
        return '$."' + name + '"'

    def json_object(self, pairs: Sequence[str]) -> str:
        """A JSON object as text from ``name, value`` SQL pairs."""
        return f"json_object({', '.join(pairs)})"

    def json_keys(self, table: str, column: str) -> str:
        """``FROM`` items giving each member name of ``table.column`` (a JSON object) as ``j.key``."""
        return f"{table}, json_each({column}) j"

    def concat(self, expr: str) -> str:
        """The group's values of ``expr`` as one text, separated by the unit separator (U+001F)."""
        return f"group_concat({expr}, char(31))"

    def nulls_first(self, *columns: str) -> str:
        """An ascending ORDER BY of ``columns``, NULL before any value (SQLite's order; PostgreSQL's is after)."""
        return ", ".join(columns)

    def no_index(self, column: str) -> str:
        """``column`` where the planner should not use an index on it (SQLite's unary +)."""
        return f"+{column}"

    def folded_in(self, expr: str, count: int) -> str:
        """``expr`` among ``count`` ``?`` values, ignoring ASCII case; never NULL."""
        return f"coalesce({expr} COLLATE NOCASE IN ({', '.join('?' * count) or 'NULL'}), 0)"

    def is_in(self, expr: str, count: int) -> str:
        """``expr`` among ``count`` ``?`` values; false, never NULL, where ``expr`` is NULL."""
        return f"coalesce({expr} IN ({', '.join('?' * count) or 'NULL'}), 0)"

    def clock(self) -> str:
        """The database's time, in seconds since 1970 (a double): the one clock of every process and host sharing
        the database (a send's pace: Ledger.reserve). SQLite's 'now' is the same throughout one statement; its
        julianday keeps milliseconds (unixepoch('subsec') needs SQLite 3.42)."""
        return "((julianday('now') - 2440587.5) * 86400.0)"

    def relax(self, db: Connection) -> None:
        """Commits on this connection may be lost to a power cut (or a crash of the server), never half applied:
        for writes whose loss only makes a state read as an earlier one (the ledger's outcomes: an accepted batch
        read as in flight, so uncertain, never sent twice). What must reach the disk goes through :meth:`durable`.
        SQLite's connections are so already (WAL, synchronous=NORMAL)."""

    def analyze(self, db: Connection, table: str) -> None:
        """After many rows came into ``table`` at once: the planner learns of them now, not at the next vacuum.
        SQLite's planner goes by its indexes; nothing to do."""

    @contextlib.contextmanager
    def durable(self, db: Connection) -> Iterator[None]:
        """The statements run inside are on disk when they return, whatever the connection's usual setting."""
        db.execute("PRAGMA synchronous = FULL")
        try:
            yield
        finally:
            db.execute("PRAGMA synchronous = NORMAL")

    def version(self, db: Connection) -> int:
        """The schema version the database is at (0: new). Reads only: a read-only probe asks it too."""
        (version,) = db.execute("PRAGMA user_version").fetchone()
        return int(version)

    def set_version(self, db: Connection, version: int) -> None:
        db.execute(f"PRAGMA user_version = {int(version)}")

    def errors(self) -> tuple[type[BaseException], ...]:
        import sqlite3

        return (sqlite3.Error,)


class Postgres(Dialect):
    name = "postgresql"
    max_parameters = 65535

    def begin(self, exclusive: bool) -> Sequence[str]:
        return ("BEGIN", f"SELECT pg_advisory_xact_lock({WRITE_LOCK})") if exclusive else ("BEGIN",)

    def begin_snapshot(self) -> str:
        return "BEGIN ISOLATION LEVEL REPEATABLE READ"

    def ids(self) -> str:
        return "SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(? AS json))"

    def skip_locked(self) -> str:
        # Rows another transaction has taken are passed over, not waited for: claimers never queue behind each
        # other, and never take the same row (it is locked to the end of the taker's transaction, and by then
        # no longer queued).
        return " FOR UPDATE SKIP LOCKED"

    def json_array_agg(self, expr: str, *, distinct: bool = False) -> str:
        return f"coalesce(CAST(json_agg({'DISTINCT ' if distinct else ''}{expr}) AS TEXT), '[]')"

    def json_array(self, *exprs: str) -> str:
        return f"json_build_array({', '.join(exprs)})"

    def json_text(self, column: str) -> str:
        return f"CAST({column} AS json)"

    def json_member(self, column: str) -> str:
        return f"({column} ->> CAST(? AS TEXT))"

    def member(self, name: str) -> str:
        return name

    def json_object(self, pairs: Sequence[str]) -> str:
        # json (not jsonb): its members in the order given, as SQLite's json_object keeps them.
        return f"CAST(json_build_object({', '.join(pairs)}) AS TEXT)"

    def json_keys(self, table: str, column: str) -> str:
        return f"{table}, jsonb_object_keys({column}) j(key)"

    def concat(self, expr: str) -> str:
        return f"string_agg({expr}, chr(31))"

    def nulls_first(self, *columns: str) -> str:
        return ", ".join(f"{column} NULLS FIRST" for column in columns)

    def no_index(self, column: str) -> str:
        return column

    def folded_in(self, expr: str, count: int) -> str:
        return f"coalesce(lower({expr}) IN ({', '.join(['lower(?)'] * count)}), FALSE)"

    def is_in(self, expr: str, count: int) -> str:
        return f"coalesce({expr} IN ({', '.join('?' * count) or 'NULL'}), FALSE)"

    def clock(self) -> str:
        # The server's, not the host's: hosts' clocks differ. clock_timestamp(), not now(): a statement that
        # waited for a row lock reads the time it runs at, not the time it arrived.
        return "CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)"

    def analyze(self, db: Connection, table: str) -> None:
        # A send queues its recipients in one statement; until autovacuum's next analyze the planner takes the
        # table for as small as it was: marking 20 batches took 0.85-0.90 s without this, 0.41 s with it
        # (bench/database_calls.py).
        db.execute(f"ANALYZE {table}")

    def relax(self, db: Connection) -> None:
        db.execute("SET synchronous_commit = off")  # each commit written, its flush to disk not waited for

    @contextlib.contextmanager
    def durable(self, db: Connection) -> Iterator[None]:
        db.execute("SET synchronous_commit = on")
        try:
            yield
        finally:
            db.execute("SET synchronous_commit = off")

    def version(self, db: Connection) -> int:
        (table,) = db.execute("SELECT to_regclass('actionmail_schema') IS NOT NULL").fetchone()
        if not table:
            return 0
        (version,) = db.execute("SELECT max(version) FROM actionmail_schema").fetchone()
        return int(version or 0)

    def set_version(self, db: Connection, version: int) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS actionmail_schema (version INTEGER NOT NULL)")
        db.execute("DELETE FROM actionmail_schema")
        db.execute("INSERT INTO actionmail_schema (version) VALUES (?)", (int(version),))

    def errors(self) -> tuple[type[BaseException], ...]:
        import psycopg

        return (psycopg.Error,)


SQLITE = Dialect()
POSTGRES = Postgres()
