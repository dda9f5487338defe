"""The subscriber store as the unsubscribe service uses it: tokens in, members' statuses out and changed.

Plain, blocking code: the web application runs each call in a worker thread (:mod:`actionmail.serve.app`), so that
SQLite's waits (a send holding the write lock for a moment) never stop the event loop. A few stores are kept open
and lent to one call at a time; SQLite serializes the writes, and its busy timeout (30 s, :meth:`Store.open`)
makes a write wait for a send's short transactions instead of failing with "database is locked".
"""

from __future__ import annotations

import datetime as dt
import enum
import queue
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from actionmail import tokens
from actionmail.audience import Status, Store, Subscriber
from actionmail.audience.model import now
from actionmail.database import Location

UNDO_DAYS = 30  # how long "Undo" resubscribes; after that, the page says how to rejoin
POOL = 4  # stores open at once: writes are one at a time in SQLite anyway; reads are quick


class State(enum.StrEnum):
    """What the page shows for a member."""

    SUBSCRIBED = "subscribed"  # active: the page offers "Unsubscribe"
    UNSUBSCRIBED = "unsubscribed"  # unsubscribed: "Undo" within UNDO_DAYS, else how to rejoin
    STOPPED = "stopped"  # bounced or complained: nothing to undo here; how to reach the organization


@dataclass(frozen=True)
class Seen:
    """A member, as the page shows them; None stands for a token that names nobody."""

    state: State
    email: str
    status: Status
    can_undo: bool
    language: str | None  # the member's, for the page's
    changed: bool = False  # whether this request changed anything


class Members:
    """Verifies tokens and changes members' statuses, recording each change in their history."""

    def __init__(self, path: Location, key: bytes, list_id: str, pool: int = POOL) -> None:
        self.path = path
        self._key = key
        self._list_id = list_id
        self._stores: queue.SimpleQueue[Store] = queue.SimpleQueue()
        self._opened: list[Store] = []
        for _ in range(pool):
            store = Store.open(path, any_thread=True)
            self._opened.append(store)
            self._stores.put(store)

    def close(self) -> None:
        for store in self._opened:
            store.close()

    def store(self) -> AbstractContextManager[Store]:
        """One of the pool's stores, lent for one call (the sign-up's queries, :mod:`actionmail.serve.signup`)."""
        return self.borrow()

    @contextmanager
    def borrow(self) -> Iterator[Store]:
        """One of the open stores, for one call in one thread (the report links' routes borrow them too)."""
        store = self._stores.get()  # blocks while every store is lent: the thread limiter keeps that rare
        try:
            yield store
        finally:
            self._stores.put(store)

    def member(
        self, store: Store, token: str | None, purpose: tokens.Purpose = tokens.UNSUBSCRIBE
    ) -> Subscriber | None:
        """The member a genuine token made for ``purpose`` names; None for any other token, or no token."""
        subscriber_id = tokens.verify(self._key, self._list_id, token, store.email_of, purpose)
        email = None if subscriber_id is None else store.email_of(subscriber_id)
        return None if email is None else store.get(email)

    def look(self, token: str | None) -> Seen | None:
        """The member a token names, changing nothing (a GET: link scanners fetch every URL in an email)."""
        with self.borrow() as store:
            member = self.member(store, token)
        return None if member is None else _seen(member)

    def unsubscribe(self, token: str | None, source: str, reason: str | None = None) -> Seen | None:
        """Unsubscribe the member a token names, at once; again, it changes nothing (and records nothing)."""
        with self.borrow() as store:
            member = self.member(store, token)
            if member is None:
                return None
            if member.status is not Status.ACTIVE:
                return _seen(member)
            after = store.unsubscribe(member.email, reason, source=source)
        assert after is not None
        return _seen(after, changed=True)

    def undo(self, token: str | None) -> Seen | None:
        """Resubscribe a member who unsubscribed within :data:`UNDO_DAYS`; anyone else is left as they are."""
        with self.borrow() as store:
            member = self.member(store, token)
            if member is None:
                return None
            if not _can_undo(member):
                return _seen(member)
            after = store.resubscribe(member.email, "undid an unsubscribe on the unsubscribe page", source="undo")
        return _seen(after, changed=True)

    def probe(self) -> None:
        """Raise if the database cannot be opened and read (for ``/healthz``)."""
        Store.probe(self.path)


def _can_undo(member: Subscriber, today: dt.datetime | None = None) -> bool:
    if member.status is not Status.UNSUBSCRIBED or member.status_changed_at is None:
        return False
    return (today or now()) - member.status_changed_at <= dt.timedelta(days=UNDO_DAYS)


def _seen(member: Subscriber, *, changed: bool = False) -> Seen:
    if member.status is Status.ACTIVE:
        state = State.SUBSCRIBED
    elif member.status is Status.UNSUBSCRIBED:
        state = State.UNSUBSCRIBED
    else:
        state = State.STOPPED
    return Seen(state, member.email, member.status, _can_undo(member), member.language, changed)
