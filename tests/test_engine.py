"""Parts of the send engine that are about time, tested on a clock we control; and how many calls it makes at once."""

from __future__ import annotations

import collections
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from actionmail.config.providers import ProviderSettings
from actionmail.delivery import Ledger, Pace, State
from actionmail.delivery.engine import Engine, Job, Pacer
from actionmail.providers.base import Batch, BatchResult, Provider, Recipient
from tests.contract import batch
from tests.test_ledger import queue


def test_each_call_waits_for_its_slot_of_the_send_s_pace(tmp_path: Path) -> None:
    queue(tmp_path / "ledger.db", 10, seed=1)
    ledger = Ledger(tmp_path / "ledger.db")
    ledger.start_pace(1, 100.0)
    slept: list[float] = []
    pacer = Pacer(ledger, 1, 100.0, slept.append)
    for _ in range(3):  # 300 messages in calls of 100 at 100/s: the first second's worth at once, then a second each
        pacer.acquire(100)
    ledger.close()
    assert len(slept) == 2 and slept[0] == pytest.approx(1.0, abs=0.2) and slept[1] == pytest.approx(2.0, abs=0.2)


def test_without_a_rate_the_database_is_not_asked(tmp_path: Path) -> None:
    queue(tmp_path / "ledger.db", 10, seed=1)
    ledger = Ledger(tmp_path / "ledger.db")
    ledger.close()  # any statement would raise
    slept: list[float] = []
    pacer = Pacer(ledger, 1, None, slept.append)
    for _ in range(100):
        pacer.acquire(1000)
    assert slept == []


class Slow(Provider):
    """Takes 20 ms a call, and counts how many calls are under way at once."""

    name = "slow"
    max_batch = 10

    def __init__(self) -> None:
        super().__init__(ProviderSettings())
        self.lock = threading.Lock()
        self.now = self.most = 0

    def send(self, batch: Batch) -> BatchResult:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.02)
        with self.lock:
            self.now -= 1
        return BatchResult(accepted={r.key: f"<{batch.id}>" for r in batch.recipients})


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_caps_the_calls_under_way(tmp_path: Path, concurrency: int) -> None:
    rows = queue(tmp_path / "ledger.db", 400, seed=6)
    ledger = Ledger(tmp_path / "ledger.db")
    provider = Slow()
    engine = Engine(provider, ledger, 1, Pace(concurrency=concurrency))
    jobs = (
        Job(batch([Recipient(str(i), f"m{i}@example.org", None, {}) for i in ids], uuid.uuid4().hex), tuple(ids))
        for _, ids in ledger.batches(1, [State.QUEUED, State.FAILED], provider.max_batch)
    )
    outcome = engine.run(jobs)
    counts = ledger.counts(1)
    ledger.close()

    assert provider.most == concurrency
    sendable = sum(state in (State.QUEUED, State.FAILED) for _, state in rows.values())
    before = collections.Counter(state for _, state in rows.values())
    assert outcome.accepted == sendable and counts[State.ACCEPTED] == before[State.ACCEPTED] + sendable
    assert counts[State.QUEUED] == counts[State.FAILED] == 0
    assert counts[State.IN_FLIGHT] == before[State.IN_FLIGHT]  # an earlier run's, untouched: not this queue


def test_an_outcome_that_cannot_be_written_stops_the_send(tmp_path: Path) -> None:
    """Outcomes are written by a thread of their own: its failure must end the send, not vanish with it."""

    class Full(Ledger):
        def mark(self, send_id: int, subscriber_ids: Sequence[int], state: State, **kwargs: Any) -> None:
            if state == State.ACCEPTED:
                raise sqlite3.OperationalError("database or disk is full")
            super().mark(send_id, subscriber_ids, state, **kwargs)

    rows = queue(tmp_path / "ledger.db", 100, seed=8)
    ledger = Full(tmp_path / "ledger.db")
    engine = Engine(Slow(), ledger, 1, Pace(concurrency=2))
    jobs = (
        Job(batch([Recipient(str(i), f"m{i}@example.org", None, {}) for i in ids], uuid.uuid4().hex), tuple(ids))
        for _, ids in ledger.batches(1, [State.QUEUED, State.FAILED], 10)
    )
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        engine.run(jobs)
    counts = ledger.counts(1)
    ledger.close()
    before = collections.Counter(state for _, state in rows.values())
    assert counts[State.ACCEPTED] == before[State.ACCEPTED]
    assert counts[State.IN_FLIGHT] > before[State.IN_FLIGHT]  # sent, not recorded: uncertain on the next run
