"""One place maps provider event names to kinds: `subscribers suppress FILE` and the webhooks agree on every
event, including the ones whose meaning this branch changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from actionmail.audience import Status
from actionmail.feedback import Kind, mailgun, postmark, sendgrid
from actionmail.feedback.files import read_events

SUPPRESSES = {
    Kind.HARD_BOUNCE: Status.BOUNCED,
    Kind.COMPLAINT: Status.COMPLAINED,
    Kind.UNSUBSCRIBE: Status.UNSUBSCRIBED,
}


@pytest.mark.parametrize(
    ("record", "classify", "kind"),
    [
        # Mailgun gave up after retrying temporary failures: not a dead address (was suppressed as bounced).
        ({"event": "failed", "severity": "permanent", "reason": "old", "recipient": "a@example.org"}, mailgun.classify, Kind.SOFT_BOUNCE),
        ({"event": "failed", "severity": "permanent", "reason": "bounce", "recipient": "a@example.org"}, mailgun.classify, Kind.HARD_BOUNCE),
        ({"event": "failed", "severity": "temporary", "recipient": "a@example.org"}, mailgun.classify, Kind.DEFERRED),
        # A member who mailed back "unsubscribe", as Postmark's bounce webhook reports it (was ignored).
        ({"RecordType": "Bounce", "Type": "Unsubscribe", "Email": "a@example.org", "BouncedAt": "2019-08-05T14:33:20Z"}, postmark.classify, Kind.UNSUBSCRIBE),
        ({"RecordType": "Bounce", "Type": "SoftBounce", "Email": "a@example.org"}, postmark.classify, Kind.SOFT_BOUNCE),
        ({"event": "bounce", "type": "blocked", "email": "a@example.org"}, sendgrid.classify, Kind.SOFT_BOUNCE),
        ({"event": "dropped", "reason": "Unsubscribed Address", "email": "a@example.org"}, sendgrid.classify, Kind.UNSUBSCRIBE),
    ],
)  # fmt: skip
def test_a_file_and_a_webhook_agree(tmp_path: Path, record: dict[str, Any], classify: Any, kind: Kind) -> None:
    assert classify(record)[0] is kind
    (tmp_path / "events.json").write_text(json.dumps([record]))
    found = read_events(tmp_path / "events.json")
    assert [e.status for e in found.events] == ([SUPPRESSES[kind]] if kind in SUPPRESSES else [])
    assert found.ignored == (0 if kind in SUPPRESSES else 1)
