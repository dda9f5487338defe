"""The send engine: batches of one variant, sent concurrently, retried when safe, every outcome in the ledger.

It knows no provider by name: it asks a :class:`~actionmail.providers.base.Provider` how many recipients a call
may carry and whether it honours idempotency keys, and reads :class:`~actionmail.providers.base.ProviderError`
for whether a failure is transient and whether the call may have gone through anyway.

Exactly once, and nobody lost:

- recipients are marked in flight (with the batch id) before the call and accepted after it, each in its own
  committed transaction (the second by a thread of its own, while the sending thread goes on to its next call);
  a worker's claimed batch (:class:`Job` ``claimed``) was marked in flight by its claim;
- a transient failure is retried (exponential backoff with jitter, or the provider's Retry-After) only when
  the provider can't have acted on it, or honours the batch id as an idempotency key; otherwise the batch is
  *uncertain*, reported, and resent only when asked (``--resend-uncertain``);
- a permanent failure (bad key, bad request) stops the whole send with the provider's own message;
- whoever unsubscribed since the send was planned is skipped, not sent to.
"""

from __future__ import annotations

import collections
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import tenacity

from actionmail.delivery.ledger import Ledger, State
from actionmail.errors import ActionmailError
from actionmail.providers.base import Batch, BatchResult, MissingCredentials, Provider, ProviderError


@dataclass(frozen=True)
class Pace:
    """How hard to push: concurrent calls, messages per second, and how to back off."""

    concurrency: int = 4
    rate: float | None = None  # messages a second, the send's processes together (Pacer); None: as fast as it takes
    attempts: int = 6  # calls per batch before giving up on a transient failure
    backoff: float = 1.0  # first wait, seconds; doubles, with jitter
    max_wait: float = 120.0  # longest wait between attempts; a provider asking for longer ends the batch


@dataclass
class Outcome:
    accepted: int = 0
    queued: int = 0  # refused for now (nothing sent): back in the queue for the next run
    failed: int = 0
    uncertain: int = 0
    skipped: int = 0
    stopped: ActionmailError | None = None  # a permanent failure, or missing credentials, that ended the send
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, state: State, count: int) -> None:
        with self.lock:
            name = state.value
            setattr(self, name, getattr(self, name) + count)


