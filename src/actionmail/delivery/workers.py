"""Worker processes for a big send (``send --workers N``): each builds and sends its part of the queue.

One Python process builds a batch's messages (members, tokens, the provider's payload) on one core; past about
100,000 recipients that, not the network, is what a send waits for. How the N processes divide the queue:

- PostgreSQL: they claim it a batch at a time (:meth:`Ledger.claim`: ``SELECT … FOR UPDATE SKIP LOCKED``, the
  rows marked in flight in the same transaction), so a worker that is slower, or dies, leaves the rest of the
  queue to the others, and the database may be shared by several hosts' workers without their claims waiting on
  each other;
- SQLite: each takes the recipients whose subscriber id is k modulo N (:meth:`Ledger.batches` with a share): the
  shares never overlap, whatever state the others' rows are in, so no claims and no coordination; a killed
  worker's share is left for the next run.

Either way each worker keeps the one-process rules of :mod:`actionmail.delivery.engine` (in flight before the
call, its outcome after, each committed).

The parent holds the send lock, plans, queues, and repeats an idempotent provider's uncertain calls first; then
starts the workers (spawned: a fresh interpreter, no inherited connections or locks), which load the newsletter
again and refuse to send if its content hash is not the one the parent planned. Each holds a lock of its own
(:data:`WORKER_LOCK` number k, which no other worker holds: a send does not start while any is held) while it
sends, so that if the parent is killed, no new send starts until the workers have finished; its claims are
recorded under that lock's name. A worker killed mid-call leaves its batch in flight: with claims, the parent
makes it uncertain as soon as it sees the worker gone (the rows of the workers still alive are left alone:
:meth:`Ledger.recover` with ``spare_live``); every row still in flight is made uncertain when the workers are
done, as a killed one-process send's would be.
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import os
import queue
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from actionmail import database
from actionmail.database import locks
from actionmail.delivery.engine import Outcome, Pace
from actionmail.delivery.ledger import WORKER_LOCK, Ledger, SendRecord, State, owner
from actionmail.errors import ActionmailError
from actionmail.providers.base import Provider

READY_TIMEOUT = 120.0  # seconds for a worker to start, load and render the newsletter, and take its lock


class WorkerStopped(ActionmailError):
    """A worker process stopped the send (a provider's permanent error, as it said it), or died."""


@dataclass(frozen=True)
class Task:
    """What a worker is given: where everything is, and what to check it against (no object crosses over)."""

    newsletter: str
    database: str
    segment: str | None
    send_id: int
    content_hash: str  # of the emails as the parent rendered them, for sent_on: what the worker's must be
    provider: str
    max_batch: int
    pace: Pace
    secret: bytes
    send_at: dt.datetime | None
    sent_on: dt.date | None  # the day the send renders its countdowns for (Edition.going_out_on)
    share: tuple[int, int]  # (k, N): worker k of N; its lock's number, and with modulo shares its share
    parent: int
    claims: bool  # claim batches from the one queue (PostgreSQL), rather than send the share k modulo N


def claims(location: database.Location) -> bool:
    """Whether the workers of a send on this database claim their batches (see the module's docstring)."""
    return database.is_postgres(location)


AUTO_FROM = 50_000  # recipients left from which a send uses worker processes unless told how many
MOST = 4  # worker processes at most unless told: past that, the provider's concurrency limits, not the cores


def how_many(asked: int | None, left: int, batch: int) -> int:
    """The worker processes a send of ``left`` recipients in batches of ``batch`` uses: ``asked`` (--workers), or
    for a big send one for every two cores, up to :data:`MOST`; never more than it has batches; 1 means none
    (in-process). On two cores, two workers were no faster than one process (docs/performance.md): a worker's
    start (an interpreter, the imports, every variant rendered again) is paid before its first call, and the
    parent, the workers and the provider's connections share the same cores."""
    default = min((os.cpu_count() or 1) // 2, MOST) if left >= AUTO_FROM else 1
    wanted = asked if asked is not None else default
    return max(1, min(wanted, math.ceil(left / max(1, batch))))


def share_pace(pace: Pace, workers: int) -> Pace:
    """Each worker's part of the send's concurrency, so that together they keep to the send's. Not of its rate:
    that is kept by all of them together, through the database (:class:`actionmail.delivery.engine.Pacer`)."""
    return replace(pace, concurrency=max(1, math.ceil(pace.concurrency / workers)))


def run(
    plan: Any,  # actionmail.delivery.Plan
    ledger: Ledger,
    provider: Provider,
    pace: Pace,
    secret: bytes,
    send: SendRecord,
    workers: int,
    progress: Callable[[int], None],
    outcome: Outcome,
) -> Outcome:
    """Send the queue of ``send`` through ``workers`` processes; add what they did to ``outcome``."""
    context = multiprocessing.get_context("spawn")
    events: Any = context.Queue()
    tasks = [
        Task(str(plan.edition.path), str(ledger.location), plan.segment, send.id, plan.content_hash, provider.name,
             provider.max_batch, share_pace(pace, workers), secret, plan.send_at, plan.edition.sent_on, (k, workers),
             os.getpid(), claims(ledger.location))
        for k in range(workers)
    ]  # fmt: skip
    processes = [context.Process(target=work, args=(task, events), name=f"actionmail-send-{task.share[0]}")
                 for task in tasks]  # fmt: skip
    for process in processes:
        process.start()
    finished: set[int] = set()
    try:
        while len(finished) < workers:
            try:
                event = events.get(timeout=0.5)
            except queue.Empty:
                dead = [k for k, process in enumerate(processes) if k not in finished and not process.is_alive()]
                if not events.empty():  # a worker's last events are written before it exits: read them first
                    continue
                for k in dead:
                    finished.add(k)
                    outcome.stopped = outcome.stopped or WorkerStopped(
                        f"worker {k} of {workers} ended without finishing (exit code {processes[k].exitcode}): what "
                        "it had in flight is uncertain; "
                        + (
                            "the workers still running send the rest"
                            if tasks[k].claims
                            else "run the send again for the rest"
                        )
                    )
                if dead and tasks[0].claims:
                    # Its claims are uncertain now, not when the others are done: `status` tells the truth
                    # meanwhile, and the others' calls in flight are theirs still.
                    ledger.recover(send.id, spare_live=True)
                continue
            kind, k, value = event
            if kind == "progress":
                progress(value)
            elif kind == "done":
                finished.add(k)
                counts, stopped = value
                for state, number in counts.items():
                    outcome.add(State(state), number)
                if stopped and outcome.stopped is None:
                    outcome.stopped = WorkerStopped(stopped)
    finally:
        for process in processes:
            process.join()
        events.close()
    # A worker that died mid-call left its batch in flight: uncertain now, as on a rerun. With claims, only those of
    # the dead: a process that joined from another host (`send --join`) may still be sending.
    ledger.recover(send.id, spare_live=tasks[0].claims)
    return outcome


def work(task: Task, events: Any) -> None:
    """A worker process: send one share of the queue, reporting progress and, at the end, its counts."""
    k, _ = task.share
    lock = locks.Lock(database.parse(task.database), WORKER_LOCK, k)
    if not lock.acquire(timeout=READY_TIMEOUT):
        events.put(("done", k, ({}, f"worker {k}: another send's worker holds its lock")))
        return
    try:
        if os.getppid() != task.parent:  # the send that started it is gone: another may have begun since
            events.put(("done", k, ({}, f"worker {k}: the send that started it had stopped")))
            return
        events.put(("done", k, _send_share(task, events)))
    except ActionmailError as e:
        events.put(("done", k, ({}, f"worker {k}: {e}")))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: calls under way were finished and recorded
        events.put(("done", k, ({}, f"worker {k}: interrupted")))
    finally:
        lock.release()


def _send_share(task: Task, events: Any) -> tuple[dict[str, int], str | None]:
    from actionmail import providers, variants
    from actionmail.audience import Store
    from actionmail.delivery import Batches, Plan, render_all

    k, _ = task.share
    edition = replace(variants.load_edition(Path(task.newsletter)), sent_on=task.sent_on)
    rendered, content_hash = render_all(edition)
    if content_hash != task.content_hash:
        return {}, f"worker {k}: {edition.path.name} changed while the send started: run it again"
    issue = edition.path.stem
    plan = Plan(edition, issue, content_hash, rendered, {}, task.segment, None, None, task.send_at)
    provider = providers.build(edition.project, task.provider)
    provider.max_batch = task.max_batch  # type: ignore[misc]  # as the parent's (tests send small batches)
    location = database.parse(task.database)
    try:
        with Store.open(location) as store:
            ledger = Ledger(location)
            try:
                send = next(s for s in ledger.sends(issue) if s.id == task.send_id)
                batches = Batches.of(plan, store, ledger, provider, send, task.pace, task.secret)
                jobs = batches.claimed(owner(k)) if task.claims else batches.queued(task.share)
                outcome = batches.engine.run(jobs, lambda n: events.put(("progress", k, n)))
            finally:
                ledger.close()
    finally:
        provider.close()
    counts = {state.value: getattr(outcome, state.value) for state in State if hasattr(outcome, state.value)}
    return counts, str(outcome.stopped) if outcome.stopped else None
