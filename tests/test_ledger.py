"""The ledger's reads and writes that a send makes per batch, against a real database."""

from __future__ import annotations

import collections
import random
import sqlite3
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
