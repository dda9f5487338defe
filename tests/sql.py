"""What tests read and write of the database directly, on whichever backend the suite runs (tests/conftest.py:
ACTIONMAIL_DATABASE_URL, set for PostgreSQL, wins over the file, as it does for actionmail itself)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actionmail import database


class Db:
    """A connection in autocommit mode (each statement committed), usable as sqlite3's was in these tests:
    ``with db:`` around writes changes nothing, :meth:`close` at the end."""

    def __init__(self, path: Path) -> None:
        self._db = database.connect(database.locate(path))
        self.dialect = self._db.dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(sql, params)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Db:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def connect(path: Path) -> Db:
    """A connection to the database that the project's file ``path`` stands for."""
    return Db(path)


def rows(path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    db = connect(path)
    try:
        cursor = db.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description is not None else []
    finally:
        db.close()


def execute(path: Path, sql: str, params: Sequence[Any] = ()) -> int:
    """Run one statement (committed: autocommit); how many rows it changed."""
    db = connect(path)
    try:
        return int(db.execute(sql, params).rowcount)
    finally:
        db.close()
