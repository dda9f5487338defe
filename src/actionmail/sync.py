"""`actionmail sync`: hear back from the mail provider without running a server.

What `actionmail serve` learns from webhooks, this asks the provider's API for (:meth:`Provider.pull`): its
suppression lists (bounces, complaints, unsubscribes) and, where it keeps them, its events; each page is applied
by the same code the webhooks use (:func:`actionmail.feedback.journal.apply`, each event once), and only then is
the place reached stored, so an interrupted sync goes on where it stopped and never skips or doubles an event.

It then settles the *uncertain* recipients of sends through that provider — those of a call cut off before the
provider answered (:func:`settle`): a recipient the provider sent to (an event of that send names them) becomes
accepted; one of which a provider that lists a send's messages (:attr:`Provider.lists_sends`) has no trace, once
its :attr:`Provider.event_delay` has passed since the call, goes back in the queue, for the next run of the send.

`actionmail send` runs both first for a provider that keeps lists, so no suppressed address is mailed again.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from actionmail.audience.model import BadAddress, email_key, normalize_email, to_db_time
from actionmail.database import Location
from actionmail.delivery import Ledger, State, sending
from actionmail.delivery.ledger import Uncertain
from actionmail.errors import UsageError
from actionmail.feedback import journal
from actionmail.feedback.events import FeedbackEvent
from actionmail.providers.base import Provider, Pull, Pullable

PAGES = 20  # pages a pull reads before what it read is applied and its place stored


@dataclass
class Settled:
    """What :func:`settle` did with the uncertain recipients of sends through one provider (counts only)."""

    confirmed: int = 0  # the provider sent them: accepted
    requeued: int = 0  # no trace, after its event delay: back in the queue
    waiting: int = 0  # called too recently to tell: the next sync, after the delay, will
    unanswerable: int = 0  # the provider cannot be asked (it keeps no record of a send's messages)
    busy: int = 0  # a send is running on the database: left for after it
    incomplete: int = 0  # the provider's listing of their send was not whole (``why``): no one can be ruled out
    why: str = ""

    @property
    def left(self) -> int:
        return self.waiting + self.unanswerable + self.busy + self.incomplete


@dataclass
class Synced:
    """What one sync read and did."""

    provider: str
    kept: frozenset[Pullable]
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)  # journal.Applied's, summed
    skipped: list[str] = field(default_factory=list)
    settled: Settled = field(default_factory=Settled)

    @property
    def events(self) -> int:
        return sum(self.outcomes.values())


def sync(
    database: Location,
    provider: Provider,
    *,
    since: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Synced:
    """Pull what ``provider`` knows into the subscriber database at ``database`` (which exists, migrated), then
    settle the uncertain recipients of its sends. ``since``: start over from this time, not the stored place.

    A provider that keeps nothing (:attr:`Provider.pulls` empty) raises PullNotSupported, as pull() does. A
    failure that persists (ProviderError) leaves the place of the last applied page stored: run it again.
    """
    synced = Synced(provider.name, provider.pulls)
    if since is not None:
        journal.forget_position(database, provider.name)
    stored = journal.position(database, provider.name)
    cursor = stored.cursor if stored else None
    while True:
        pulled = provider.pull(since if cursor is None else None, cursor, pages=PAGES)
        _apply(database, pulled, synced)
        journal.keep_position(database, provider.name, pulled.cursor, pulled.complete)
        cursor = pulled.cursor
        if pulled.complete:
            break
    synced.settled = settle(database, provider, now=now)
    return synced


def _apply(database: Location, pulled: Pull, synced: Synced) -> None:
    applied = journal.apply(database, pulled.events)
    synced.outcomes.update(applied.outcomes)
    synced.skipped.extend(pulled.skipped[: max(0, 1000 - len(synced.skipped))])


def settle(database: Location, provider: Provider, *, now: dt.datetime | None = None) -> Settled:
    """Ask ``provider`` what became of the uncertain recipients of its sends, and settle those it can tell:
    accepted where it sent to them; back in the queue where it lists a send's messages and has none for them,
    their call being older than its event delay. Nothing is sent here; the next run of the send sends those."""
    settled = Settled()
    ledger = Ledger(database)
    try:
        uncertain = ledger.uncertain(provider.name)
        if not uncertain:
            return settled
        if Pullable.MESSAGES not in provider.pulls:
            settled.unanswerable = len(uncertain)
            return settled
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(sending(ledger))
            except UsageError:
                settled.busy = len(uncertain)  # a send is under way: it records its own outcomes; ask after it
                return settled
            clock = now or dt.datetime.now(dt.UTC)
            for _, rows in itertools.groupby(uncertain, key=lambda row: row.send_id):
                _settle_send(database, ledger, provider, list(rows), clock, settled)
    finally:
        ledger.close()
    return settled


def _settle_send(
    database: Location, ledger: Ledger, provider: Provider, rows: list[Uncertain], now: dt.datetime, settled: Settled
) -> None:
    send_id, issue = rows[0].send_id, rows[0].issue
    called = [dt.datetime.fromisoformat(row.called_at) for row in rows]
    since = min(called) - provider.event_delay  # clocks differ: ask from well before the first call
    message_ids = sorted({row.provider_id for row in rows if row.provider_id})
    events, skipped = _pull_send(provider, issue, message_ids, since)
    journal.apply(database, events)  # accepted, delivered, bounced: the journal confirms those (by send id)
    # What the journal could not match: events that name the newsletter but not the send (Brevo's events API
    # returns no custom header), and events it had applied before these rows became uncertain.
    traced = _traced(events, send_id, issue) | journal.traced(database, send_id)
    seen = [row.subscriber_id for row in rows if _key(row.email) in traced]
    ledger.settle(send_id, seen, State.ACCEPTED, f"{provider.name}'s events show it sent this message")
    requeued = 0
    # Only a whole listing shows who is missing from it: one with records it could not read (or that name no
    # address), or cut short (Postmark shows a search's first 10,000), may leave out someone it sent to.
    unread = next(
        (f"an event that names no address we can read ({e.event})" for e in events if not _key(e.recipient or "")), None
    )
    skipped = skipped or ([unread] if unread else [])
    whole = provider.lists_sends and not skipped
    if whole:
        cutoff = to_db_time(now - provider.event_delay)
        untraced = [row.subscriber_id for row in rows if _key(row.email) not in traced]
        reason = f"{provider.name} has no trace of this message {_minutes(provider.event_delay)} after the call"
        requeued = ledger.settle(send_id, untraced, State.QUEUED, reason, called_before=cutoff)
    left = next((number for name, number, _ in ledger.uncertain_calls(send_id) if name == provider.name), 0)
    settled.requeued += requeued
    settled.confirmed += len(rows) - left - requeued
    if whole:
        settled.waiting += left
    elif provider.lists_sends:
        settled.incomplete += left
        settled.why = settled.why or skipped[0]
    else:
        settled.unanswerable += left


def _pull_send(
    provider: Provider, tag: str, message_ids: list[str], since: dt.datetime
) -> tuple[list[FeedbackEvent], list[str]]:
    """Every event of a send's messages the provider shows, and what it could not read as one."""
    events: list[FeedbackEvent] = []
    skipped: list[str] = []
    cursor = None
    while True:
        pulled = provider.pull_send(tag, message_ids, since, cursor, pages=PAGES)
        events.extend(pulled.events)
        skipped.extend(pulled.skipped)
        cursor = pulled.cursor
        if pulled.complete:
            return events, skipped


def _traced(events: Iterable[FeedbackEvent], send_id: int, issue: str) -> set[str]:
    """The email keys of the recipients ``events`` show the provider took a message of this send for: one naming
    the send, or, where the provider did not return our send id, one naming its newsletter (a later version of it
    goes only to whoever did not get this one, so either way they have it)."""
    keys = set()
    for event in events:
        ours = event.send_id == str(send_id) if event.send_id else event.tag == issue
        if ours and event.recipient:
            keys.add(_key(event.recipient))
    keys.discard("")
    return keys


def _key(address: str) -> str:
    try:
        return email_key(normalize_email(address))
    except BadAddress:
        return ""


def _minutes(delay: dt.timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    return f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} hours"
