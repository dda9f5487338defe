"""What tests read and write of the database directly, on whichever backend the suite runs (tests/conftest.py:
ACTIONMAIL_DATABASE_URL, set for PostgreSQL, wins over the file, as it does for actionmail itself)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actionmail import database
from actionmail.database import Connection


def connect(path: Path) -> Connection:
    """A connection to the database that the project's file ``path`` stands for."""
    return database.connect(database.locate(path))


def rows(path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    db = connect(path)
    try:
        return [tuple(row) for row in db.execute(sql, params).fetchall()]
    finally:
        db.close()


def execute(path: Path, sql: str, params: Sequence[Any] = ()) -> int:
    """Run one statement (committed: autocommit); how many rows it changed."""
    db = connect(path)
    try:
        return int(db.execute(sql, params).rowcount)
    finally:
        db.close()
