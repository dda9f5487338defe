"""Where the shared state lives: one SQLite file (the default, no server needed) or a PostgreSQL database.

Members, suppressions, the send ledger, what providers reported and what members told us all live in one
database. Every module that reads or writes them writes its SQL once, with ``?`` placeholders, in the SQL the two
databases share, and asks the connection's :attr:`Connection.dialect` for the few pieces they spell differently
(JSON, string aggregation, optimizer hints, how a write transaction begins): :mod:`.sqlite` and :mod:`.postgres`.

Which database: ``ACTIONMAIL_DATABASE_URL`` (``postgresql://…``) when it is set, whatever the project names, so
that every command, every host and ``actionmail serve`` agree; else ``[database] url`` in actionmail.toml; else
the SQLite file ``[audience] database``. A password is never written in actionmail.toml: libpq reads it from
``PGPASSWORD`` or a 0600 ``~/.pgpass``.
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from actionmail.database.dialect import Dialect

URL_VARIABLE = "ACTIONMAIL_DATABASE_URL"
SCHEMES = ("postgresql", "postgres")

# A database: the SQLite file's path, or a PostgreSQL URL.
Location = Path | str


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the store, the ledger and the rest use of a connection: sqlite3's, or :mod:`.postgres`'s own, which
    takes the same ``?`` SQL. Autocommit: a transaction is :func:`transaction`'s BEGIN … COMMIT."""

    @property
    def dialect(self) -> Dialect: ...

    def execute(self, sql: str, params: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, rows: Any, /) -> Cursor: ...

    def stream(self, sql: str, params: Any = ..., size: int = ...) -> Iterator[Any]: ...

    def close(self) -> None: ...


class NotADatabase(Exception):
    """The file is there, but is not a database (nor an empty file that can become one)."""


def marks(count: int) -> str:
    """``count`` placeholders for ``IN (…)``; for none, NULL (nothing is in it): PostgreSQL refuses ``IN ()``."""
    return ", ".join("?" * count) or "NULL"


def locate(configured: Location) -> Location:
    """The database to use: ``ACTIONMAIL_DATABASE_URL`` where it is set, else ``configured``."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    return url or configured


def parse(text: str) -> Location:
    """A location written as text (a worker's task): a PostgreSQL URL, else a file's path."""
    return text if is_postgres(text) else Path(text)


def exists(location: Location) -> bool:
    """Whether there is a database there yet: a PostgreSQL database is made by its administrator (and its tables
    by the first command that opens it), so it is always taken to be there."""
    return is_postgres(location) or Path(location).is_file()


def is_postgres(location: Location) -> bool:
    return isinstance(location, str) and urllib.parse.urlsplit(location).scheme in SCHEMES


def describe(location: Location) -> str:
    """The database as messages name it: the file, or the URL without its password."""
    if not isinstance(location, str):
        from actionmail.errors import shown

        return shown(location)
    parts = urllib.parse.urlsplit(location)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}@{host}"
    query = "&".join(
        p for p in parts.query.split("&") if p and p.partition("=")[0].lower() not in ("password", "sslpassword")
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def connect(location: Location, *, any_thread: bool = False, read_only: bool = False) -> Connection:
    """A new connection, in autocommit mode. ``any_thread``: it may be used from one thread after another
    (never two at once). ``read_only``: it writes nothing (a monitor's probe, a report's reader)."""
    if is_postgres(location):
        from actionmail.database import postgres

        return postgres.connect(str(location), read_only=read_only)
    if isinstance(location, str):
        from actionmail.errors import UsageError

        raise UsageError(
            f"{URL_VARIABLE} or [database] url is {describe(location)!r}, not a PostgreSQL URL: write "
            "postgresql://USER@HOST:PORT/DATABASE, or leave it unset to use the SQLite file"
        )
    from actionmail.database import sqlite

    # sqlite3's execute takes narrower parameter types than the protocol says; every caller passes sequences.
    return cast(Connection, sqlite.connect(location, any_thread=any_thread, read_only=read_only))


def busy(error: BaseException) -> bool:
    """Whether ``error`` says the database stayed busy (SQLite locked past its timeout; PostgreSQL's connection
    lost or refused): a write worth retrying later, a 503 to a webhook."""
    import sqlite3
    import sys

    if isinstance(error, sqlite3.OperationalError):
        return "locked" in str(error) or "busy" in str(error)
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(error, psycopg.OperationalError)


@contextlib.contextmanager
def transaction(db: Connection, *, exclusive: bool = True) -> Iterator[Connection]:
    """BEGIN … COMMIT, or ROLLBACK on any exception. ``exclusive``: one writer at a time in the whole database,
    as SQLite always has it (a read then a write in one transaction cannot race another's); otherwise rows are
    locked as they are written (PostgreSQL), for writes that touch only rows no one else writes."""
    for statement in db.dialect.begin(exclusive):
        db.execute(statement)
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
