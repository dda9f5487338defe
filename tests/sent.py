"""What a send of the seed through a fake provider left: who got what, and where the ledger stands."""

from __future__ import annotations

import collections
import email.utils
from pathlib import Path

from actionmail import audience, delivery
from actionmail.delivery.ledger import BURST
from tests.conftest import SEED
from tests.fakes.server import FakeProvider


def delivered(fake: FakeProvider) -> collections.Counter[str]:
    return collections.Counter(d.to.lower() for d in fake.delivered)


def everyone(project: Path) -> set[str]:
    with audience.Store.open(project / "actionmail.db") as store:
        return {m.email.lower() for m in store.subscribers()}


def ledger_counts(project: Path) -> dict[delivery.State, int]:
    ledger = delivery.Ledger(project / "actionmail.db")
    try:
        sends = ledger.sends(SEED.stem)
        return ledger.counts(sends[0].id) if sends else dict.fromkeys(delivery.State, 0)
    finally:
        ledger.close()


def ledger_rows(project: Path) -> dict[str, delivery.State]:
    ledger = delivery.Ledger(project / "actionmail.db")
    try:
        (send,) = ledger.sends(SEED.stem)
        return {row.email.lower(): row.state for row in ledger.pending(send.id, list(delivery.State))}
    finally:
        ledger.close()


def most_over_rate(fake: FakeProvider, rate: float) -> float:
    """How many messages the calls that reached ``fake`` (by the addresses in their ``to``: Mailgun's form) carried
    beyond ``rate`` a second and the second's worth that may go at once, in the stretch of time where they carried
    the most: 0 or less for a send that kept to its rate."""
    calls = sorted((r.received, len(email.utils.getaddresses(r.form()["to"]))) for r in fake.requests)
    most = float("-inf")
    for i, (start, _) in enumerate(calls):
        sent = 0
        for at, recipients in calls[i:]:
            sent += recipients
            most = max(most, sent - rate * (at - start + BURST))
    return most
