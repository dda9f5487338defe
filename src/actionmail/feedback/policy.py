"""When repeated soft bounces suppress a member: a pure function over that member's recent events.

A soft bounce (full mailbox, a receiver's block, a domain that did not answer) may pass; one is no reason to stop
mailing someone. But an address that soft-bounces message after message for a week or more has most likely been
abandoned, and mailing it still costs reputation. The policy, by default:

- **5 soft bounces** — of *distinct* messages, so the retries and duplicates of one message count once;
- **at least 7 days apart**, first to last — a mailbox full for a weekend, or one bad day at a receiver with a
  daily list, does not suppress anyone;
- **within the last 60 days**, and **after the member's last delivery** — any message delivered since resets
  the count: the mailbox works.

Then the member is suppressed as *bounced* (and can resubscribe like any bounced member). Deferrals (the provider
still retrying) never count, and a hard bounce suppresses at once without this function. The numbers follow
common practice (Mailchimp turns an address that soft-bounced 5–7 times into a hard bounce); a daily list hits
them in about eight days of bounces, a weekly one in five weeks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from actionmail.feedback.events import Kind


class MemberEvent(Protocol):
    """What the policy needs of an event: :class:`FeedbackEvent` has it, and so can the store's history."""

    @property
    def kind(self) -> Kind: ...
    @property
    def at(self) -> dt.datetime | None: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def dedupe_key(self) -> str: ...


@dataclass(frozen=True)
class SoftBouncePolicy:
    bounces: int = 5  # distinct messages
    span: dt.timedelta = dt.timedelta(days=7)  # from the first of them to the last
    window: dt.timedelta = dt.timedelta(days=60)  # only bounces this recent count


@dataclass(frozen=True)
class SoftBounceVerdict:
    suppress: bool
    messages: int  # distinct messages that soft-bounced and count
    first: dt.datetime | None
    last: dt.datetime | None

    def reason(self) -> str:
        """For the member's history: ``soft bounces: 5 messages, 2019-08-01 to 2019-08-09``."""
        if self.first is None or self.last is None:
            return "soft bounces: none"
        return f"soft bounces: {self.messages} messages, {self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}"


def soft_bounce_verdict(
    events: Iterable[MemberEvent], now: dt.datetime, policy: SoftBouncePolicy | None = None
) -> SoftBounceVerdict:
    """Whether one member's recent ``events`` (any order, any kinds) call for suppressing them as bounced.

    Events without a time are left out: they cannot be placed in the window.
    """
    policy = policy or SoftBouncePolicy()
    since = now - policy.window
    timed = [e for e in events if e.at is not None and since <= e.at <= now]
    delivered = [e.at for e in timed if e.kind is Kind.DELIVERED and e.at is not None]
    if delivered:
        since = max(delivered)
    first_seen: dict[str, dt.datetime] = {}
    for e in timed:
        if e.kind is Kind.SOFT_BOUNCE and e.at is not None and e.at > since:
            message = e.message_id or e.dedupe_key
            first_seen[message] = min(e.at, first_seen.get(message, e.at))
    if not first_seen:
        return SoftBounceVerdict(False, 0, None, None)
    first, last = min(first_seen.values()), max(first_seen.values())
    suppress = len(first_seen) >= policy.bounces and last - first >= policy.span
    return SoftBounceVerdict(suppress, len(first_seen), first, last)
