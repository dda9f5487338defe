"""Benchmark: `Store.import_csv` of a generated Mailchimp export, against plain SQLite loading the same file.

    .venv/bin/python bench/import_members.py --count 100000 --runs 5
    .venv/bin/python bench/import_members.py --count 100000 --runs 5 --also main=/tmp/actionmail-main/src
    .venv/bin/python bench/import_members.py --count 1000000 --peak --also main=/tmp/actionmail-main/src

One file (bench/generate_members.py, seed 1, made once in --dir). In each of --runs rounds every measurement
runs once, in turn, each in a new process and on a new database, so that a machine busy with other work slows
them all alike; the median of each is reported, with its ratio to actionmail's:

- actionmail: ``Store.import_csv`` into a new database (validating and normalizing every address with
  email-validator, district and language checks, duplicates within the file, tags in their own table, in
  transactions of 20,000 rows); wall and CPU time of the process's import (its children's included: a large
  file is read in a process of its own);
- actionmail again on the same database: every row unchanged;
- for a tree that reads large files in a process of its own when a core is free (readahead), the same two with
  that process forced, whatever the load;
- the same for each ``--also NAME=SRC``: another checkout's ``src`` directory (main's, say), to compare
  before and after in the same run;
- peers that only copy text: the sqlite3 command-line shell's ``.import --csv`` (Debian's sqlite3), and
  Python's ``csv.reader`` + ``executemany`` of the raw rows into one table in one transaction;
- email-validator alone on every address (what the import took most of its time for, before it checked each
  domain once).

With ``--peak``, instead: the whole ``actionmail subscribers import`` command, for each source tree, in a new
project directory, under ``/usr/bin/time -v``: wall time and maximum resident set size (the budget is 200 MB
at 1,000,000 members); and the sqlite3 shell's import likewise.

Prints Markdown tables for docs/performance.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DISTRICTS = [str(n) for n in range(1, 8)]
# `actionmail` with its reader process forced (a tree with readahead reads a large file so only with a core free).
FORCED = "from actionmail.audience import readahead; readahead.spare_core = lambda: True; import actionmail.__main__"


def child(source: Path, database: Path, reader: str) -> None:
    """In a new process whose actionmail is the tree being measured: import ``source`` into ``database``;
    ``reader``: "forced" to read it in a process of its own whatever the machine's load (trees with readahead)."""
    from actionmail.audience import Store

    if reader == "forced":
        from actionmail.audience import readahead

        readahead.spare_core = lambda: True

    start, cpu = time.perf_counter(), cpu_time()
    with Store.open(database) as store:
        report = store.import_csv(source, known_districts=DISTRICTS)
    seconds, cpu = time.perf_counter() - start, cpu_time() - cpu
    rows = report.added + report.unchanged
    print(json.dumps({"seconds": seconds, "cpu": cpu, "summary": report.summary, "rows": rows}))


