"""SQLite (the standard library's sqlite3): one file, WAL mode, no server."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from actionmail.database.dialect import SQLITE


class SqliteConnection(sqlite3.Connection):
    """sqlite3's connection, with the dialect the SQL of :mod:`actionmail.database` asks for."""

    dialect = SQLITE

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 2000) -> Iterator[Any]:
        """The rows of a query one at a time (SQLite steps through them as they are read)."""
        yield from self.execute(sql, params)


def connect(path: Path, *, any_thread: bool = False, read_only: bool = False) -> SqliteConnection:
    """Raises sqlite3.Error where the file cannot be opened, or is not a database."""
    target, uri = (f"{path.resolve().as_uri()}?mode=ro", True) if read_only else (str(path), False)
    db = sqlite3.connect(
        target, uri=uri, timeout=30, isolation_level=None, check_same_thread=not any_thread, factory=SqliteConnection
    )
    if read_only:
        return db
    try:
        # WAL: a long send reading members does not block an import or an unsubscribe writing. With
        # synchronous=NORMAL a committed transaction survives the process being killed; only a power cut can lose
        # the latest ones (the ledger writes the one that matters through: Dialect.durable).
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.OperationalError:
        db.close()
        raise
    except sqlite3.DatabaseError as e:
        db.close()
        from actionmail.database import NotADatabase

        raise NotADatabase(str(e)) from None
    return db
