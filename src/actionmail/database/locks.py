"""Named locks that every process using one database sees, and that a killed process lets go of.

SQLite: a lock file beside the database (the operating system's lock: released when the process dies).
PostgreSQL: an advisory lock held by a connection of its own (released when the connection closes, which the
server sees when the process dies), so two hosts sharing the database see each other's.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

from actionmail.database import Location, connect, is_postgres


class Lock:
    """``name`` (and ``number``: a worker's) on the database at ``location``; not reentrant."""

    def __init__(self, location: Location, name: str, number: int | None = None) -> None:
        self.location = location
        self.name = name
        self.number = number
        self._held: Any = None

    def acquire(self, timeout: float = 0) -> bool:
        """Take the lock, waiting up to ``timeout`` seconds; whether it was taken."""
        deadline = time.monotonic() + timeout
        while True:
            if self._try():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def release(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        if is_postgres(self.location):
            # Unlocked before closing: a closed connection's locks go when its server process ends, which may be
            # after another process asks for them (a send that follows at once found the lock still held).
            try:
                held.execute("SELECT pg_advisory_unlock(?, ?)", (_key(self.name), self.number or 0)).fetchone()
            finally:
                held.close()
        else:
            held.release()

    def _try(self) -> bool:
        if is_postgres(self.location):
            db = connect(self.location)
            (taken,) = db.execute("SELECT pg_try_advisory_lock(?, ?)", (_key(self.name), self.number or 0)).fetchone()
            if not taken:
                db.close()
                return False
            self._held = db
            return True
        import filelock

        lock = filelock.FileLock(_file(self.location, self.name, self.number))
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        self._held = lock
        return True


def held(location: Location, name: str, number: int | None = None) -> bool:
    """Whether some process holds a lock ``name`` of any number, or (``number``) that one."""
    if is_postgres(location):
        which = "" if number is None else " AND objsubid = 2 AND CAST(objid AS BIGINT) = ?"
        db = connect(location, read_only=True)
        try:
            (count,) = db.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND CAST(classid AS BIGINT) = ? "
                f"AND database = (SELECT oid FROM pg_database WHERE datname = current_database()){which}",
                (_key(name) & 0xFFFFFFFF, *(() if number is None else (number & 0xFFFFFFFF,))),
            ).fetchone()
        finally:
            db.close()
        return bool(count)
    import pathlib

    path = pathlib.Path(location)
    numbers: list[int] = []
    if number is not None:
        numbers = [number] if pathlib.Path(_file(location, name, number)).exists() else []
    else:
        for found in sorted(path.parent.glob(f"{path.name}.{name}-*")):
            if (text := found.name.rpartition("-")[2]).isdecimal():
                numbers.append(int(text))
    for each in numbers:
        lock = Lock(location, name, each)
        if not lock.acquire():
            return True
        lock.release()
    return False


def _key(name: str) -> int:
    """A lock's name as the first of an advisory lock's two 32-bit keys."""
    value = zlib.crc32(f"actionmail {name}".encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def _file(location: Location, name: str, number: int | None) -> str:
    return f"{location}.{name}" if number is None else f"{location}.{name}-{number}"