def cpu_time() -> float:
    """This process's CPU time and its children's (the process an import reads a large file in, once ended)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_child(src: Path, source: Path, database: Path, reader: str = "auto") -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, __file__, "--child", str(source), str(database), reader]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out)
    return result


def remove(database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def speed(args: argparse.Namespace, source: Path, trees: dict[str, Path]) -> None:
    from email_validator import validate_email

    sqlite_cli = shutil.which("sqlite3")
    shell = f"sqlite3 shell {sqlite_version(sqlite_cli)} `.import --csv`" if sqlite_cli else ""
    database = args.dir / "import.db"
    with source.open(encoding="utf-8", newline="") as f:
        addresses = [row[0] for row in csv.reader(f)][1:]
    seconds: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    def record(what: str, wall: float, used: float | None = None) -> None:
        seconds.setdefault(what, []).append(wall)
        if used is not None:
            cpu.setdefault(what, []).append(used)

    def executemany() -> None:
        with source.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            connection = sqlite3.connect(database, isolation_level=None)
            connection.execute(f"CREATE TABLE members ({', '.join(f'c{i} TEXT' for i in range(len(header)))})")
            connection.execute("BEGIN")
            connection.executemany(f"INSERT INTO members VALUES ({', '.join('?' * len(header))})", reader)
            connection.execute("COMMIT")
            connection.close()

    for _ in range(args.runs):
        for name, src in trees.items():
            # A tree with readahead chooses its reader by the machine's load: measured as it chooses, then with
            # the reader process forced.
            forced = ["auto", "forced"] if (src / "actionmail" / "audience" / "readahead.py").exists() else ["auto"]
            for reader in forced:
                label = f"{name}, reader process forced" if reader == "forced" else name
                remove(database)
                new = run_child(src, source, database, reader)
                assert new["rows"] == args.count, new["summary"]
                record(f"{label}: `Store.import_csv`, new database", new["seconds"], new["cpu"])
                again = run_child(src, source, database, reader)
                assert again["rows"] == args.count, again["summary"]
                record(f"{label}: again, every row unchanged", again["seconds"], again["cpu"])
        if sqlite_cli:
            remove(database)
            record(f"peer: {shell}", timed(lambda: subprocess.run(
                [sqlite_cli, str(database), f".import --csv {source} members"], check=True
            )))  # fmt: skip
        remove(database)
        record("peer: `csv.reader` + `executemany`, raw rows", timed(executemany))
        record(
            "email-validator alone, every address",
            timed(lambda: [validate_email(a, check_deliverability=False) for a in addresses]),
        )
    remove(database)

    ours = statistics.median(seconds[f"{next(iter(trees))}: `Store.import_csv`, new database"])
    print(f"{args.count:,} rows, {source.stat().st_size / 1e6:.1f} MB; median of {args.runs} rounds")
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.platform()}\n")
    print("| What | Seconds | CPU seconds | Rows/s | actionmail's time / this |")
    print("|:---|---:|---:|---:|---:|")
    for what, times in seconds.items():
        median = statistics.median(times)
        used = f"{statistics.median(cpu[what]):.2f}" if what in cpu else ""
        print(f"| {what} | {median:.2f} | {used} | {args.count / median:,.0f} | {ours / median:.2f} |")


def peak(args: argparse.Namespace, source: Path, trees: dict[str, Path]) -> None:
    """Each tree's `actionmail subscribers import` and the sqlite3 shell's import, under /usr/bin/time -v."""
    rows = []
    for _ in range(args.runs):
        for name, src in trees.items():
            with tempfile.TemporaryDirectory(dir=args.dir) as project:
                for name_of_file in ("actionmail.toml", "officials.yaml"):
                    shutil.copy(ROOT / name_of_file, project)
                command = [sys.executable, "-m", "actionmail", "subscribers", "import", str(source)]
                rows.append((f"{name}: `actionmail subscribers import`", *time_v(command, project, src)))
            if (src / "actionmail" / "audience" / "readahead.py").exists():
                with tempfile.TemporaryDirectory(dir=args.dir) as project:
                    for name_of_file in ("actionmail.toml", "officials.yaml"):
                        shutil.copy(ROOT / name_of_file, project)
                    command = [sys.executable, "-c", FORCED, "subscribers", "import", str(source)]
                    what = f"{name}: the same, reader process forced"
                    rows.append((what, *time_v(command, project, src)))
        sqlite_cli = shutil.which("sqlite3")
        if sqlite_cli:
            database = args.dir / "peak.db"
            remove(database)
            command = [sqlite_cli, str(database), f".import --csv {source} members"]
            what = f"peer: sqlite3 shell {sqlite_version(sqlite_cli)} `.import --csv`"
            rows.append((what, *time_v(command, str(args.dir), None)))
            remove(database)
    print(f"{args.count:,} rows, {source.stat().st_size / 1e6:.1f} MB; /usr/bin/time -v, each run listed")
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.platform()}\n")
    print("| What | Wall seconds | User seconds | System seconds | Max RSS (MB) | Processes' Pss, summed (MB) |")
    print("|:---|---:|---:|---:|---:|---:|")
    for what, wall, user, system, rss, pss in rows:
        print(f"| {what} | {wall:.1f} | {user:.1f} | {system:.1f} | {rss:.0f} | {pss:.0f} |")


def sqlite_version(sqlite_cli: str) -> str:
    return subprocess.run([sqlite_cli, "--version"], capture_output=True, text=True, check=True).stdout.split()[0]


def time_v(command: list[str], cwd: str, src: Path | None) -> tuple[float, float, float, float, float]:
    """Wall, user and system seconds and the peak resident set size in MB of ``command``, from GNU time (the
    largest of its processes': a reader process is counted apart), and the peak of its processes' proportional
    set sizes summed (what they take together, pages they share counted once), sampled every 20 ms."""
    env = {**os.environ, "PYTHONPATH": str(src)} if src else None
    timing = subprocess.Popen(
        ["/usr/bin/time", "-v", *command], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    pss = 0
    while timing.poll() is None:
        pss = max(pss, sum(_pss(pid) for pid in _descendants(timing.pid)))
        time.sleep(0.02)
    stderr = timing.stderr.read() if timing.stderr else ""
    done = subprocess.CompletedProcess(command, timing.returncode, "", stderr)
    if done.returncode not in (0, 3):  # 3: some rows were skipped
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    report = done.stderr

    def value(label: str) -> str:
        found = re.search(rf"{re.escape(label)}: (.+)", report)
        assert found, (label, report)
        return found[1].strip()

    *hours_minutes, secs = value("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")
    wall = float(secs) + sum(int(part) * 60**i for i, part in enumerate(reversed(hours_minutes), start=1))
    rss = int(value("Maximum resident set size (kbytes)")) / 1024
    return wall, float(value("User time (seconds)")), float(value("System time (seconds)")), rss, pss / 1024


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = [int(child) for child in task.read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def _pss(pid: int) -> int:
    """In kB; 0 for a process gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    found = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
    return int(found[1]) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "actionmail-bench")
    parser.add_argument("--also", action="append", default=[], metavar="NAME=SRC", help="another tree's src/")
    parser.add_argument("--peak", action="store_true", help="the whole command's time and peak memory")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        source, database, reader = args.child
        child(Path(source), Path(database), reader)
        return
    trees = {"actionmail": ROOT / "src"}
    for also in args.also:
        name, _, src = also.partition("=")
        trees[name] = Path(src).resolve()
    args.dir.mkdir(parents=True, exist_ok=True)
    source = args.dir / f"members-{args.count}.csv"
    if not source.exists():
        sys.path.insert(0, str(BENCH))
        from generate_members import generate

        with source.open("w", encoding="utf-8", newline="") as out:
            generate(out, args.count, seed=1)
    (peak if args.peak else speed)(args, source, trees)


if __name__ == "__main__":
    main()
