"""Apply what mail providers report to the subscriber database, each event once: the one place webhooks (served
by `actionmail serve`) and pulls (`actionmail sync`) change members and the ledger.

- A hard bounce, a complaint or an unsubscribe puts the address on the suppression list and stops its member
  (:meth:`Store.suppress_events`, which records the change in the member's history with the provider's name).
- A soft bounce is kept, and the soft-bounce policy (:mod:`actionmail.feedback.policy`) weighs it with the
  address's recent soft bounces and deliveries: past its threshold, the address is suppressed as bounced.
- A delivery or an acceptance that names one of our sends makes an *uncertain* recipient of that send accepted
  (:func:`_confirm`): the provider did send it, so a rerun never sends it again.

Each event's dedupe key is kept (table ``feedback_events``, for the policy's window): a webhook delivered twice,
or the same event pulled again, changes nothing the second time. An event is applied before its key is written,
and applying is idempotent, so a crash between the two loses nothing and doubles nothing.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from actionmail.audience import Status, Store
from actionmail.audience.model import BadAddress, email_key, from_db_time, normalize_email, now, to_db_time
from actionmail.audience.store import SuppressEvent
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
    database: Path,
    events: Iterable[FeedbackEvent],
    *,
    at: dt.datetime | None = None,
    policy: SoftBouncePolicy | None = None,
) -> Applied:
    """Apply ``events`` to the subscriber database at ``database``, each dedupe key once. ``at``: now."""
    received = at or now()
    applied = Applied()
    with Store.open(database) as store, _journal(database) as db:
        for event in events:
            outcome = _apply(store, db, event, received, policy)
            applied.outcomes[outcome] += 1
        db.execute("DELETE FROM feedback_events WHERE received_at < ?", (to_db_time(received - KEEP),))
    return applied


@contextlib.contextmanager
def _journal(database: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(database, isolation_level=None, timeout=30)
    try:
        yield db
    finally:
        db.close()


def _apply(
    store: Store,
    db: sqlite3.Connection,
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
        send_id = event.send_id or ""
        confirmed = send_id.isdecimal() and len(send_id) <= 18 and _confirm(db, int(send_id), key, event)
        outcome = "confirmed" if confirmed else "delivered"
    _keep(db, event, key, when, received, outcome)
    return outcome


def _confirm(db: sqlite3.Connection, send_id: int, key: str, event: FeedbackEvent) -> bool:
    """The provider says it accepted or delivered send ``send_id``'s message to this address: an *uncertain*
    recipient of the ledger (actionmail.delivery.ledger's table) becomes accepted, so no rerun sends to them again.
    Only uncertain rows: an in-flight one belongs to a send under way, which records its own outcome, and any
    other state is settled. Written here rather than as a Ledger method so that `serve` loads no send engine."""
    return bool(
        db.execute(
            "UPDATE deliveries SET state = 'accepted', provider = coalesce(provider, ?), "
            "provider_id = coalesce(provider_id, ?), reason = 'confirmed by the provider''s event', updated_at = ? "
            "WHERE send_id = ? AND state = 'uncertain' "
            "AND subscriber_id IN (SELECT id FROM subscribers WHERE email_key = ?)",
            (event.provider, event.message_id, to_db_time(now()), send_id, key),
        ).rowcount
    )


def _keep(
    db: sqlite3.Connection, event: FeedbackEvent, key: str, when: dt.datetime, received: dt.datetime, outcome: str
) -> None:
    db.execute(
        "INSERT OR IGNORE INTO feedback_events (dedupe_key, provider, kind, email_key, message_id, send_id, at, "
        "received_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (event.dedupe_key, event.provider, str(event.kind), key, event.message_id, event.send_id,
         to_db_time(when), to_db_time(received), outcome),
    )  # fmt: skip


def _recent(db: sqlite3.Connection, key: str) -> list[_Kept]:
    rows = db.execute(
        "SELECT kind, at, message_id, dedupe_key FROM feedback_events WHERE email_key = ? "
        "AND kind IN ('soft_bounce', 'delivered')",
        (key,),
    )
    return [
        _Kept(Kind(kind), from_db_time(at) if at else None, message_id, dedupe) for kind, at, message_id, dedupe in rows
    ]
