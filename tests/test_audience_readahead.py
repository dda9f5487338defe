"""The import's tests again with every file read in a process of its own (readahead), as files of more than one
batch are; then what can go wrong with that process: it dies, it fails, the import around it fails or is
interrupted. Whatever happens, the error is clear, no batch is half-applied and no process is left behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actionmail.audience import Store, importer, readahead, upsert
from actionmail.audience import store as store_module
from tests.test_audience_cli import *  # noqa: F403
from tests.test_audience_hostile import *  # noqa: F403
from tests.test_audience_import import *  # noqa: F403
from tests.test_audience_import import SAMPLE
from tests.test_cli import invoke
from tests.test_fuzz_import import *  # noqa: F403

MANY_ROWS = "".join(f"member{i}@example.org,{i}\n" for i in range(2500))


@pytest.fixture(autouse=True)
def every_file_in_a_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(readahead, "PROCESS_FROM", 0)
    monkeypatch.setattr(readahead, "spare_core", lambda: True)  # however busy the machine running the tests is
    yield
    assert multiprocessing.active_children() == []


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A file of 2,500 rows, imported in batches of 1,000 sent in chunks of 100."""
    monkeypatch.setattr(store_module, "BATCH", 1000)
    monkeypatch.setattr(readahead, "_CHUNK", 100)
    path = tmp_path / "many.csv"
    path.write_text("email,field.n\n" + MANY_ROWS)
    return path


def stopping_after(monkeypatch: pytest.MonkeyPatch, rows: int, stop: Any) -> None:
    """The reader calls ``stop()`` after ``rows`` rows (in the reading process: it is forked)."""
    original = importer.CsvMembers.rows

    def rows_then_stop(self: importer.CsvMembers, *args: Any) -> Iterator[Any]:
        for number, item in enumerate(original(self, *args), start=1):
            yield item
            if number == rows:
                stop()

    monkeypatch.setattr(importer.CsvMembers, "rows", rows_then_stop)


def test_a_file_of_two_batches_is_read_in_a_process_and_a_smaller_one_is_not(
    store: Store, batches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[readahead.Rows] = []

    class Counted(readahead.Rows):
        def __init__(self, *args: Any) -> None:
            started.append(self)
            super().__init__(*args)

    monkeypatch.setattr(readahead, "Rows", Counted)
    monkeypatch.setattr(readahead, "PROCESS_FROM", 2.0)
    assert store.import_csv(batches).summary == "added 2500, updated 0, unchanged 0, skipped 0"
    assert len(started) == 1
    assert store.import_csv(SAMPLE).summary == "added 1000, updated 0, unchanged 0, skipped 0"  # one batch
    assert len(started) == 1
    monkeypatch.setattr(readahead, "spare_core", lambda: False)  # every core busy
    assert store.import_csv(batches).summary == "added 0, updated 0, unchanged 2500, skipped 0"
    assert len(started) == 1


def test_a_spare_core_is_one_no_other_process_runs_on() -> None:
    assert isinstance(readahead.spare_core(), bool)


def test_a_reader_that_dies_is_a_clear_error(store: Store, batches: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stopping_after(monkeypatch, 2100, lambda: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(readahead.ReaderFailed) as raised:
        store.import_csv(batches)
    assert str(raised.value) == (
        "the process reading many.csv stopped (killed by SIGKILL) before the end of the file; whole batches before "
        "it were imported: import the file again (rows already imported are not duplicated)"
    )
    assert store.count() in (0, 1000, 2000)  # whole batches: those the reader had sent before it died


def test_a_bug_in_the_reader_is_a_clear_error(store: Store, batches: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise ValueError("something unforeseen")

    stopping_after(monkeypatch, 1500, fail)
    with pytest.raises(readahead.ReaderFailed) as raised:
        store.import_csv(batches)
    assert str(raised.value) == (
        "reading many.csv failed in the process that reads it (ValueError: something unforeseen, at "
        f"test_audience_readahead.py:{fail.__code__.co_firstlineno + 1}); whole batches before it were imported: this is a bug in actionmail, "
        "please report it with that message"
    )
    assert store.count() == 1000


def test_an_interrupted_import_stops_its_reader_and_keeps_whole_batches(
    store: Store, batches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = upsert.apply
    calls = []

    def interrupted(*args: Any) -> list[upsert.Change]:
        calls.append(1)
        changes = original(*args)
        if len(calls) == 2:  # Ctrl-C while the second batch is written, before its COMMIT
            raise KeyboardInterrupt
        return changes

    monkeypatch.setattr(upsert, "apply", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.import_csv(batches)
    assert store.count() == 1000


def test_the_cli_reports_a_reader_that_dies(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readahead, "_CHUNK", 100)
    (project / "many.csv").write_text("email,field.n\n" + MANY_ROWS)
    stopping_after(monkeypatch, 10, lambda: os.kill(os.getpid(), signal.SIGKILL))
    assert invoke("subscribers", "import", "many.csv") == (
        1,
        "Error: the process reading many.csv stopped (killed by SIGKILL) before the end of the file; whole batches "
        "before it were imported: import the file again (rows already imported are not duplicated)\n",
    )


def test_ctrl_c_stops_both_processes_and_keeps_whole_batches(project: Path) -> None:
    # The real thing: SIGINT to the command's process group, as a terminal sends it, once a batch is in.
    (project / "many.csv").write_text("email\n" + "".join(f"m{i}@example.org\n" for i in range(100_000)))
    main = "from actionmail.audience import readahead; readahead.spare_core = lambda: True; import actionmail.__main__"
    command = [sys.executable, "-c", main, "subscribers", "import", "many.csv"]
    importing = subprocess.Popen(command, start_new_session=True, stderr=subprocess.PIPE, text=True)
    try:
        deadline, seen = time.monotonic() + 60, 0
        while invoke("subscribers", "count") == (0, "0\n") and importing.poll() is None and time.monotonic() < deadline:
            seen = max(seen, len(_in_session(importing.pid)))
            time.sleep(0.05)
        # The command and its reader (looked for while the first batch is read: by the time it is in, the reader,
        # a batch ahead, may have read the whole file and ended).
        assert max(seen, len(_in_session(importing.pid))) == 2
        os.killpg(importing.pid, signal.SIGINT)
        _, errors = importing.communicate(timeout=60)
    finally:  # a failure above leaves no process behind to trouble the tests after this one
        if importing.poll() is None:
            os.killpg(importing.pid, signal.SIGKILL)
            importing.communicate()
    assert (importing.returncode, errors) == (1, "\nAborted!\n")
    code, count = invoke("subscribers", "count")
    assert code == 0 and int(count) in (20_000, 40_000, 60_000, 80_000)
    # Nothing of the session is left: the reading process went with the importing one.
    assert _in_session(importing.pid) == []


def _in_session(session: int) -> list[Path]:
    return [stat for stat in Path("/proc").glob("[0-9]*/stat") if _session(stat) == session]


def _session(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[3])
    except (OSError, IndexError, ValueError):
        return None
