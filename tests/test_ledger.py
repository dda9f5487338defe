"""The ledger's reads and writes that a send makes per batch, against a real database."""

from __future__ import annotations

import collections
import random
import sqlite3
import threading
from pathlib import Path

import pytest

from actionmail.audience import Store, schema
from actionmail.delivery import Ledger, State

VARIANTS = ["en|", "en|3", "es|", "es|7"]


def queue(path: Path, count: int, seed: int) -> dict[int, tuple[str, State]]:
    """A send of ``count`` recipients with variants of uneven size, in every state; returns id → (variant, state)."""
    rng = random.Random(seed)
    rows = {}
    for subscriber_id in rng.sample(range(1, count * 3), count):
        variant = rng.choices(VARIANTS, weights=[60, 25, 10, 5])[0]
        rows[subscriber_id] = (variant, rng.choices(list(State), weights=[70, 1, 10, 10, 5, 4])[0])
    with Store.open(path) as store:
        store._db.execute("INSERT INTO sends (issue, content_hash, created_at) VALUES ('x', 'h', 'now')")
        store._db.executemany(
            "INSERT INTO deliveries (send_id, subscriber_id, email, variant, state, updated_at) "
            "VALUES (1, ?, ?, ?, ?, 'now')",
            [(i, f"m{i}@example.org", variant, state) for i, (variant, state) in rows.items()],
        )
    return rows


def test_batches_take_every_queued_or_failed_recipient_once_in_batches_of_one_variant(tmp_path: Path) -> None:
    rows = queue(tmp_path / "ledger.db", 2_500, seed=4)
    ledger = Ledger(tmp_path / "ledger.db")
    batches = list(ledger.batches(1, [State.QUEUED, State.FAILED], 100))
    ledger.close()

    taken = [i for _, ids in batches for i in ids]
    assert len(taken) == len(set(taken))
    assert set(taken) == {i for i, (_, state) in rows.items() if state in (State.QUEUED, State.FAILED)}
    short: collections.Counter[str] = collections.Counter()
    for variant, ids in batches:
        assert 0 < len(ids) <= 100 and ids == sorted(ids)
        assert {rows[i][0] for i in ids} == {variant}
        short[variant] += len(ids) < 100
    assert set(short) == set(VARIANTS) and max(short.values()) <= 1  # only each variant's last batch is short


def test_marking_a_batch_moves_exactly_its_rows(tmp_path: Path) -> None:
    rows = queue(tmp_path / "ledger.db", 1_200, seed=5)
    ledger = Ledger(tmp_path / "ledger.db")
    variant, ids = next(ledger.batches(1, [State.QUEUED], 200))
    ledger.mark(1, ids, State.IN_FLIGHT, batch="b1", provider="fake")
    ledger.mark(1, ids, State.ACCEPTED, provider_ids=dict.fromkeys(ids, "<one@id>"))
    ledger.mark(1, [], State.UNCERTAIN, reason="nothing to mark")
    after = {row.subscriber_id: row for row in ledger.pending(1, list(State), page=10_000)}
    ledger.close()

    assert len(ids) == 200
    for subscriber_id, (_, state) in rows.items():
        row = after[subscriber_id]
        if subscriber_id in ids:
            assert (row.state, row.batch, row.variant) == (State.ACCEPTED, "b1", variant)
        else:
            assert (row.state, row.batch) == (state, None)


