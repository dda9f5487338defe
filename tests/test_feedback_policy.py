"""The soft-bounce policy: 5 soft bounces of distinct messages, at least 7 days apart first to last, within 60
days and after the last delivery, suppress a member; anything less does not."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from actionmail.feedback import Kind, SoftBouncePolicy, soft_bounce_verdict

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Event:
    kind: Kind
    at: dt.datetime | None
    message_id: str | None
    dedupe_key: str = ""


def bounces(days_ago: list[float], kind: Kind = Kind.SOFT_BOUNCE) -> list[Event]:
    return [Event(kind, NOW - dt.timedelta(days=d), f"message-{d}", f"key-{d}") for d in days_ago]


def test_five_messages_over_a_week_suppress() -> None:
    verdict = soft_bounce_verdict(bounces([8, 6, 4, 2, 1]), NOW)
    assert (verdict.suppress, verdict.messages) == (True, 5)
    assert verdict.reason() == "soft bounces: 5 messages, 2026-11-26 to 2026-12-03"


def test_fewer_messages_or_a_shorter_span_do_not() -> None:
    assert not soft_bounce_verdict(bounces([8, 6, 4, 1]), NOW).suppress  # four
    assert not soft_bounce_verdict(bounces([5, 4, 3, 2, 1]), NOW).suppress  # five, in four days: a bad week
    assert soft_bounce_verdict(bounces([8, 4, 3, 2, 1]), NOW).suppress  # seven days first to last, exactly


def test_retries_of_one_message_count_once() -> None:
    same = [Event(Kind.SOFT_BOUNCE, NOW - dt.timedelta(days=d), "one-message", f"k{d}") for d in (9, 7, 5, 3, 1)]
    verdict = soft_bounce_verdict(same, NOW)
    assert (verdict.suppress, verdict.messages) == (False, 1)
    # Without a message id, each event's dedupe key stands for its message.
    unnamed = [Event(Kind.SOFT_BOUNCE, NOW - dt.timedelta(days=d), None, f"k{d}") for d in (9, 7, 5, 3, 1)]
    assert soft_bounce_verdict(unnamed, NOW).suppress


def test_a_delivery_resets_the_count() -> None:
    events = [*bounces([20, 18, 16, 14, 12]), Event(Kind.DELIVERED, NOW - dt.timedelta(days=11), "ok")]
    assert soft_bounce_verdict(events, NOW).suppress is False
    events += bounces([9, 7, 5, 3, 1])
    assert soft_bounce_verdict(events, NOW).suppress is True


def test_only_recent_soft_bounces_count() -> None:
    assert not soft_bounce_verdict(bounces([90, 80, 70, 65, 2]), NOW).suppress  # most are older than 60 days
    assert not soft_bounce_verdict([*bounces([9, 7, 5, 3]), *bounces([-1])], NOW).suppress  # one is in the future


def test_other_kinds_never_count() -> None:
    for kind in (Kind.DEFERRED, Kind.HARD_BOUNCE, Kind.FAILED, Kind.ACCEPTED, Kind.OTHER):
        assert not soft_bounce_verdict(bounces([9, 7, 5, 3, 1], kind), NOW).suppress
    untimed = [Event(Kind.SOFT_BOUNCE, None, f"m{n}") for n in range(10)]
    assert soft_bounce_verdict(untimed, NOW).messages == 0


def test_the_policy_can_be_changed() -> None:
    strict = SoftBouncePolicy(bounces=3, span=dt.timedelta(days=2), window=dt.timedelta(days=30))
    assert soft_bounce_verdict(bounces([3, 2, 1]), NOW, strict).suppress
    assert not soft_bounce_verdict(bounces([3, 2, 1]), NOW).suppress
