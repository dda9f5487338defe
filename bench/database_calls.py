"""Benchmark: what the ledger's and the store's calls in a send cost on SQLite and on PostgreSQL.

    .venv/bin/python bench/database_calls.py   # after bench/send_throughput.py --count 100000 --work /tmp/bench-pg

Queues a send of the 100,000 benchmark members on each database (PostgreSQL: a throwaway durable cluster, the
members copied in with `db copy`'s code), then times reading the batches' ids, the members' last check
(`Store.sendable`) for 20 batches, marking those 20 in flight and then accepted, and 1,000 reservations of the
send's pace (`Ledger.reserve`, made before each call of a send with a rate).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench.send_throughput import postgres_copy  # noqa: E402

from actionmail import database  # noqa: E402
from actionmail.audience import Store  # noqa: E402
from actionmail.delivery import Ledger, State  # noqa: E402


def measure(location: database.Location) -> None:
    store, ledger = Store.open(location), Ledger(location)
    try:
        send = ledger.create_send("bench", f"h{time.time()}", None)
        where, params = store.send_filter()
        start = time.perf_counter()
        queued = ledger.enqueue(send, "'v'", [], where, params)
        queued_at = time.perf_counter()
        batches = list(ledger.batches(send.id, [State.QUEUED], 1000))
        read_at = time.perf_counter()
        for _, ids in batches[:20]:
            store.sendable(ids)
        checked_at = time.perf_counter()
        for _, ids in batches[:20]:
            ledger.mark(send.id, ids, State.IN_FLIGHT, batch="b", provider="p")
            ledger.mark(send.id, ids, State.ACCEPTED, provider_ids=dict.fromkeys(ids, "m"))
        marked_at = time.perf_counter()
        ledger.start_pace(send.id, 1e9)
        for _ in range(1000):  # a rate never reached: what a send with a rate adds to each call
            ledger.reserve(send.id, 1e-9)
        reserved_at = time.perf_counter()
    finally:
        ledger.close()
        store.close()
    print(
        f"{database.describe(location)}: queued {queued:,} in {queued_at - start:.3f} s; "
        f"{len(batches)} batches' ids {read_at - queued_at:.3f} s; sendable x20 {checked_at - read_at:.3f} s; "
        f"marks x20 (in flight, accepted) {marked_at - checked_at:.3f} s; "
        f"the send's pace reserved x1000 {reserved_at - marked_at:.3f} s"
    )


def main() -> None:
    built = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench-pg/send-members-100000.db")
    scratch = Path(tempfile.mkdtemp(prefix="actionmail-calls-"))
    members = scratch / built.name  # a copy: the sends made here stay out of the send benchmark's members
    shutil.copy(built, members)
    cluster, url = postgres_copy(members)
    try:
        measure(members)
        measure(url)
    finally:
        cluster.stop()
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
