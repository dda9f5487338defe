"""What providers report, applied to a real subscriber database once each (actionmail.feedback.journal)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from actionmail.audience import Status, Store
from actionmail.delivery import Ledger, State
from actionmail.feedback import FeedbackEvent, Kind
from actionmail.feedback.journal import KEEP, apply
from tests import sql

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def event(
    kind: Kind, key: str, *, to: str = "ana@example.org", at: dt.datetime = T0, **more: str | None
) -> FeedbackEvent:
    values: dict[str, str | None] = {"message_id": f"<{key}@mg.example.org>", "send_id": None, "tag": None,
                                     "reason": None} | more  # fmt: skip
    return FeedbackEvent("mailgun", kind, str(kind), to, at, dedupe_key=f"mailgun:{key}", **values)  # type: ignore[arg-type]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "actionmail.db"
    with Store.open(path) as store:
        for address in ("ana@example.org", "bo@example.org", "cy@example.org"):
            store.add(address)
    return path


def status(database: Path, address: str = "ana@example.org") -> Status:
    with Store.open(database) as store:
        member = store.get(address)
        assert member is not None
        return member.status


def history(database: Path, address: str = "ana@example.org") -> list[tuple[str, str, str | None]]:
    with Store.open(database) as store:
        return [(e.change, e.source, e.detail) for e in store.history(address)]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [(Kind.HARD_BOUNCE, Status.BOUNCED), (Kind.COMPLAINT, Status.COMPLAINED), (Kind.UNSUBSCRIBE, Status.UNSUBSCRIBED)],
)
def test_a_bounce_a_complaint_or_an_unsubscribe_stops_the_member_once(
    database: Path, kind: Kind, expected: Status
) -> None:
    hostile = event(kind, "e1", reason="550 5.1.1 no such user")
    assert apply(database, [hostile], at=T0).outcomes == {str(expected): 1}
    assert status(database) is expected
    assert status(database, "bo@example.org") is Status.ACTIVE
    # The provider retries its webhook, and `sync` pulls the same event: nothing more happens.
    assert apply(database, [hostile, hostile], at=T0 + DAY).outcomes == {"repeated": 2}
    assert history(database) == [(str(expected), "mailgun", "550 5.1.1 no such user")]


def test_an_event_from_before_a_resubscription_changes_nothing(database: Path) -> None:
    with Store.open(database) as store:
        store.unsubscribe("ana@example.org", source="one-click")
        store.resubscribe("ana@example.org", "she asked on the phone")
    old = event(Kind.COMPLAINT, "old", at=T0 - 30 * DAY)
    assert apply(database, [old], at=T0).outcomes == {"stale": 1}
    assert status(database) is Status.ACTIVE


def test_an_address_on_the_list_is_said_to_be_already_there(database: Path) -> None:
    apply(database, [event(Kind.HARD_BOUNCE, "a")], at=T0)
    assert apply(database, [event(Kind.COMPLAINT, "b")], at=T0).outcomes == {"already": 1}
    assert status(database) is Status.BOUNCED  # the first event for an address wins


def soft(key: str, day: int, to: str = "ana@example.org") -> FeedbackEvent:
    """A soft bounce of message ``key`` (``2-retry``: message 2 again, under another event id)."""
    message = key.removesuffix("-retry")
    return event(Kind.SOFT_BOUNCE, key, to=to, at=T0 + day * DAY, message_id=f"<message-{message}@mg>")


def test_soft_bounces_suppress_only_past_the_policy(database: Path) -> None:
    """Five messages soft-bounced over at least seven days: bounced. Four, or five in a weekend, are not."""
    outcomes = [apply(database, [soft(k, day)], at=T0 + day * DAY).outcomes for k, day in
                [("1", 0), ("2", 2), ("2-retry", 2), ("3", 4), ("4", 6)]]  # fmt: skip
    assert all(o == {"soft bounce": 1} for o in outcomes)
    assert status(database) is Status.ACTIVE
    assert apply(database, [soft("5", 8)], at=T0 + 8 * DAY).outcomes == {"bounced": 1}
    assert status(database) is Status.BOUNCED
    [(change, source, detail)] = history(database)
    assert (change, source) == ("bounced", "mailgun soft bounces")
    assert detail == "soft bounces: 5 messages, 2026-11-02 to 2026-11-10"
    # Five in two days, for another member: a bad weekend, not an abandoned mailbox.
    apply(database, [soft(f"bo{i}", i // 3, to="bo@example.org") for i in range(5)], at=T0 + 2 * DAY)
    assert status(database, "bo@example.org") is Status.ACTIVE


def test_a_delivery_resets_the_soft_bounces(database: Path) -> None:
    apply(database, [soft(k, day) for k, day in [("1", 0), ("2", 2), ("3", 4), ("4", 6)]], at=T0 + 6 * DAY)
    delivered = event(Kind.DELIVERED, "d", at=T0 + 7 * DAY)
    assert apply(database, [delivered], at=T0 + 7 * DAY).outcomes == {"delivered": 1}
    assert apply(database, [soft("5", 8), soft("6", 9)], at=T0 + 9 * DAY).outcomes == {"soft bounce": 2}
    assert status(database) is Status.ACTIVE


def queued(database: Path, states: dict[str, State]) -> None:
    """Send 1, with one row per member in the given state."""
    with Store.open(database) as store:
        store._db.execute("INSERT INTO sends (issue, content_hash, created_at) VALUES ('x', 'h', 'now')")
        for address, state in states.items():
            member = store.get(address)
            assert member is not None
            store._db.execute(
                "INSERT INTO deliveries (send_id, subscriber_id, email, variant, state, updated_at) "
                "VALUES (1, ?, ?, 'en|', ?, 'now')",
                (member.id, address, state),
            )


def states(database: Path) -> dict[str, State]:
    ledger = Ledger(database)
    try:
        return {row.email: row.state for row in ledger.pending(1, list(State), page=100)}
    finally:
        ledger.close()


def test_a_delivery_of_one_of_our_sends_settles_an_uncertain_recipient(database: Path) -> None:
    """A call cut off mid-way left its members uncertain; the provider's delivery event says it did go out."""
    queued(database, {"ana@example.org": State.UNCERTAIN, "bo@example.org": State.IN_FLIGHT,
                      "cy@example.org": State.UNCERTAIN})  # fmt: skip
    events = [
        event(Kind.DELIVERED, "d1", send_id="1"),
        event(Kind.ACCEPTED, "d2", to="bo@example.org", send_id="1"),  # in flight: the send under way decides
        event(Kind.DELIVERED, "d3", to="cy@example.org", send_id="2"),  # another send's
        event(Kind.DELIVERED, "d4", to="cy@example.org", send_id="1" * 40),  # not a send id at all
    ]
    assert apply(database, events, at=T0).outcomes == {"confirmed": 1, "delivered": 3}
    assert states(database) == {"ana@example.org": State.ACCEPTED, "bo@example.org": State.IN_FLIGHT,
                                "cy@example.org": State.UNCERTAIN}  # fmt: skip
    ledger = Ledger(database)
    [row] = [r for r in ledger.pending(1, [State.ACCEPTED], page=10)]
    ledger.close()
    assert row.reason == "confirmed by the provider's event"


def test_events_without_a_usable_address_or_meaning_are_counted_not_applied(database: Path) -> None:
    events = [
        event(Kind.HARD_BOUNCE, "x1", to="not an address"),
        event(Kind.HARD_BOUNCE, "x2", to=""),
        event(Kind.OTHER, "x3"),
        event(Kind.DEFERRED, "x4"),
    ]
    assert apply(database, events, at=T0).outcomes == {"no address": 2, "ignored": 2}
    assert status(database) is Status.ACTIVE


def test_an_address_that_is_no_member_goes_on_the_suppression_list(database: Path) -> None:
    apply(database, [event(Kind.COMPLAINT, "n", to="Stranger@Example.org")], at=T0)
    with Store.open(database) as store:
        entry = store.suppression("stranger@example.org")
    assert entry is not None and entry.reason == Status.COMPLAINED and entry.source == "mailgun"


def test_kept_events_are_pruned_after_the_window(database: Path) -> None:
    apply(database, [soft("1", 0), event(Kind.HARD_BOUNCE, "h", to="bo@example.org")], at=T0)
    apply(database, [], at=T0 + KEEP + DAY)
    assert sql.rows(database, "SELECT count(*) FROM feedback_events") == [(0,)]
