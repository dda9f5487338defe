"""Sign-ups in the store (actionmail.audience.signups): who gets a confirmation email, the limits per address and
per client network, and what the confirmation does — the only way a signed-up address becomes a member."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from actionmail.audience import Status, Store, SuppressEvent
from actionmail.audience.signups import Confirmed, Form, Limits, Outcome, Signups

T0 = dt.datetime(2026, 12, 5, 14, 0, tzinfo=dt.UTC)
ANA = "ana@example.org"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "actionmail.db") as opened:
        yield opened


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def test_a_sign_up_is_nobody_until_it_is_confirmed(store: Store) -> None:
    signups = Signups(store)
    outcome, pending = signups.request(Form(ANA, "Ana", "98101", "3", "es"), "client-a", T0)
    assert outcome is Outcome.SENT and pending is not None
    assert (pending.email, pending.first_name, pending.zip, pending.district, pending.language) == (
        ANA, "Ana", "98101", "3", "es",
    )  # fmt: skip
    assert store.get(ANA) is None and signups.consent(ANA) is None
    assert signups.confirm(pending.id, T0 + minutes(5)) is Confirmed.JOINED
    member = store.get(ANA)
    assert member is not None
    assert (member.status, member.source, member.first_name, member.district, member.language) == (
        Status.ACTIVE, "signup", "Ana", "3", "es",
    )  # fmt: skip
    consent = signups.consent("ANA@example.org")
    assert consent is not None and (consent.requested_at, consent.confirmed_at) == (T0, T0 + minutes(5))
    assert store.history(ANA) == []  # joining as active is not a change of status
    # The link again: nothing changes.
    assert signups.confirm(pending.id, T0 + minutes(6)) is Confirmed.ALREADY
    consent = signups.consent(ANA)
    assert consent is not None and consent.confirmed_at == T0 + minutes(5)


def test_an_unsubscribed_member_is_resubscribed_only_by_the_click(store: Store) -> None:
    store.add(ANA, first_name="Ana", source="import")
    store.unsubscribe(ANA, "too many", source="page")
    signups = Signups(store)
    _, pending = signups.request(Form(ANA, zip="98102"), "client-a", T0)
    assert pending is not None
    member = store.get(ANA)
    assert member is not None and member.status is Status.UNSUBSCRIBED and member.zip is None
    assert signups.confirm(pending.id, T0 + minutes(1)) is Confirmed.RESUBSCRIBED
    member = store.get(ANA)
    assert member is not None
    assert (member.status, member.source, member.first_name, member.zip) == (Status.ACTIVE, "import", "Ana", "98102")
    assert store.suppression(ANA) is None
    assert [(e.change, e.source, e.detail) for e in store.history(ANA)] == [
        ("unsubscribed", "page", "too many"),
        ("resubscribed", "signup", "confirmed the sign-up emailed 2026-12-05 14:00 UTC"),
    ]


def test_an_address_only_on_the_suppression_list_as_unsubscribed_joins_by_the_click(store: Store) -> None:
    store.unsubscribe(ANA, source="mailgun")
    signups = Signups(store)
    _, pending = signups.request(Form(ANA), "client-a", T0)
    assert pending is not None
    assert signups.confirm(pending.id, T0) is Confirmed.RESUBSCRIBED
    member = store.get(ANA)
    assert member is not None and member.status is Status.ACTIVE and member.source == "signup"


def test_an_active_member_gets_the_email_and_the_click_keeps_the_details_given(store: Store) -> None:
    store.add(ANA, first_name="Ana", district="1", source="import")
    signups = Signups(store)
    outcome, pending = signups.request(Form(ANA, district="2"), "client-a", T0)
    assert outcome is Outcome.SENT and pending is not None
    assert signups.confirm(pending.id, T0) is Confirmed.UPDATED
    member = store.get(ANA)
    assert member is not None and (member.first_name, member.district, member.source) == ("Ana", "2", "import")


@pytest.mark.parametrize("status", [Status.BOUNCED, Status.COMPLAINED])
def test_an_address_that_bounced_or_complained_gets_no_email_and_no_change(store: Store, status: Status) -> None:
    store.add(ANA, source="import")
    store.suppress_events([SuppressEvent(ANA, status, T0 - minutes(60), source="mailgun")])
    store.suppress_events([SuppressEvent("bo@example.org", status, T0 - minutes(60), source="mailgun")])  # not a member
    signups = Signups(store)
    for address in (ANA, "bo@example.org"):
        assert signups.request(Form(address, first_name="X"), "client-a", T0) == (Outcome.STOPPED, None)
    member = store.get(ANA)
    assert member is not None and member.status is status and member.first_name is None
    assert store.get("bo@example.org") is None


def test_a_bounce_between_the_email_and_the_click_stops_the_confirmation(store: Store) -> None:
    signups = Signups(store)
    _, pending = signups.request(Form(ANA), "client-a", T0)
    assert pending is not None
    store.suppress_events([SuppressEvent(ANA, Status.BOUNCED, T0 + minutes(1), source="mailgun")])
    assert signups.confirm(pending.id, T0 + minutes(2)) is Confirmed.STOPPED
    assert store.get(ANA) is None


def test_one_email_per_address_per_interval_and_so_many_a_day(store: Store) -> None:
    signups = Signups(store, Limits(every=minutes(10), per_day=3, per_client=100))
    at = T0
    outcomes = []
    for step in (0, 1, 9, 11, 12, 25, 40, 60 * 23, 60 * 24 + 1):
        at = T0 + minutes(step)
        outcomes.append(signups.request(Form(ANA), "client-a", at)[0])
    assert outcomes == [
        Outcome.SENT, Outcome.LIMITED, Outcome.LIMITED,  # one per 10 minutes
        Outcome.SENT, Outcome.LIMITED, Outcome.SENT,
        Outcome.LIMITED,  # three a day
        Outcome.LIMITED,  # 23 hours on, the first of the three is still in the day
        Outcome.SENT,  # 24 hours and a minute after the first
    ]  # fmt: skip
    assert signups.request(Form("bo@example.org"), "client-a", at)[0] is Outcome.SENT  # another address


def test_a_failed_email_counts_only_against_the_client(store: Store) -> None:
    signups = Signups(store, Limits(per_client=2))
    _, pending = signups.request(Form(ANA, first_name="Ana"), "client-a", T0)
    assert pending is not None
    signups.failed(pending)
    assert signups.confirm(pending.id, T0) is Confirmed.EXPIRED  # no link went out; and what it said is gone
    assert signups.request(Form(ANA), "client-a", T0 + minutes(1))[0] is Outcome.SENT
    assert signups.request(Form("bo@example.org"), "client-a", T0 + minutes(1))[0] is Outcome.CLIENT_LIMITED


def test_so_many_sign_ups_per_client_an_hour_whatever_the_addresses(store: Store) -> None:
    signups = Signups(store, Limits(per_client=3))
    got = [signups.request(Form(f"m{i}@example.org"), "client-a", T0 + minutes(i))[0] for i in range(5)]
    assert got == [Outcome.SENT] * 3 + [Outcome.CLIENT_LIMITED] * 2
    assert signups.request(Form("x@example.org"), "client-b", T0 + minutes(5))[0] is Outcome.SENT
    assert signups.request(Form("y@example.org"), "client-a", T0 + minutes(61))[0] is Outcome.SENT  # the hour is up
    (rows,) = store.connection.execute("SELECT count(*) FROM signups").fetchone()
    assert rows == 5  # a client over its limit adds nothing


def test_links_expire_their_details_are_forgotten_and_confirmed_ones_are_kept(store: Store) -> None:
    limits = Limits(valid_for=dt.timedelta(hours=48))
    signups = Signups(store, limits)
    _, kept = signups.request(Form("bo@example.org", first_name="Bo"), "client-a", T0)
    _, pending = signups.request(Form(ANA, first_name="Ana"), "client-a", T0)
    assert kept is not None and pending is not None
    assert signups.confirm(kept.id, T0) is Confirmed.JOINED
    assert signups.confirm(pending.id, T0 + dt.timedelta(hours=48, seconds=1)) is Confirmed.EXPIRED
    assert store.get(ANA) is None
    later = T0 + dt.timedelta(hours=49)
    signups.request(Form("cy@example.org"), "client-b", later)  # any request prunes
    found = signups.find(pending.id)
    assert found is not None and found.email is None and found.first_name is None and found.expired(limits, later)
    signups.request(Form("cy@example.org"), "client-b", T0 + dt.timedelta(days=31))
    assert signups.find(pending.id) is None
    consent = signups.consent("bo@example.org")
    assert consent is not None and consent.first_name == "Bo" and consent.confirmed_at == T0
