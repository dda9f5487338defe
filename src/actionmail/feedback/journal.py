"""Apply what mail providers report to the subscriber database, each event once: the one place webhooks (served
by `actionmail serve`) and pulls (`actionmail sync`) change members and the ledger.

- A hard bounce, a complaint or an unsubscribe puts the address on the suppression list and stops its member
  (:meth:`Store.suppress_events`, which records the change in the member's history with the provider's name).
- A soft bounce is kept, and the soft-bounce policy (:mod:`actionmail.feedback.policy`) weighs it with the
  address's recent soft bounces and deliveries: past its threshold, the address is suppressed as bounced.
- A delivery, an acceptance, a bounce or a complaint that names one of our sends makes an *uncertain* recipient
  of that send accepted (:func:`_confirm`): the provider did send it, so a rerun never sends it again.
- `sync`'s place in each provider's lists is kept here too (:func:`position`, :func:`keep_position`).

Each event's dedupe key is kept (table ``feedback_events``, for the policy's window): a webhook delivered twice,
or the same event pulled again, changes nothing the second time. An event is applied before its key is written,
and applying is idempotent, so a crash between the two loses nothing and doubles nothing.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from actionmail import database
from actionmail.audience import Status, Store
from actionmail.audience.model import BadAddress, email_key, from_db_time, normalize_email, now, to_db_time
from actionmail.audience.store import SuppressEvent
from actionmail.database import Connection, Location
from actionmail.feedback.events import FeedbackEvent, Kind
from actionmail.feedback.policy import SoftBouncePolicy, soft_bounce_verdict

# What each kind of event does to the address: stop it with this status.
_STOPS = {Kind.HARD_BOUNCE: Status.BOUNCED, Kind.COMPLAINT: Status.COMPLAINED, Kind.UNSUBSCRIBE: Status.UNSUBSCRIBED}
_CONFIRMS = (Kind.DELIVERED, Kind.ACCEPTED)
# Kept for the soft-bounce policy's window, and a day more: dedupe keys outlive every provider's retries.
KEEP = SoftBouncePolicy().window + dt.timedelta(days=1)


@dataclass
class Applied:
    """What one call did, by outcome: counts only, never an address (this goes to logs)."""

    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    def __str__(self) -> str:
        return ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items())) or "nothing"


@dataclass(frozen=True)
class _Kept:
    """A kept event, as the soft-bounce policy reads it."""

    kind: Kind
    at: dt.datetime | None
    message_id: str | None
    dedupe_key: str


def apply(
    location: Location,
    events: Iterable[FeedbackEvent],
    *,
    at: dt.datetime | None = None,
    policy: SoftBouncePolicy | None = None,
) -> Applied:
    """Apply ``events`` to the subscriber database at ``location``, each dedupe key once. ``at``: now."""
    received = at or now()
    applied = Applied()
    with Store.open(location) as store, _journal(location) as db:
        for event in events:
            outcome = _apply(store, db, event, received, policy)
            applied.outcomes[outcome] += 1
        db.execute("DELETE FROM feedback_events WHERE received_at < ?", (to_db_time(received - KEEP),))
    return applied


@contextlib.contextmanager
def _journal(location: Location) -> Iterator[Connection]:
    db = database.connect(database.locate(location))
    try:
        yield db
    finally:
        db.close()


def _apply(
    store: Store,
    db: Connection,
    event: FeedbackEvent,
    received: dt.datetime,
    policy: SoftBouncePolicy | None,
) -> str:
    if event.kind not in (*_STOPS, Kind.SOFT_BOUNCE, *_CONFIRMS):
        return "ignored"  # deferrals, opens, clicks, failures that are not the address's
    try:
        key = email_key(normalize_email(event.recipient or ""))
    except BadAddress:
        return "no address"
    if db.execute("SELECT 1 FROM feedback_events WHERE dedupe_key = ?", (event.dedupe_key,)).fetchone():
        return "repeated"
    when = event.at or received
    # A bounce or a complaint about one of our messages says, as a delivery does, that the provider sent it.
    confirmed = event.kind is not Kind.UNSUBSCRIBE and _confirm(db, event, key)
    if event.kind in _STOPS:
        status = _STOPS[event.kind]
        report = store.suppress_events(
            [SuppressEvent(event.recipient or "", status, when, event.reason, event.provider)]
        )
        outcome = (
            "stale" if report.stale else (str(status) if report.suppressed or report.members_stopped else "already")
        )
    elif event.kind is Kind.SOFT_BOUNCE:
        _keep(db, event, key, when, received, "soft bounce")
        verdict = soft_bounce_verdict(_recent(db, key), received, policy)
        if not verdict.suppress:
            return "soft bounce"
        report = store.suppress_events(
            [
                SuppressEvent(
                    event.recipient or "", Status.BOUNCED, when, verdict.reason(), f"{event.provider} soft bounces"
                )
            ]
        )
        return "bounced" if report.suppressed or report.members_stopped else "already"
    else:
        outcome = "confirmed" if confirmed else "delivered"
    _keep(db, event, key, when, received, outcome)
    return outcome


def _confirm(db: Connection, event: FeedbackEvent, key: str) -> bool:
    """The provider says it took the message of send ``event.send_id`` to this address (accepted, delivered,
    bounced, complained of): an *uncertain* recipient of the ledger (actionmail.delivery.ledger's table) becomes
    accepted, so no rerun sends to them again. Only uncertain rows: an in-flight one belongs to a send under way,
    which records its own outcome, and any other state is settled. Written here rather than as a Ledger method so
    that `serve` loads no send engine."""
    send_id = event.send_id or ""
    if not (send_id.isdecimal() and len(send_id) <= 18):
        return False
    return bool(
        db.execute(
            "UPDATE deliveries SET state = 'accepted', provider = coalesce(provider, ?), "
            "provider_id = coalesce(provider_id, ?), reason = 'confirmed by the provider''s event', updated_at = ? "
            "WHERE send_id = ? AND state = 'uncertain' "
            "AND subscriber_id IN (SELECT id FROM subscribers WHERE email_key = ?)",
            (event.provider, event.message_id, to_db_time(now()), int(send_id), key),
        ).rowcount
    )


def _keep(
    db: Connection, event: FeedbackEvent, key: str, when: dt.datetime, received: dt.datetime, outcome: str
) -> None:
    db.execute(
        "INSERT INTO feedback_events (dedupe_key, provider, kind, email_key, message_id, send_id, at, "
        "received_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (event.dedupe_key, event.provider, str(event.kind), key, event.message_id, event.send_id,
         to_db_time(when), to_db_time(received), outcome),
    )  # fmt: skip


def _recent(db: Connection, key: str) -> list[_Kept]:
    rows = db.execute(
        "SELECT kind, at, message_id, dedupe_key FROM feedback_events WHERE email_key = ? "
        "AND kind IN ('soft_bounce', 'delivered')",
        (key,),
    )
    return [
        _Kept(Kind(kind), from_db_time(at) if at else None, message_id, dedupe) for kind, at, message_id, dedupe in rows
    ]


def traced(location: Location, send_id: int) -> set[str]:
    """The email keys that kept events of send ``send_id`` name: the provider took its message for them."""
    with _journal(location) as db:
        rows = db.execute(
            "SELECT DISTINCT email_key FROM feedback_events WHERE send_id = ? AND email_key IS NOT NULL",
            (str(send_id),),
        ).fetchall()
    return {key for (key,) in rows}


@dataclass(frozen=True)
class Position:
    """Where `actionmail sync` is in one provider's lists and events."""

    cursor: str  # the provider's Pull.cursor, opaque
    complete: bool  # the last pull finished its pass: the next one starts a new pass from the cursor
    updated_at: dt.datetime
    completed_at: dt.datetime | None  # when a pass last finished: everything the provider knew then is applied


def position(location: Location, provider: str) -> Position | None:
    """The position `sync` stored for ``provider``, if any."""
    with _journal(location) as db:
        row = db.execute(
            "SELECT cursor, complete, updated_at, completed_at FROM sync_positions WHERE provider = ?", (provider,)
        ).fetchone()
    if row is None:
        return None
    cursor, complete, updated, completed = row
    return Position(cursor, bool(complete), from_db_time(updated), from_db_time(completed) if completed else None)


def keep_position(
    location: Location, provider: str, cursor: str, complete: bool, at: dt.datetime | None = None
) -> None:
    """Store where `sync` is in ``provider``'s lists: call it after the events read up to ``cursor`` were applied,
    so that a crash between the two reads them again (applied once each) rather than skipping them."""
    when = to_db_time(at or now())
    with _journal(location) as db:
        db.execute(
            "INSERT INTO sync_positions (provider, cursor, complete, updated_at, completed_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (provider) DO UPDATE SET cursor = excluded.cursor, complete = excluded.complete, "
            "updated_at = excluded.updated_at, "
            "completed_at = coalesce(excluded.completed_at, sync_positions.completed_at)",
            (provider, cursor, int(complete), when, when if complete else None),
        )


def forget_position(location: Location, provider: str) -> None:
    """Start `sync` over for ``provider`` (``--since``)."""
    with _journal(location) as db:
        db.execute("DELETE FROM sync_positions WHERE provider = ?", (provider,))
