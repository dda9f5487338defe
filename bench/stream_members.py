"""Benchmark: stream every active member of a 1,000,000-member database through `Store.subscribers()`.

    .venv/bin/python bench/stream_members.py --count 1000000

Builds the database once (bench/generate_members.py, seed 1, then `Store.import_csv`, which is timed too), then
in a new Python process for each measurement:

- streams all active members in send order, touching every field, and reports the time and the process's
  peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), and the peak before streaming (Python
  and the imports alone); the budget is 200 MB;
- the same with ``tracemalloc``, for the peak of Python allocations while streaming;
- a segment (``district=3 tag=volunteer``) and ``count()``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def child(database: Path, segment: str | None, trace: bool) -> None:
    import resource
    import tracemalloc

    from actionmail.audience import Segment, Store

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    members = chars = 0
    with Store.open(database) as store:
        chosen = Segment.parse(segment) if segment else None
        for member in store.subscribers(chosen):
            members += 1
            chars += len(member.email) + len(member.name) + len(member.tags) + len(member.fields)
        seconds = time.perf_counter() - start
        count_start = time.perf_counter()
        counted = store.count(chosen)
        count_seconds = time.perf_counter() - count_start
    traced = tracemalloc.get_traced_memory()[1] if trace else 0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert counted == members
    print(
        json.dumps(
            {
                "members": members,
                "seconds": seconds,
                "count_seconds": count_seconds,
                "maxrss_before_mb": before / 1024,
                "maxrss_mb": after / 1024,
                "tracemalloc_peak_mb": traced / 1e6,
            }
        )
    )


def measure(database: Path, segment: str | None = None, trace: bool = False) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(database)]
    command += ["--segment", segment] if segment else []
    command += ["--trace"] if trace else []
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout))


def build(database: Path, count: int) -> None:
    sys.path.insert(0, str(BENCH))
    from generate_members import generate

    from actionmail.audience import Store

    source = database.with_suffix(".csv")
    if not source.exists():
        start = time.perf_counter()
        with source.open("w", encoding="utf-8", newline="") as out:
            generate(out, count, seed=1)
        print(f"generated {source} in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    with Store.open(database) as store:
        report = store.import_csv(source, known_districts=[str(n) for n in range(1, 8)])
    seconds = time.perf_counter() - start
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = count / seconds
    print(f"built {database}: {report.summary} in {seconds:.1f} s ({rate:,.0f} rows/s), peak RSS {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "actionmail-bench")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--segment", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.segment, args.trace)
        return
    if args.build:
        build(args.build, args.count)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    database = args.dir / f"members-{args.count}.db"
    if not database.exists():
        # In its own process: a child forked from a process that grew keeps its peak (ru_maxrss) on Linux.
        subprocess.run([sys.executable, __file__, "--build", str(database), "--count", str(args.count)], check=True)
    print(f"{database}: {database.stat().st_size / 1e6:.0f} MB")
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.platform()}\n")
    print("| What | Members | Seconds | Members/s | Peak RSS before | Peak RSS | tracemalloc peak |")
    print("|:---|---:|---:|---:|---:|---:|---:|")
    cases = [("all active members", None), ("segment `district=3 tag=volunteer`", "district=3 tag=volunteer")]
    for what, segment in cases:
        run = measure(database, segment)
        traced = measure(database, segment, trace=True)
        print(
            f"| {what} | {run['members']:,} | {run['seconds']:.1f} | {run['members'] / run['seconds']:,.0f} | "
            f"{run['maxrss_before_mb']:.0f} MB | {run['maxrss_mb']:.0f} MB | {traced['tracemalloc_peak_mb']:.2f} MB |"
        )
        print(f"|   `count()` of the same | {run['members']:,} | {run['count_seconds']:.2f} | | | | |")


if __name__ == "__main__":
    main()
