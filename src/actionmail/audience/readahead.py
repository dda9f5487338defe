"""A large file's rows read in a process of its own, while this one writes them to the database.

An import's CPU time is about half reading (csv, each row's cells, address, district and language checked, the
duplicate check of :mod:`firstlines`) and half the database's (SQLite's inserts and lookups, and the Python that
feeds them). A thread cannot overlap the two (measured: the GIL), a process can. The reading process is forked,
so it starts in milliseconds with everything already imported, and runs :meth:`CsvMembers.rows` exactly as the
import would in-process: the same rows, problems and warnings, in the same order. It sends them a chunk at a
time down a pipe, each member as a plain tuple (pickling the dataclass took 0.37 s for 100,000 members, the tuples
0.13 s); at most a batch of chunks waits, pickled (about 2.6 MB), so a reader far ahead of the writer waits for it
and memory stays flat.

Only a file of two batches or more is read so, and only when a core is free for it: with one batch there is
nothing to overlap (the batch is written once all of it is read), and on a machine whose cores are all busy the
reader only adds the work of handing the rows over; either way the fork and the pickling would only cost (see
docs/performance.md). Where fork is not the way processes start (Windows, macOS), the file is read in-process.

What can go wrong: Ctrl-C reaches both processes; the reader ignores it, and this process stops it, the batch in
progress rolled back as ever. An error the reader raises (a full temporary disk) is raised here as itself; a
reader that dies or fails unexpectedly is an error naming the file and what happened, never a hang: its end of
the pipe closes when it dies. A batch is written only once all its rows arrived, so none is half-applied.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import operator
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from actionmail.audience.importer import BadRow, CsvMembers
from actionmail.audience.model import Incoming, Suppressed
from actionmail.errors import ActionmailError, ExitCode, Problem, shown

Item = Incoming | Suppressed | BadRow | Problem

# A file is read in a process of its own when it holds at least this many batches (by the length of its first
# lines): below two there is nothing to overlap, and the process costs 25-40 ms (measured: docs/performance.md).
PROCESS_FROM = 2.0
_SAMPLE = 1 << 18  # bytes read to estimate the rows' length
_CHUNK = 5000  # items to a message
_FIELDS = operator.attrgetter(*(f.name for f in fields(Incoming)))


class ReaderFailed(ActionmailError):
    """The process reading the file stopped, or raised an error of ours (then with that error's exit code)."""

    def __init__(self, message: str, exit_code: int = ExitCode.ERROR) -> None:
        super().__init__(message, exit_code)
        self.exit_code = ExitCode(exit_code)

    def __str__(self) -> str:
        return str(self.args[0])


def wanted(members: CsvMembers, batch: int) -> bool:
    """Whether ``members`` holds ``PROCESS_FROM`` batches of ``batch`` rows or more, by the length of its first
    lines, and this platform forks: then it is worth reading in a process of its own."""
    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        size = members.path.stat().st_size
        if size < PROCESS_FROM * batch * 16:  # none of its rows can be shorter than "a@b.cc\n"
            return False
        with members.path.open("rb") as f:
            sample = f.read(_SAMPLE)
    except OSError:  # reported as it is in-process, by rows()
        return False
    return size * sample.count(b"\n") / max(len(sample), 1) >= PROCESS_FROM * batch and spare_core()


def spare_core() -> bool:
    """Whether a core is free for the reader: this process may use two, and fewer processes are running now than
    the machine has cores (five looks, 2 ms apart). On a machine whose cores are all busy the reader only adds
    its own work (measured: 6.1-6.5 s against 4.2-5.9 s in-process, 100,000 rows at load average 5-6)."""
    if len(os.sched_getaffinity(0)) < 2:
        return False
    running: list[int] = []
    try:
        for look in range(5):
            if look:
                time.sleep(0.002)
            with open("/proc/stat", "rb") as stat:
                running.extend(int(line.split()[1]) for line in stat if line.startswith(b"procs_running "))
    except (OSError, ValueError):
        return True
    # This process is one of them.
    return bool(running) and sum(running) / len(running) <= (os.cpu_count() or 1) - 0.5


class Rows:
    """:meth:`CsvMembers.rows` read in another process; use as a context manager, which stops that process."""

    def __init__(
        self,
        members: CsvMembers,
        batch: int,
        known_districts: Sequence[str],
        source: str,
        known_sets: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """``batch``: the rows the importing process writes at a time, which this one reads ahead while it does."""
        self._file = shown(members.path)
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_read,
            args=(send, members, batch // _CHUNK + 1, known_districts, source, known_sets),
            name="actionmail import reader",
        )
        self._process.daemon = True  # gone with this process, however it ends
        self._process.start()
        send.close()  # this process's copy: the reader's end is then the only one, and its death ends the pipe

    def __enter__(self) -> Rows:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._process.close()
        self._receive.close()

    def __iter__(self) -> Iterator[Item]:
        while True:
            try:
                kind, payload = pickle.loads(self._receive.recv_bytes())
            except (EOFError, OSError):  # the reader died, between messages or in the middle of one
                self._process.join()
                raise ReaderFailed(
                    f"the process reading {self._file} stopped ({_how(self._process.exitcode)}) before the end of "
                    "the file; whole batches before it were imported: import the file again (rows already imported "
                    "are not duplicated)"
                ) from None
            if kind == "rows":
                for item in payload:
                    yield Incoming(*item) if type(item) is tuple else item
            elif kind == "end":
                return
            else:
                raise payload


def _read(
    send: Connection,
    members: CsvMembers,
    ahead: int,
    known_districts: Sequence[str],
    source: str,
    known_sets: Mapping[str, Sequence[str]] | None,
) -> None:
    """The reading process: every item of the file, a chunk to a message, then "end"; or what went wrong."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importing process's to handle: it stops this one
    outbox = _Outbox(send, ahead)
    chunk: list[Any] = []
    try:
        for item in members.rows(known_districts, source, known_sets):
            chunk.append(_FIELDS(item) if type(item) is Incoming else item)
            if len(chunk) == _CHUNK:
                outbox.post(pickle.dumps(("rows", chunk), pickle.HIGHEST_PROTOCOL))
                chunk = []
        outbox.post(pickle.dumps(("rows", chunk), pickle.HIGHEST_PROTOCOL))
        outbox.post(pickle.dumps(("end", None)))
    except BrokenPipeError:  # the importing process is gone: nobody to tell
        return
    except ActionmailError as e:  # raised there as itself, if pickle can carry it
        try:
            pickle.loads(pickle.dumps(e))
        except Exception:
            outbox.tell(ReaderFailed(str(e), e.exit_code))
        else:
            outbox.tell(e)
    except Exception as e:  # a bug: said in one line, with where it happened, instead of a traceback
        where = traceback.extract_tb(e.__traceback__)[-1]
        outbox.tell(
            ReaderFailed(
                f"reading {shown(members.path)} failed in the process that reads it ({type(e).__name__}: {e}, at "
                f"{where.filename.rsplit('/', 1)[-1]}:{where.lineno}); whole batches before it were imported: this "
                "is a bug in actionmail, please report it with that message"
            )
        )
    finally:
        outbox.close()


class _Outbox:
    """Messages written to the pipe by a thread of their own, up to ``ahead`` of them waiting: a pipe holds 64 KB,
    a message 0.5 MB, so that without them the reader could not read on while a batch is written (measured: it
    waited most of the time)."""

    def __init__(self, send: Connection, ahead: int) -> None:
        self._send = send
        self._waiting: queue.Queue[bytes | None] = queue.Queue(maxsize=ahead)
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._writer.start()

    def post(self, message: bytes) -> None:
        """Raises BrokenPipeError once the importing process is gone."""
        while self._writer.is_alive():
            with contextlib.suppress(queue.Full):
                self._waiting.put(message, timeout=0.5)
                return
        raise BrokenPipeError

    def tell(self, error: ActionmailError) -> None:
        with contextlib.suppress(BrokenPipeError):
            self.post(pickle.dumps(("error", error)))

    def close(self) -> None:
        """Once every message is written: the process ends when this function returns."""
        with contextlib.suppress(BrokenPipeError):
            self.post(None)  # type: ignore[arg-type]
        self._writer.join()

    def _write(self) -> None:
        while (message := self._waiting.get()) is not None:
            try:
                self._send.send_bytes(message)
            except OSError:  # the importing process is gone
                return


def _how(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        try:
            return f"killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"killed by signal {-exit_code}"
    return f"exit status {exit_code}"
