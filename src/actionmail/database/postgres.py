"""PostgreSQL (psycopg 3), for groups that share one database between several hosts: ``actionmail[postgresql]``.

:class:`PostgresConnection` takes the SQL the rest of actionmail writes for sqlite3 (``?`` placeholders) and
gives back what sqlite3 would: tuples, JSON columns as their text, autocommit with explicit transactions.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from actionmail.database.dialect import POSTGRES
from actionmail.errors import UsageError

_LITERAL = re.compile(r"('(?:[^']|'')*')")
_names = itertools.count()


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (outside quoted literals), and every ``%`` doubled."""
    parts = _LITERAL.split(sql.replace("%", "%%"))
    return "".join(part if i % 2 else part.replace("?", "%s") for i, part in enumerate(parts))


class PostgresConnection:
    dialect = POSTGRES

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Any:
        return self.raw.execute(translate(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> Any:
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql), [tuple(row) for row in rows])
        return cursor

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 2000) -> Iterator[Any]:
        """The rows of a query a page at a time through a server-side cursor, inside the caller's transaction."""
        with self.raw.cursor(name=f"actionmail_{next(_names)}") as cursor:
            cursor.itersize = size
            cursor.execute(translate(sql), tuple(params))
            yield from cursor

    def close(self) -> None:
        self.raw.close()


def connect(url: str, *, read_only: bool = False) -> PostgresConnection:
    try:
        import psycopg
        from psycopg.types.string import TextLoader
    except ImportError:
        raise UsageError(
            "PostgreSQL needs psycopg: pip install 'actionmail[postgresql]' (or unset ACTIONMAIL_DATABASE_URL and "
            "[database] url to use the SQLite file)"
        ) from None
    from actionmail.database import describe

    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as e:
        raise UsageError(
            f"cannot connect to the database {describe(url)} ({_first_line(e)}): check ACTIONMAIL_DATABASE_URL or "
            "[database] url, that the server is running, and the password (PGPASSWORD or ~/.pgpass)"
        ) from None
    # JSON columns come back as their text, as from SQLite: the store parses what it reads itself.
    for name in ("json", "jsonb"):
        raw.adapters.register_loader(name, TextLoader)
    if read_only:
        raw.execute("SET default_transaction_read_only = on")
    return PostgresConnection(raw)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