class _StopWhen(tenacity.stop.stop_base):
    """Stop retrying once the send is stopping (another batch failed for good)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self.event.is_set()


class Pacer:
    """The send's rate, kept together by every process sending it (its workers, and processes joining it from
    other hosts): each call reserves its messages' worth of the send's pace in the database
    (:meth:`Ledger.reserve`), then waits for its slot. The same on SQLite: on one host, dividing the rate between
    the workers would be exact too, but the extra write a call measured no slower (docs/delivery.md), and one way
    of pacing is one thing to test. Without a rate the database is not asked: most sends have none."""

    def __init__(
        self, ledger: Ledger, send_id: int, rate: float | None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.ledger, self.send_id, self.rate = ledger, send_id, rate
        self._sleep = sleep

    def acquire(self, count: int) -> None:
        if not self.rate:
            return
        wait = self.ledger.reserve(self.send_id, count / self.rate)
        if wait > 0:
            self._sleep(wait)


@dataclass(frozen=True)
class Job:
    """One batch and the subscriber ids behind its recipients. ``claimed``: its rows are in flight already, taken
    from the queue by a worker's claim (Ledger.claim), which was the in-flight mark; if the engine stops before
    calling, it puts them back in the queue."""

    batch: Batch
    ids: tuple[int, ...]
    claimed: bool = False


class Engine:
    def __init__(self, provider: Provider, ledger: Ledger, send_id: int, pace: Pace) -> None:
        self.provider, self.ledger, self.send_id, self.pace = provider, ledger, send_id, pace
        self.pacer = Pacer(ledger, send_id, pace.rate)
        self.outcome = Outcome()
        self._stop = threading.Event()
        # Outcomes are written by a thread of their own, so that a sending thread starts its next call as soon
        # as the provider answers, not after writing a thousand rows (some milliseconds of SQLite, more when it
        # waits its turn at the ledger). The sending threads stay `concurrency` in number: the SMTP provider
        # keeps a connection per thread. At most `concurrency` outcomes wait to be written.
        self._recorder: ThreadPoolExecutor | None = None
        self._backlog = threading.BoundedSemaphore(pace.concurrency)
        self._recording: collections.deque[Future[None]] = collections.deque()

    def run(self, jobs: Iterator[Job], progress: Callable[[int], None] = lambda n: None) -> Outcome:
        """Send every job, ``concurrency`` at a time; stop early on a permanent failure."""
        self._recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="send-ledger")
        # The thread building batches is busy with Python most of the time; a sending thread whose answer has
        # come back waits for it to let go of the GIL, up to the switch interval, on each return from the network
        # or SQLite, several times a call. 1 ms instead of 5: bench/send_throughput.py --count 100000 was faster
        # in 8 of 10 paired runs, median 5.0 s against 5.8 s (a shared machine, load 6). Restored afterwards.
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, 0.001))
        try:
            with ThreadPoolExecutor(max_workers=self.pace.concurrency, thread_name_prefix="send") as pool:
                running: set[Future[int]] = set()
                try:
                    for job in jobs:
                        if self._stop.is_set():
                            self._unclaim(job)
                            break
                        if len(running) >= self.pace.concurrency * 2:  # bounded: a million never sit in memory
                            done, running = wait(running, return_when=FIRST_COMPLETED)
                            for future in done:
                                progress(future.result())
                            self._recorded(wait_all=False)
                        running.add(pool.submit(self._deliver, job))
                    for future in running:
                        progress(future.result())
                except BaseException:
                    # Ctrl-C, or a bug: calls under way finish and are recorded; none waits out a backoff first.
                    self._stop.set()
                    raise
                finally:
                    # Here, in this thread: left to the garbage collector, the generator's clean-up (closing the
                    # ledger's reader) could run in any thread, where SQLite refuses it.
                    close = getattr(jobs, "close", None)
                    if close is not None:
                        close()
        finally:
            self._recorder.shutdown(wait=True)  # every outcome written before the counts are read
            sys.setswitchinterval(switch)
        self._recorded(wait_all=True)
        return self.outcome

    def _recorded(self, wait_all: bool) -> None:
        """Forget the outcomes written; raise the error of one that could not be."""
        while self._recording and (wait_all or self._recording[0].done()):
            self._recording.popleft().result()

    def skip(self, ids: list[int], reason: str) -> None:
        if ids:
            self.ledger.mark(self.send_id, ids, State.SKIPPED, reason=reason)
            self.outcome.add(State.SKIPPED, len(ids))

    def _unclaim(self, job: Job) -> None:
        """A claimed batch that will not be called after all goes back in the queue: nothing was sent."""
        if job.claimed:
            self.ledger.mark(self.send_id, list(job.ids), State.QUEUED)

    def _deliver(self, job: Job) -> int:
        """Send one batch and have its outcome recorded; returns how many recipients it settled."""
        ids = list(job.ids)
        if self._stop.is_set():
            self._unclaim(job)
            return 0
        if not job.claimed:
            self.ledger.mark(self.send_id, ids, State.IN_FLIGHT, batch=job.batch.id, provider=self.provider.name)
        try:
            result = self._call(job.batch)
        except MissingCredentials as e:
            # Raised before any request is made (a provider reads its secret first): nothing went out.
            self._halt(e)
            self.ledger.mark(self.send_id, ids, State.QUEUED)
            return 0
        except ProviderError as e:
            if e.maybe_sent:
                # It may have gone out: the connection broke or timed out after the request was sent, or the
                # provider said yes without saying to whom (a 2xx without message ids). Kept with its batch id:
                # an idempotent provider gets the same call again on the next run, and recognises it; any other
                # is resent only when asked to. Never "failed", which the next run would resend.
                self.ledger.mark(self.send_id, ids, State.UNCERTAIN, reason=f"may have been sent: {e}")
                self.outcome.add(State.UNCERTAIN, len(ids))
                if not e.transient:  # an answer we can't read: every call would get the same
                    self._halt(e)
            elif e.transient:
                # Refused for now (429, 5xx), or never reached: nothing was sent, and waiting did not help
                # in time. Back in the queue, with the provider's words, for the next run to send.
                self.ledger.mark(self.send_id, ids, State.QUEUED, reason=f"not sent yet: {e}")
                self.outcome.add(State.QUEUED, len(ids))
            else:
                self._halt(e)
                self.ledger.mark(self.send_id, ids, State.FAILED, reason=str(e))
                self.outcome.add(State.FAILED, len(ids))
            return len(ids)
        # Until the outcome is written its rows stay in flight, so a crash meanwhile leaves them uncertain, as a
        # crash during the call would.
        assert self._recorder is not None, "run() starts the recorder"
        self._backlog.acquire()
        self._recording.append(self._recorder.submit(self._record, ids, result))
        return len(ids)

    def _halt(self, error: ActionmailError) -> None:
        """Stop the send: no new call starts, and calls waiting to retry give up."""
        self._stop.set()
        self.outcome.stopped = self.outcome.stopped or error

    def _record(self, ids: list[int], result: BatchResult) -> None:
        try:
            by_key = {str(i): i for i in ids}
            accepted = [by_key[k] for k in result.accepted if k in by_key]
            rejected = {by_key[k]: reason for k, reason in result.rejected.items() if k in by_key}
            silent = set(ids) - set(accepted) - set(rejected)  # neither accepted nor refused: we can't know
            provider_ids = {by_key[k]: v for k, v in result.accepted.items() if k in by_key}
            self.ledger.mark(self.send_id, accepted, State.ACCEPTED, provider_ids=provider_ids)
            for subscriber_id, reason in rejected.items():
                self.ledger.mark(self.send_id, [subscriber_id], State.FAILED, reason=f"{self.provider.name}: {reason}")
            self.ledger.mark(self.send_id, sorted(silent), State.UNCERTAIN, reason="the provider did not say")
            self.outcome.add(State.ACCEPTED, len(accepted))
            self.outcome.add(State.FAILED, len(rejected))
            self.outcome.add(State.UNCERTAIN, len(silent))
        finally:
            self._backlog.release()

    def _call(self, batch: Batch) -> BatchResult:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(self._retryable),
            wait=self._wait,
            stop=tenacity.stop_any(tenacity.stop_after_attempt(self.pace.attempts), _StopWhen(self._stop)),
            sleep=self._sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self.pacer.acquire(len(batch.recipients))
                return self.provider.send(batch)
        raise AssertionError("unreachable: tenacity reraises the last failure")  # pragma: no cover

    def _retryable(self, error: BaseException) -> bool:
        if not isinstance(error, ProviderError) or not error.transient:
            return False
        asked = _asked(error)
        if asked is not None and asked > self.pace.max_wait:
            return False  # asked to come back much later: leave it failed, for a rerun
        return not error.maybe_sent or self.provider.idempotent

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = (_asked(error) if isinstance(error, ProviderError) else None) or 0.0
        exponential = tenacity.wait_exponential(multiplier=self.pace.backoff, max=self.pace.max_wait)
        backoff = (exponential + tenacity.wait_random(0, self.pace.backoff))(state)  # jitter: calls don't align
        return min(self.pace.max_wait, max(asked, backoff))

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)  # a permanent failure elsewhere ends the wait at once


def _asked(error: ProviderError) -> float | None:
    """The wait the provider asked for, if it is a wait at all: a provider module's arithmetic on a header could
    give a negative, infinite or NaN one, which would make tenacity sleep forever or raise; we back off instead."""
    asked = error.retry_after
    return asked if asked is not None and math.isfinite(asked) and asked >= 0 else None
