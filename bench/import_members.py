"""Benchmark: `Store.import_csv` of a generated Mailchimp export, against plain SQLite loading the same file.

    .venv/bin/python bench/import_members.py --count 100000 --runs 3

In one run, on one file (bench/generate_members.py, seed 1), each timed --runs times on a new database, the
median reported:

- actionmail: ``Store.import_csv`` into a new database (validating and normalizing every address with
  email-validator, district and language checks, tags in their own table, in batches of 1,000 rows);
- actionmail again on the same database: every row unchanged;
- peers that only copy text: the sqlite3 command-line shell's ``.import --csv`` (Debian's sqlite3), and Python's
  ``csv.reader`` + ``executemany`` of the raw rows into one table in one transaction;
- email-validator alone on every address, the largest part of our time.

Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import csv
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from email_validator import validate_email

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_members import generate

from actionmail.audience import Store

DISTRICTS = [str(n) for n in range(1, 8)]


def median_seconds(runs: int, prepare: Callable[[], None], work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        prepare()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "actionmail-bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    source = args.dir / f"members-{args.count}.csv"
    if not source.exists():
        with source.open("w", encoding="utf-8", newline="") as out:
            generate(out, args.count, seed=1)
    db = args.dir / "import.db"

    def fresh() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

    def ours() -> None:
        with Store.open(db) as store:
            report = store.import_csv(source, known_districts=DISTRICTS)
        assert report.added + report.unchanged == args.count, report.summary

    results: list[tuple[str, float]] = []
    results.append(("actionmail `Store.import_csv`, new database", median_seconds(args.runs, fresh, ours)))
    results.append(("actionmail again, every row unchanged", median_seconds(args.runs, lambda: None, ours)))

    sqlite_cli = shutil.which("sqlite3")
    if sqlite_cli:
        version = subprocess.run([sqlite_cli, "--version"], capture_output=True, text=True).stdout.split()[0]

        def shell() -> None:
            subprocess.run([sqlite_cli, str(db), f".import --csv {source} members"], check=True)

        results.append((f"peer: sqlite3 shell `.import --csv` ({version})", median_seconds(args.runs, fresh, shell)))

    def executemany() -> None:
        with source.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            connection = sqlite3.connect(db, isolation_level=None)
            connection.execute(f"CREATE TABLE members ({', '.join(f'c{i} TEXT' for i in range(len(header)))})")
            connection.execute("BEGIN")
            connection.executemany(f"INSERT INTO members VALUES ({', '.join('?' * len(header))})", reader)
            connection.execute("COMMIT")
            connection.close()

    results.append(("peer: `csv.reader` + `executemany`, raw rows", median_seconds(args.runs, fresh, executemany)))

    with source.open(encoding="utf-8", newline="") as f:
        addresses = [row[0] for row in csv.reader(f)][1:]
    results.append(
        (
            "email-validator alone, every address",
            median_seconds(
                args.runs, lambda: None, lambda: [validate_email(a, check_deliverability=False) for a in addresses]
            ),
        )
    )

    ours_seconds = results[0][1]
    print(f"{args.count:,} rows, {source.stat().st_size / 1e6:.1f} MB; median of {args.runs} runs")
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.platform()}\n")
    print("| What | Seconds | Rows/s | actionmail's time / this |")
    print("|:---|---:|---:|---:|")
    for what, seconds in results:
        print(f"| {what} | {seconds:.2f} | {args.count / seconds:,.0f} | {ours_seconds / seconds:.1f} |")


if __name__ == "__main__":
    main()
