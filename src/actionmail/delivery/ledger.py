"""The ledger: every send, and where each of its recipients stands, in the subscriber database.

A send is one newsletter (its ``issue``, the file's stem) at one content hash. Each recipient moves
``queued → in_flight → accepted | failed | uncertain`` (or ``skipped``, when they unsubscribed after the send
was planned). The engine writes before and after every provider call, each in its own committed transaction,
so a crash at any instant leaves a truthful record:

- ``in_flight`` rows found when a send starts were in a call that never finished: they become ``uncertain``
  (keeping their batch id, the idempotency key of that call);
- worker processes take their batches with :meth:`Ledger.claim`: rows taken from the queue and marked in flight
  in one transaction, under the worker's name (``claimed_by``), so that two workers never take the same row, and
  a worker that died is told from one still sending (:meth:`Ledger.recover` with ``spare_live``);
- ``accepted`` rows are never sent again, by this send or a later version of the same issue.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

import orjson

from actionmail import database
from actionmail.database import Connection, Location, transaction

# The locks a send holds (actionmail.database.locks): the send's, and each of its worker processes'.
SEND_LOCK = "send-lock"
WORKER_LOCK = "send-worker"


# Seconds of a send's rate that may go at once (Ledger.reserve): a second's worth, as a token bucket of one
# second's tokens allows.
BURST = 1.0


def owner(number: int) -> str:
    """The name a worker holding lock :data:`WORKER_LOCK` ``number`` claims rows under (``claimed_by``)."""
    return f"{WORKER_LOCK}:{number}"


def _owner_number(name: str) -> int | None:
    lock, _, number = name.rpartition(":")
    return int(number) if lock == WORKER_LOCK and number.isdecimal() else None


class State(StrEnum):
    QUEUED = "queued"
    IN_FLIGHT = "in_flight"
    ACCEPTED = "accepted"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class SendRecord:
    id: int
    issue: str
    content_hash: str
    segment: str | None
    created_at: str
    finished_at: str | None
    pruned_at: str | None = None  # when its recipients' rows were dropped (`actionmail prune`); its counts stay
    # The day its emails were first rendered for (ISO date, the organization's): what its content hash is of.
    # None for a send made before the ledger kept it.
    sent_on: str | None = None


@dataclass(frozen=True)
class Pruned:
    """What :meth:`Ledger.prune` did, or would do, to one send."""

    send: SendRecord
    counts: dict[State, int]


@dataclass(frozen=True)
class Row:
    subscriber_id: int
    email: str
    variant: str
    state: State
    batch: str | None
    reason: str | None


@dataclass(frozen=True)
class Uncertain:
    """A recipient whose call was interrupted: the provider may or may not have sent them the message."""

    send_id: int
    issue: str
    subscriber_id: int
    email: str
    provider_id: str | None  # the message id, where the provider gave one before the call was cut
    called_at: str  # when the call was made (ISO 8601, UTC)


# A SendRecord:
_SENDS = "SELECT id, issue, content_hash, segment, created_at, finished_at, pruned_at, sent_on FROM sends"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Ledger:
    """Thread-safe: one connection, one lock; every method is one committed transaction."""

    def __init__(self, location: Location) -> None:
        # The database exists and is migrated: audience.Store.open ran first.
        self.location = database.locate(location)
        # SQLite: WAL with synchronous=NORMAL: a committed transaction survives the process being killed; only a
        # power cut can lose the latest ones, and then an accepted batch reads as in flight, so uncertain: never
        # sent twice. The one write whose loss could send twice, a batch marked in flight before its call, is
        # written through to the disk (see mark): one fsync a call, not two.
        self._db = database.connect(self.location, any_thread=True)
        self._db.dialect.relax(self._db)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One committed write transaction, holding the lock: threads never interleave their statements."""
        with self._lock, transaction(self._db) as db:
            yield db

    # --- sends ----------------------------------------------------------------------------------------------
    def sends(self, issue: str) -> list[SendRecord]:
        with self._lock:
            rows = self._db.execute(
                f"{_SENDS} WHERE issue = ? ORDER BY id",
                (issue,),
            ).fetchall()
        return [SendRecord(*row) for row in rows]

    def create_send(
        self, issue: str, content_hash: str, segment: str | None, sent_on: dt.date | None = None
    ) -> SendRecord:
        """A new send of ``issue``, its emails rendered for ``sent_on`` (the day they go out) to ``content_hash``."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO sends (issue, content_hash, segment, created_at, sent_on) VALUES (?, ?, ?, ?, ?)",
                (issue, content_hash, segment, _now(), sent_on.isoformat() if sent_on else None),
            )
        return next(s for s in self.sends(issue) if s.content_hash == content_hash)

    def finish(self, send_id: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE sends SET finished_at = ? WHERE id = ? AND finished_at IS NULL", (_now(), send_id))

    # --- pace: the send's rate, kept by every process sending it together -----------------------------------
    def start_pace(self, send_id: int, rate: float | None) -> None:
        """The send's own process, as it starts: the send's rate (None: as fast as the provider takes), which a
        process joining it keeps to as well, and its pace started afresh. Nobody else sends it at this moment (it
        holds the send lock, and no worker of an earlier run is left), so slots an earlier run reserved and never
        used are not waited for."""
        with self._transaction() as db:
            db.execute("UPDATE sends SET rate = ?, next_slot = NULL WHERE id = ?", (rate, send_id))

    def rate(self, send_id: int) -> float | None:
        """The rate the send's own process keeps it to (:meth:`start_pace`)."""
        with self._lock:
            (rate,) = self._db.execute("SELECT rate FROM sends WHERE id = ?", (send_id,)).fetchone()
        return None if rate is None else float(rate)

    def reserve(self, send_id: int, seconds: float) -> float:
        """Reserve ``seconds`` of the send's pace for one call (its messages divided by the rate), shared with every
        process sending it, on this host or another; returns how long to wait before making the call.

        The call's slot is the pace's next free moment, or now if that has passed; the next free moment moves on
        by ``seconds``. A call goes once the pace is no more than :data:`BURST` ahead of the clock, so an idle send
        may make a second's worth of calls at once, and in any stretch of time the send makes no more than the
        rate allows plus that second's worth: the token bucket each process used to keep on its own (a call
        larger than a second's worth waits for all of it). One statement on one row, so reservations never
        interleave (PostgreSQL locks the row; SQLite has one writer), by the database's clock (hosts' clocks
        differ); the wait is slept on the caller's own."""
        now = self._db.dialect.clock()
        with self._lock:
            rows = self._db.execute(
                f"UPDATE sends SET next_slot = CASE WHEN next_slot > {now} THEN next_slot ELSE {now} END + ? "
                f"WHERE id = ? RETURNING next_slot - {now} - ?",
                (seconds, send_id, BURST),
            ).fetchall()  # all: sqlite3 commits a statement with RETURNING once its rows are read
        return max(0.0, float(rows[0][0]))

    # --- recipients -----------------------------------------------------------------------------------------
    def enqueue(
        self, send: SendRecord, variant: str, variant_params: Sequence[object], members: str, params: Sequence[object]
    ) -> int:
        """Queue this send's recipients in one statement, inside SQLite: the members that ``members`` selects (a
        WHERE clause over ``subscribers s``), each under the variant label the SQL expression ``variant`` gives,
        less anyone an earlier version of the same issue reached or may have reached. Returns how many were
        queued. No member is read into Python, however long the list."""
        sql = (
            "INSERT INTO deliveries (send_id, subscriber_id, email, variant, state, updated_at) "
            f"SELECT ?, s.id, s.email, {variant}, 'queued', ? FROM subscribers s WHERE {members} "
            "AND s.id NOT IN (SELECT d.subscriber_id FROM deliveries d JOIN sends x ON x.id = d.send_id "
            "WHERE x.issue = ? AND x.id != ? AND d.state IN ('accepted', 'uncertain', 'in_flight')) "
            "ON CONFLICT DO NOTHING"
        )
        values = (send.id, *variant_params, _now(), *params, send.issue, send.id)
        with self._transaction() as db:
            queued = int(db.execute(sql, values).rowcount)
        self._db.dialect.analyze(self._db, "deliveries")
        return queued

    def unreached(self, issue: str, send_id: int | None, members: str, params: Sequence[object]) -> int:
        """How many of the members ``members`` selects :meth:`enqueue` would queue now for send ``send_id`` of
        ``issue`` (None: a send not made yet): those not in it already, and not reached by another version of
        the issue. For a send under way, the members who joined (or came back) since it started."""
        sql = (
            f"SELECT count(*) FROM subscribers s WHERE {members} "
            "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.send_id = ? AND d.subscriber_id = s.id) "
            "AND s.id NOT IN (SELECT d.subscriber_id FROM deliveries d JOIN sends x ON x.id = d.send_id "
            "WHERE x.issue = ? AND x.id != ? AND d.state IN ('accepted', 'uncertain', 'in_flight'))"
        )
        mine = -1 if send_id is None else send_id  # no send has the id -1
        with self._lock:
            (number,) = self._db.execute(sql, (*params, mine, issue, mine)).fetchone()
        return int(number)

    def owners(self, send_id: int) -> set[str]:
        """Every name a batch of this send was claimed under (:func:`owner`), alive or not."""
        with self._lock:
            return {str(name) for (name,) in self._db.execute(
                "SELECT DISTINCT claimed_by FROM deliveries WHERE send_id = ? AND claimed_by IS NOT NULL", (send_id,)
            )}  # fmt: skip

    def recover(self, send_id: int, *, spare_live: bool = False) -> int:
        """Rows left in flight by a crash become uncertain; returns how many. Their time stays the call's: an
        idempotency key is remembered for a while after the call (see Provider.idempotency_window).

        ``spare_live``: only the rows a worker claimed that is no longer alive (its :data:`WORKER_LOCK` lock is not
        held: the operating system or the server let go of it when it died), while others may still be sending;
        without it, every row in flight, as the one process sending finds them when it starts or ends."""
        if not spare_live:
            with self._transaction() as db:
                return int(db.execute(
                    "UPDATE deliveries SET state = 'uncertain', reason = 'the send stopped during this call' "
                    "WHERE send_id = ? AND state = 'in_flight'",
                    (send_id,),
                ).rowcount)  # fmt: skip
        from actionmail.database import locks

        with self._lock:
            owners = [name for (name,) in self._db.execute(
                "SELECT DISTINCT claimed_by FROM deliveries WHERE send_id = ? AND state = 'in_flight' "
                "AND claimed_by IS NOT NULL",
                (send_id,),
            )]  # fmt: skip
        # A dead worker's lock stays free: its number is not handed to another worker of the same send.
        dead = [
            name
            for name in owners
            if (number := _owner_number(name)) is None or not locks.held(self.location, WORKER_LOCK, number)
        ]
        if not dead:
            return 0
        with self._transaction() as db:
            return int(db.execute(
                "UPDATE deliveries SET state = 'uncertain', reason = 'the worker stopped during this call' "
                f"WHERE send_id = ? AND state = 'in_flight' AND claimed_by IN ({database.marks(len(dead))})",
                (send_id, *dead),
            ).rowcount)  # fmt: skip

    def repeatable(self, send_id: int, since: str | None) -> int:
        """How many uncertain (or in flight) rows were last called at ``since`` or later (None: any time): those an
        idempotent provider may be sent again under the same key."""
        with self._lock:
            (number,) = self._db.execute(
                "SELECT count(*) FROM deliveries WHERE send_id = ? AND state IN ('uncertain', 'in_flight') "
                "AND updated_at >= ?",
                (send_id, since or ""),
            ).fetchone()
        return int(number)

    def requeue_uncertain(self, send_id: int) -> int:
        """For --resend-uncertain: put uncertain rows back in the queue (with a new batch id when sent)."""
        with self._transaction() as db:
            return int(db.execute(
                "UPDATE deliveries SET state = 'queued', batch = NULL, updated_at = ? "
                "WHERE send_id = ? AND state = 'uncertain'",
                (_now(), send_id),
            ).rowcount)  # fmt: skip

    def uncertain(self, provider: str) -> list[Uncertain]:
        """Every send's uncertain recipients whose call went to ``provider``, by send (`actionmail sync` asks the
        provider what became of them)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT d.send_id, x.issue, d.subscriber_id, d.email, d.provider_id, d.updated_at FROM deliveries d "
                "JOIN sends x ON x.id = d.send_id WHERE d.state = 'uncertain' AND d.provider = ? "
                "ORDER BY d.send_id, d.subscriber_id",
                (provider,),
            ).fetchall()
        return [Uncertain(*row) for row in rows]

    def uncertain_calls(self, send_id: int) -> list[tuple[str, int, str]]:
        """A send's uncertain recipients by the provider their call went to: (provider, how many, latest call)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT coalesce(provider, ''), count(*), max(updated_at) FROM deliveries "
                "WHERE send_id = ? AND state = 'uncertain' GROUP BY 1 ORDER BY 1",
                (send_id,),
            ).fetchall()
        return [(str(name), int(number), str(latest)) for name, number, latest in rows]

    def settle(
        self, send_id: int, subscriber_ids: Sequence[int], state: State, reason: str, called_before: str | None = None
    ) -> int:
        """Settle uncertain rows by what the provider said (`actionmail sync`): ``accepted``, where it sent them;
        ``queued``, where it has no trace of them though their call was made at ``called_before`` or earlier (long
        enough ago for its events to show), so the next run sends them. Only rows still uncertain: a send under way
        or an event may have settled them since. Returns how many changed."""
        if state not in (State.ACCEPTED, State.QUEUED):
            raise ValueError(f"an uncertain recipient is settled as accepted or queued, not {state}")
        with self._transaction() as db:
            return sum(
                db.execute(
                    "UPDATE deliveries SET state = ?, batch = CASE WHEN ? = 'queued' THEN NULL ELSE batch END, "
                    "reason = ?, updated_at = ? "
                    "WHERE send_id = ? AND subscriber_id = ? AND state = 'uncertain' AND updated_at <= ?",
                    (state, state, reason, _now(), send_id, subscriber_id, called_before or "9999"),
                ).rowcount
                for subscriber_id in subscriber_ids
            )

    def pending(
        self, send_id: int, states: Sequence[State], page: int = 2000, since: str | None = None
    ) -> Iterator[Row]:
        """Rows in ``states`` (last changed at ``since`` or later), variant by variant, by subscriber (by batch
        within each page): the order batches are made in.

        Read a page at a time, each page its own short read, so that the writes a send makes meanwhile can be
        checkpointed (a read held open for the whole send would let the WAL grow without end and slow every
        write), and so that a million recipients never sit in memory.
        """
        marks = ", ".join("?" * len(states))
        for variant in self._variants(send_id, states):
            after = -1
            while True:
                with self._lock:
                    rows = self._db.execute(
                        "SELECT subscriber_id, email, variant, state, batch, reason FROM deliveries "
                        f"WHERE send_id = ? AND subscriber_id > ? AND variant = ? AND state IN ({marks}) "
                        "AND updated_at >= ? ORDER BY subscriber_id LIMIT ?",
                        (send_id, after, variant, *states, since or "", page),
                    ).fetchall()
                if not rows:
                    break
                after = rows[-1][0]
                # Within a page, rows of one earlier batch stay together (an uncertain batch is resent whole).
                rows.sort(key=lambda r: (r[4] or "", r[0]))
                for sid, email, label, state, batch, reason in rows:
                    yield Row(sid, email, label, State(state), batch, reason)

    def batches(
        self, send_id: int, states: Sequence[State], size: int, share: tuple[int, int] | None = None
    ) -> Iterator[tuple[str, list[int]]]:
        """The subscriber ids in ``states`` as the batches a send makes of its queue: variant by variant, by id,
        ``size`` at a time. Each batch is one short read of adjacent rows (the table is ordered by variant,
        then subscriber), as in :meth:`pending`; ids alone, since a send reads every recipient through here.

        On a connection of its own (WAL: reads never wait for writes), so that the next batch is never held up
        behind the ledger lock while the threads sending earlier ones write their outcomes.

        ``share`` = (k, n): only the subscribers whose id is k modulo n, worker k's of n
        (:mod:`actionmail.delivery.workers`): the n shares never overlap, whatever state the others' rows are in.
        """
        marks = ", ".join("?" * len(states))
        index, workers = share or (0, 1)
        # As one JSON array, not a row at a time: each row would be a return to Python through the GIL.
        sql = (
            f"SELECT {self._db.dialect.json_array_agg('subscriber_id')} FROM (SELECT subscriber_id FROM deliveries "
            f"WHERE send_id = ? AND variant = ? AND subscriber_id > ? AND state IN ({marks}) AND subscriber_id % ? = ? "
            "ORDER BY subscriber_id LIMIT ?) page"
        )
        reader = database.connect(self.location, any_thread=True)
        try:
            for variant in self._variants(send_id, states):
                after = -1
                while True:
                    found = reader.execute(sql, (send_id, variant, after, *states, workers, index, size)).fetchone()
                    if not (ids := orjson.loads(found[0])):
                        break
                    ids.sort()  # an aggregate's order is not promised, though SQLite keeps the subquery's
                    after = ids[-1]
                    yield variant, ids
        finally:
            reader.close()

    def claim(
        self,
        send_id: int,
        states: Sequence[State],
        size: int,
        *,
        batch: str,
        provider: str,
        claimed_by: str,
        after: tuple[str, int] | None = None,
    ) -> tuple[str, list[int]] | None:
        """Take the next batch for a worker: up to ``size`` rows in ``states`` of one variant (the lowest with
        any, after ``after``: the worker's last claim), by subscriber, marked in flight under ``batch`` in one
        committed transaction; their variant and ids, or None when there are none left. The mark is the claim:
        it is on disk before the call (as :meth:`mark` makes an in-flight mark), and no other worker takes a
        row of it.

        PostgreSQL: each row is locked as it is taken, and rows another worker's claim holds are passed over
        (``FOR UPDATE SKIP LOCKED``), so claims go on side by side, without the database-wide write lock; the
        rows are then rechecked as they are written (``state IN``), so a row claimed and committed meanwhile is
        never taken twice. SQLite: the transaction is the one writer of the whole file.

        ``after``: each worker goes through the queue once, as :meth:`batches` does; a row put back in the
        queue behind it (a call refused for now) is left for the next run, not retried at once."""
        marks = ", ".join("?" * len(states))
        dialect = self._db.dialect
        variant, first = after or ("", -1)
        durable = dialect.durable(self._db)
        with self._lock, durable, transaction(self._db, exclusive=False) as db:
            found = db.execute(
                f"SELECT variant, subscriber_id FROM deliveries WHERE send_id = ? AND state IN ({marks}) "
                "AND (variant, subscriber_id) > (?, ?) ORDER BY variant, subscriber_id LIMIT 1"
                f"{dialect.skip_locked()}",
                (send_id, *states, variant, first),
            ).fetchone()
            if found is None:
                return None
            variant, first = found
            # The rows to take are chosen once, in a CTE: PostgreSQL may run a subquery in the WHERE again for
            # each row it updates, and each run would pass over the rows updated so far and take others.
            rows = db.execute(
                "WITH taken AS MATERIALIZED (SELECT subscriber_id FROM deliveries WHERE send_id = ? AND variant = ? "
                f"AND subscriber_id >= ? AND state IN ({marks}) ORDER BY subscriber_id LIMIT ?{dialect.skip_locked()}) "
                "UPDATE deliveries SET state = 'in_flight', batch = ?, provider = ?, provider_id = NULL, "
                "reason = NULL, claimed_by = ?, attempts = attempts + 1, updated_at = ? "
                f"WHERE send_id = ? AND variant = ? AND state IN ({marks}) "
                "AND subscriber_id IN (SELECT subscriber_id FROM taken) RETURNING subscriber_id",
                (send_id, variant, first, *states, size, batch, provider, claimed_by, _now(), send_id, variant,
                 *states),
            ).fetchall()  # fmt: skip
        # Never empty: the first row, locked by the SELECT, is this transaction's to take.
        return str(variant), sorted(int(i) for (i,) in rows)

    def _variants(self, send_id: int, states: Sequence[State]) -> list[str]:
        marks = ", ".join("?" * len(states))
        with self._lock:
            return [v for (v,) in self._db.execute(
                f"SELECT DISTINCT variant FROM deliveries WHERE send_id = ? AND state IN ({marks}) ORDER BY variant",
                (send_id, *states),
            )]  # fmt: skip

    def mark(
        self,
        send_id: int,
        subscriber_ids: Sequence[int],
        state: State,
        *,
        batch: str | None = None,
        provider: str | None = None,
        reason: str | None = None,
        provider_ids: dict[int, str] | None = None,
    ) -> None:
        """Move these recipients to ``state`` in one transaction."""
        ids = list(subscriber_ids)
        if not ids:
            return
        update = (
            "UPDATE deliveries SET state = ?, batch = coalesce(?, batch), provider = coalesce(?, provider), "
            "provider_id = ?, reason = ?, attempts = attempts + ?, updated_at = ?, "
            # Marked in flight here, by the one process sending: no worker's claim (see claim).
            "claimed_by = CASE WHEN ? = 1 THEN NULL ELSE claimed_by END WHERE send_id = ? AND "
        )
        same = (state, batch, provider)
        attempt = 1 if state == State.IN_FLIGHT else 0
        now = _now()
        message_ids = set((provider_ids or {}).values())
        if len(message_ids) <= 1 and (not provider_ids or set(provider_ids) == set(ids)):
            # The same values for all (a batch marked in flight, or accepted under the one message id Mailgun
            # gives a whole call): one statement, the ids as one JSON parameter, committed on its own (autocommit
            # makes a lone statement a transaction). One call into SQLite, not four (BEGIN, two UPDATEs, COMMIT):
            # each returns to Python through the GIL, which the thread building the next batch holds for up to the
            # switch interval at a time (see Engine.run), and the ledger lock was held all the while.
            message_id = next(iter(message_ids), None)
            values = (*same, message_id, reason, attempt, now, attempt, send_id, json.dumps(ids))
            # Lost to a power cut, an in-flight mark would leave a batch that went out reading as queued, and a
            # rerun would send it again: it (and every write before it) reaches the disk before the call.
            durable = self._db.dialect.durable(self._db) if state == State.IN_FLIGHT else contextlib.nullcontext()
            with self._lock, durable:
                self._db.execute(update + f"subscriber_id IN ({self._db.dialect.ids()})", values)
            return
        by_id = provider_ids or {}
        rows = [(*same, by_id.get(i), reason, attempt, now, attempt, send_id, i) for i in ids]
        with self._transaction() as db:
            db.executemany(update + "subscriber_id = ?", rows)

    def counts(self, send_id: int) -> dict[State, int]:
        """How many of a send's recipients are in each state (a pruned send's, as they were when pruned)."""
        with self._lock:
            (summary,) = self._db.execute("SELECT summary FROM sends WHERE id = ?", (send_id,)).fetchone() or (None,)
            rows = [] if summary else self._db.execute(
                "SELECT state, count(*) FROM deliveries WHERE send_id = ? GROUP BY state", (send_id,)
            ).fetchall()  # fmt: skip
        counts = dict.fromkeys(State, 0)
        counts.update({State(state): number for state, number in (orjson.loads(summary).items() if summary else rows)})
        return counts

    # --- retention ------------------------------------------------------------------------------------------
    def prunable(self, finished_before: str) -> tuple[list[Pruned], list[SendRecord]]:
        """The sends finished before ``finished_before`` (ISO 8601, UTC) whose rows :meth:`prune` would drop, with
        their counts; and the sends started before then that are not finished (someone queued, failed or
        uncertain), which it keeps: who they reached is still needed to finish them."""
        with self._lock:
            done = self._db.execute(
                f"{_SENDS} WHERE pruned_at IS NULL AND finished_at IS NOT NULL AND finished_at < ? ORDER BY id",
                (finished_before,),
            ).fetchall()
            open_ = self._db.execute(
                f"{_SENDS} WHERE finished_at IS NULL AND created_at < ? ORDER BY id",
                (finished_before,),
            ).fetchall()
            # Every send's counts in one grouped read, not a query per send.
            tallies = self._db.execute(
                "SELECT d.send_id, d.state, count(*) FROM deliveries d JOIN sends s ON s.id = d.send_id "
                "WHERE s.pruned_at IS NULL AND s.finished_at IS NOT NULL AND s.finished_at < ? "
                "GROUP BY d.send_id, d.state",
                (finished_before,),
            ).fetchall()
        counts: dict[int, dict[State, int]] = {row[0]: dict.fromkeys(State, 0) for row in done}
        for send_id, state, number in tallies:
            counts[send_id][State(state)] = number
        return [Pruned(SendRecord(*row), counts[row[0]]) for row in done], [SendRecord(*row) for row in open_]

    def prune(self, send: SendRecord) -> Pruned:
        """Drop a finished send's recipients' rows, keeping its counts: one transaction a send, so that `serve`
        and other commands wait for one send's rows at most. Sends of its issue are refused from then on (see
        :func:`actionmail.delivery.plan`): who it reached is no longer known."""
        if send.finished_at is None:
            raise ValueError(f"send {send.id} is not finished: its rows are needed to finish it")
        with self._transaction() as db:
            rows = db.execute(
                "SELECT state, count(*) FROM deliveries WHERE send_id = ? GROUP BY state", (send.id,)
            ).fetchall()
            counts = dict.fromkeys(State, 0)
            counts.update({State(state): number for state, number in rows})
            summary = orjson.dumps({str(state): n for state, n in counts.items() if n}).decode()
            db.execute(
                "UPDATE sends SET pruned_at = ?, summary = ? WHERE id = ? AND pruned_at IS NULL",
                (_now(), summary, send.id),
            )
            db.execute("DELETE FROM deliveries WHERE send_id = ?", (send.id,))
        return Pruned(send, counts)
