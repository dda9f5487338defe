"""Sign-ups through `actionmail serve`'s form, confirmed by email (double opt-in): each request for a confirmation
email, the limits on them, and the consent each confirmation records (table ``signups``, schema step 8).

- :meth:`Signups.request` decides, in one transaction, whether a confirmation email goes out: never to an address
  that bounced or complained (no email, no change), nor past the limits — per address, one per
  :attr:`Limits.every` and :attr:`Limits.per_day` a day; per client network, :attr:`Limits.per_client` an hour.
  The rows it writes are those limits' counts, in the database, so they hold across every process serving
  (``serve --workers``) and across restarts.
- :meth:`Signups.confirm` is the click on the emailed link: the only thing that makes a signed-up address a member,
  or an unsubscribed one active again (history: ``resubscribed``, source ``signup``). Its time is the consent's.
- A row never confirmed loses what was typed into the form once its link has expired, and goes after
  :data:`KEEP_UNCONFIRMED`; a confirmed row stays: it is the record of when consent was asked for and given.

What a request said is never shown to whoever sent it: an address that bounced, or is over its limit, gets the same
answer as any other (the caller's business); only the logs and ``subscribers show`` tell them apart.
"""

from __future__ import annotations

import datetime as dt
import enum
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from actionmail.audience import upsert
from actionmail.audience.model import Incoming, Status, email_key, from_db_time, lookup_key, now, to_db_time
from actionmail.audience.store import Store
from actionmail.database import Connection, transaction

KEEP_UNCONFIRMED = dt.timedelta(days=30)  # an expired link still says "expired", not "not valid", this long
_CLIENT_WINDOW = dt.timedelta(hours=1)
_DAY = dt.timedelta(days=1)
_STOPS = (Status.BOUNCED, Status.COMPLAINED)
_COLUMNS = "id, email_key, email, first_name, district, zip, language, requested_at, confirmed_at"


@dataclass(frozen=True)
class Limits:
    """How many confirmation emails go out, and how long their links work."""

    every: dt.timedelta = dt.timedelta(minutes=10)  # at most one confirmation email per address in this time
    per_day: int = 5  # confirmation emails per address in 24 hours
    per_client: int = 20  # sign-ups per client network (an IPv4 address, an IPv6 /64) in an hour
    valid_for: dt.timedelta = dt.timedelta(hours=48)  # how long a confirmation link works


class Outcome(enum.StrEnum):
    """What became of a sign-up request (the values of the ``outcome`` column, but the last)."""

    SENT = "sent"  # a confirmation email is to go out
    FAILED = "failed"  # it was to, and the provider did not take it: it counts for nothing but the client's limit
    STOPPED = "stopped"  # the address bounced or complained: no email, no change
    LIMITED = "limited"  # the address had its emails for now: none more
    CLIENT_LIMITED = "client limit"  # the client had its sign-ups for the hour: not even recorded


class Confirmed(enum.StrEnum):
    """What a confirmation did."""

    JOINED = "joined"  # a new member, active, source signup
    RESUBSCRIBED = "resubscribed"  # a member (or an address) that had unsubscribed, active again
    UPDATED = "updated"  # an active member: the details given are kept, and the consent renewed
    ALREADY = "already"  # this link was used before: nothing changes
    STOPPED = "stopped"  # the address bounced or complained since the email went: nothing changes
    EXPIRED = "expired"  # the link's time is up (or its details are gone): nothing changes


@dataclass(frozen=True)
class Form:
    """What the sign-up form asked for, checked: a valid address, and details as :meth:`Store.add` takes them."""

    email: str
    first_name: str | None = None
    zip: str | None = None
    district: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Pending:
    """One sign-up request as recorded: what its confirmation link names."""

    id: int
    email_key: str
    email: str | None  # None once the link has expired and the details are gone
    first_name: str | None
    district: str | None
    zip: str | None
    language: str | None
    requested_at: dt.datetime
    confirmed_at: dt.datetime | None

    def expired(self, limits: Limits, at: dt.datetime | None = None) -> bool:
        return self.email is None or (at or now()) > self.requested_at + limits.valid_for

    @property
    def stamp(self) -> str:
        """The request's time as stored: what a confirmation link's MAC covers, with the id and the address."""
        return to_db_time(self.requested_at)