@pytest.mark.sqlite_only  # the SQLite file's own schema
def test_a_ledger_from_before_the_rows_were_ordered_by_variant_comes_along(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.db"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])  # the ledger as it was first made
        rows = queue(path, 300, seed=7)
    ledger = Ledger(path)
    before = {row.subscriber_id: row for row in ledger.pending(1, list(State), page=10_000)}
    ledger.close()

    Store.open(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (len(schema.MIGRATIONS),)
    primary_key = sorted((pk, name) for _, name, _, _, _, pk in db.execute("PRAGMA table_info(deliveries)") if pk)
    assert [name for _, name in primary_key] == ["send_id", "variant", "subscriber_id"]
    with pytest.raises(sqlite3.IntegrityError):  # still one row per member per send, whatever the variant
        db.execute(
            "INSERT INTO deliveries (send_id, subscriber_id, email, variant, state, updated_at) "
            "VALUES (1, ?, 'x@example.org', 'other|', 'queued', 'now')",
            (next(iter(rows)),),
        )
    db.close()
    ledger = Ledger(path)
    after = {row.subscriber_id: row for row in ledger.pending(1, list(State), page=10_000)}
    ledger.close()
    assert after == before and len(after) == 300


@pytest.mark.sqlite_only  # SQLite's query plan and durability settings
def test_a_batch_marked_in_flight_is_written_through_to_the_disk_and_nothing_else_is(tmp_path: Path) -> None:
    """synchronous=NORMAL loses the last commits to a power cut: harmless for an outcome (the batch reads as in
    flight, so uncertain), but a lost in-flight mark would read as queued, and be sent again."""
    queue(tmp_path / "ledger.db", 300, seed=6)
    ledger = Ledger(tmp_path / "ledger.db")
    _, ids = next(ledger.batches(1, [State.QUEUED], 100))
    statements: list[str] = []
    ledger._db.set_trace_callback(statements.append)
    ledger.mark(1, ids, State.IN_FLIGHT, batch="b1", provider="fake")
    in_flight = statements[:]
    statements.clear()
    ledger.mark(1, ids, State.ACCEPTED, provider_ids=dict.fromkeys(ids, "<one@id>"))
    ledger._db.set_trace_callback(None)
    synchronous = ledger._db.execute("PRAGMA synchronous").fetchone()[0]
    ledger.close()

    assert [s.split(" SET")[0] for s in in_flight] == [
        "PRAGMA synchronous = FULL", "UPDATE deliveries", "PRAGMA synchronous = NORMAL"
    ]  # fmt: skip
    assert not any("synchronous" in s for s in statements)
    assert synchronous == 1  # NORMAL again for everything else


# --- the send's pace (Ledger.reserve), on the database's own clock ------------------------------------------------
def database_clock(ledger: Ledger) -> float:
    (now,) = ledger._db.execute(f"SELECT {ledger._db.dialect.clock()}").fetchone()
    return float(now)


EPSILON = 0.005  # SQLite's clock keeps milliseconds


def test_a_second_s_worth_goes_at_once_then_each_call_waits_for_what_was_reserved_before_it(tmp_path: Path) -> None:
    queue(tmp_path / "ledger.db", 10, seed=8)
    ledger = Ledger(tmp_path / "ledger.db")
    ledger.start_pace(1, 50.0)
    start = database_clock(ledger)
    waits = [ledger.reserve(1, seconds) for seconds in (0.4, 0.4, 0.4, 1.0, 2.4)]
    elapsed = database_clock(ledger) - start
    assert ledger.rate(1) == 50.0
    ledger.close()
    # Had no time passed: what was reserved before each call and by it, less the second that may go at once.
    for wait, reserved in zip(waits, [0, 0, 0.2, 1.2, 3.6], strict=True):
        assert max(0.0, reserved - elapsed) - EPSILON <= wait <= reserved + EPSILON, waits


def test_an_idle_pace_lets_no_more_than_a_second_s_worth_go_at_once(tmp_path: Path) -> None:
    queue(tmp_path / "ledger.db", 10, seed=9)
    ledger = Ledger(tmp_path / "ledger.db")
    ledger.start_pace(1, 10.0)
    ledger._db.execute("UPDATE sends SET next_slot = 0 WHERE id = 1")  # idle since 1970: no credit banked
    assert ledger.reserve(1, 1.5) == pytest.approx(0.5, abs=EPSILON)
    ledger.close()


def test_a_send_s_own_process_starts_its_pace_afresh(tmp_path: Path) -> None:
    """Slots reserved by an earlier run, killed before it used them, are not waited for by the next."""
    queue(tmp_path / "ledger.db", 10, seed=10)
    ledger = Ledger(tmp_path / "ledger.db")
    ledger.start_pace(1, 10.0)
    ledger.reserve(1, 1.0)
    assert ledger.reserve(1, 30.0) == pytest.approx(30.0, abs=0.5)
    ledger.start_pace(1, None)
    assert ledger.rate(1) is None and ledger.reserve(1, 0.5) == 0.0
    ledger.close()


def test_reservations_made_at_once_from_several_connections_are_none_of_them_lost(tmp_path: Path) -> None:
    queue(tmp_path / "ledger.db", 10, seed=11)
    ledger = Ledger(tmp_path / "ledger.db")
    ledger.start_pace(1, 1.0)
    start = database_clock(ledger)
    ready = threading.Barrier(4)

    def reserver() -> None:
        own = Ledger(tmp_path / "ledger.db")  # a process's connection of its own
        try:
            ready.wait()
            for _ in range(50):
                own.reserve(1, 0.01)
        finally:
            own.close()

    threads = [threading.Thread(target=reserver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    (next_slot,) = ledger._db.execute("SELECT next_slot FROM sends WHERE id = 1").fetchone()
    end = database_clock(ledger)
    ledger.close()
    # 200 reservations of 0.01 s from the first one's moment on: a reservation lost to another's would leave less.
    assert start + 2.0 - EPSILON <= next_slot <= end + 2.0 + EPSILON
