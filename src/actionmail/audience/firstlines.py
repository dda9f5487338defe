"""Where each address in a file being imported was first seen, kept on disk: a million rows take the memory a
thousand do.

A dict from each address to its line grew with the file: about 140 MB of a 1,000,000-row import's 231 MB peak.
Here the addresses are in a private temporary SQLite database (an empty file name: SQLite deletes the file when
the connection closes) whose page cache is SQLite's default 2 MB; what does not fit goes to the file. Addresses
are added a batch at a time, in one statement (a query per row would cost more than all the row's other work),
and looked up only when a batch had an address seen before.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from actionmail.errors import UsageError


class FirstLines:
    """The line each address (its email key) was first seen on. Use as a context manager."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        # Nothing to keep if the process dies: the file goes with the connection.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE first_lines (key TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID")

    def __enter__(self) -> FirstLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()

    def add(self, lines: Sequence[tuple[str, int]]) -> bool:
        """Record each address with its line, unless it was seen on an earlier line; whether all were new."""
        before = self._db.total_changes
        # The keys as JSON (text: SQLite 3.45 and later read a BLOB given to json_each as JSONB). In key order, so
        # that each page of the B-tree is visited once; then by line, so that of two rows with one address in the
        # same batch, the first is the one kept.
        self._run(
            "INSERT OR IGNORE INTO first_lines (key, line) SELECT value ->> 0, value ->> 1 FROM json_each(?) "
            "ORDER BY 1, 2",
            json.dumps(lines),
        )
        return self._db.total_changes - before == len(lines)

    def find(self, keys: Sequence[str]) -> dict[str, int]:
        """The line each of ``keys`` was first seen on, for those seen."""
        return dict(
            self._run(
                "SELECT key, line FROM first_lines WHERE key IN (SELECT value FROM json_each(?))", json.dumps(keys)
            )
        )

    def _run(self, sql: str, keys: str) -> list[Any]:
        try:
            return self._db.execute(sql, (keys,)).fetchall()
        except sqlite3.OperationalError as e:  # the temporary file's disk full, say: about 40 bytes an address
            raise UsageError(
                f"cannot keep track of the file's addresses in SQLite's temporary file ({e}): make room in the "
                "temporary directory, or point SQLITE_TMPDIR at one with room, and import the file again (rows "
                "already imported are not duplicated)"
            ) from None