class Signups:
    """The sign-up table of one store, on its connection (one thread at a time, as the store)."""

    def __init__(self, store: Store, limits: Limits | None = None) -> None:
        self._store = store
        self._db = store.connection
        self.limits = limits or Limits()

    def request(self, form: Form, client: str, at: dt.datetime | None = None) -> tuple[Outcome, Pending | None]:
        """Record a sign-up from ``client`` (a key for its network, never its address) and say whether a
        confirmation email goes out; the row to confirm when one does."""
        at = at or now()
        key = email_key(form.email)
        with self._transaction():
            self._prune(at)
            (recent,) = self._db.execute(
                "SELECT count(*) FROM signups WHERE client = ? AND requested_at > ?",
                (client, to_db_time(at - _CLIENT_WINDOW)),
            ).fetchone()
            if recent >= self.limits.per_client:
                return Outcome.CLIENT_LIMITED, None
            if self._stopped(key):
                self._insert(key, client, at, Outcome.STOPPED)
                return Outcome.STOPPED, None
            sent, last = self._db.execute(
                "SELECT count(*), max(requested_at) FROM signups WHERE email_key = ? AND outcome = 'sent' "
                "AND requested_at > ?",
                (key, to_db_time(at - _DAY)),
            ).fetchone()
            if sent >= self.limits.per_day or (last is not None and from_db_time(last) > at - self.limits.every):
                self._insert(key, client, at, Outcome.LIMITED)
                return Outcome.LIMITED, None
            row_id = self._insert(key, client, at, Outcome.SENT, form)
        pending = self.find(row_id)
        assert pending is not None
        return Outcome.SENT, pending

    def failed(self, pending: Pending) -> None:
        """The confirmation email did not go out: the request counts for nothing but the client's limit, and
        what it said is not kept."""
        with self._transaction():
            self._db.execute(
                "UPDATE signups SET outcome = 'failed', email = NULL, first_name = NULL, district = NULL, zip = NULL "
                "WHERE id = ?",
                (pending.id,),
            )

    def find(self, signup_id: int) -> Pending | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM signups WHERE id = ?", (signup_id,)).fetchone()
        return _pending(row) if row else None

    def confirm(self, signup_id: int, at: dt.datetime | None = None) -> Confirmed:
        """The confirmation link's POST: the address joins with the details it gave (source ``signup``), or an
        unsubscribed one is resubscribed, and the consent's time is recorded. Once only per link; never for an
        address that bounced or complained."""
        at = at or now()
        with self._transaction():
            pending = self.find(signup_id)
            if pending is None or pending.expired(self.limits, at):
                return Confirmed.EXPIRED
            if pending.confirmed_at is not None:
                return Confirmed.ALREADY
            key = pending.email_key
            if self._stopped(key):
                return Confirmed.STOPPED
            was_member = self._db.execute("SELECT 1 FROM subscribers WHERE email_key = ?", (key,)).fetchone()
            assert pending.email is not None
            incoming = Incoming(
                email=pending.email,
                key=key,
                first_name=pending.first_name,
                district=pending.district,
                zip=pending.zip,
                language=pending.language,
                source="signup",
            )
            upsert.apply(self._db, [incoming], upsert.ImportReport())  # a member who left comes back as they left
            (status,) = self._db.execute("SELECT status FROM subscribers WHERE email_key = ?", (key,)).fetchone()
            suppressed = self._db.execute("SELECT 1 FROM suppressions WHERE email_key = ?", (key,)).fetchone()
            if status != Status.ACTIVE or suppressed:
                reason = f"confirmed the sign-up emailed {pending.requested_at:%Y-%m-%d %H:%M} UTC"
                upsert.reactivate(self._db, key, at, reason, "signup")
                confirmed = Confirmed.RESUBSCRIBED
            else:
                confirmed = Confirmed.UPDATED if was_member else Confirmed.JOINED
            self._db.execute("UPDATE signups SET confirmed_at = ? WHERE id = ?", (to_db_time(at), signup_id))
        return confirmed

    def consent(self, email: str) -> Pending | None:
        """The address's latest confirmed sign-up: when its consent was asked for, and when it was given."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM signups WHERE email_key = ? AND confirmed_at IS NOT NULL "
            "ORDER BY confirmed_at DESC, id DESC LIMIT 1",
            (lookup_key(email),),
        ).fetchone()
        return _pending(row) if row else None

    def _stopped(self, key: str) -> bool:
        """Whether the address bounced or complained (as a member, or on the suppression list)."""
        row = self._db.execute(
            "SELECT (SELECT status FROM subscribers WHERE email_key = ?), "
            "(SELECT reason FROM suppressions WHERE email_key = ?)",
            (key, key),
        ).fetchone()
        return row[0] in _STOPS or row[1] in _STOPS

    def _insert(self, key: str, client: str, at: dt.datetime, outcome: Outcome, form: Form | None = None) -> int:
        details = (form.email, form.first_name, form.district, form.zip, form.language) if form else (None,) * 5
        (row_id,) = self._db.execute(
            "INSERT INTO signups (email_key, email, first_name, district, zip, language, client, requested_at, "
            "outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (key, *details, client, to_db_time(at), outcome),
        ).fetchone()
        return int(row_id)

    def _prune(self, at: dt.datetime) -> None:
        """Forget what unconfirmed sign-ups said once their links have expired, and them after a while."""
        self._db.execute(
            "UPDATE signups SET email = NULL, first_name = NULL, district = NULL, zip = NULL "
            "WHERE confirmed_at IS NULL AND requested_at < ? AND email IS NOT NULL",
            (to_db_time(at - self.limits.valid_for),),
        )
        self._db.execute(
            "DELETE FROM signups WHERE confirmed_at IS NULL AND requested_at < ?",
            (to_db_time(at - max(KEEP_UNCONFIRMED, self.limits.valid_for + _DAY)),),
        )

    def _transaction(self) -> AbstractContextManager[Connection]:
        return transaction(self._db)


def _pending(row: tuple[Any, ...]) -> Pending:
    signup_id, key, address, first_name, district, zip_code, language, requested, confirmed = row
    return Pending(
        signup_id, key, address, first_name, district, zip_code, language, from_db_time(requested),
        None if confirmed is None else from_db_time(confirmed),
    )  # fmt: skip
