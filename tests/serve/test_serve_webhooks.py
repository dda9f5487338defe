"""Provider webhooks on the real `actionmail serve`: signed with keys made here, applied once, forged ones refused.

What each provider's verification accepts is tested on its own in tests/test_feedback_*.py; here, that the
service wires it to the database: the member stops, the history names the provider, a retry changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.feedback_signing import MAILGUN_KEY, mailgun_body, sendgrid_headers, sendgrid_public_key
from tests.serve.conftest import Served, history, start, status, stop

MEMBER = "bo@example.org"


@pytest.fixture
def webhooks(members: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The service with Mailgun's and SendGrid's webhook keys set (and nobody else's)."""
    monkeypatch.setenv("ACTIONMAIL_MAILGUN_WEBHOOK_SIGNING_KEY", MAILGUN_KEY)
    monkeypatch.setenv("ACTIONMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY", sendgrid_public_key())
    for name in [n for n in os.environ if n.startswith(("ACTIONMAIL_POSTMARK_WEBHOOK", "ACTIONMAIL_BREVO_WEBHOOK"))]:
        monkeypatch.delenv(name)
    running = start(members)
    yield running
    stop(running)


def failed(recipient: str, severity: str = "permanent") -> dict[str, Any]:
    """A Mailgun ``failed`` event (event-types doc), as our sends tag it."""
    return {
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "timestamp": dt.datetime.now(dt.UTC).timestamp(),
        "event": "failed",
        "severity": severity,
        "reason": "bounce",
        "recipient": recipient,
        "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist."},
        "message": {"headers": {"message-id": "20261204.1.ABC@mg.example.org"}},
        "user-variables": {"send_id": "1"},
    }


def post(served: Served, provider: str, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{served.base}/webhooks/{provider}", data=body, headers=headers or {}, timeout=10)


def test_a_mailgun_bounce_stops_the_member_once(webhooks: Served) -> None:
    body = mailgun_body(failed(MEMBER), at=dt.datetime.now(dt.UTC))
    answer = post(webhooks, "mailgun", body, {"Content-Type": "application/json"})
    assert (answer.status_code, answer.text) == (200, "ok\n")
    assert status(webhooks, MEMBER) == "bounced"
    assert status(webhooks, "cy@example.net") == "active"
    assert post(webhooks, "mailgun", body).status_code == 200  # Mailgun retries: applied once
    assert history(webhooks, MEMBER) == [("bounced", "mailgun", "5.1.1 The email account does not exist.")]
    assert webhooks.logged("POST /webhooks/mailgun 200")
    assert webhooks.logged("mailgun: repeated 1")
    assert MEMBER not in webhooks.log  # an address never goes to the log


def test_a_forged_or_stale_mailgun_post_changes_nothing(webhooks: Served) -> None:
    forged = mailgun_body(failed(MEMBER), key="key-" + "0" * 32, at=dt.datetime.now(dt.UTC))
    stale = mailgun_body(failed(MEMBER), at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    for body in (forged, stale, b"{}", b"\xff\xfe not json"):
        answer = post(webhooks, "mailgun", body)
        assert answer.status_code in (400, 401), answer.text
        assert "Traceback" not in answer.text
    assert status(webhooks, MEMBER) == "active"
    assert history(webhooks, MEMBER) == []


def test_a_signed_sendgrid_batch_is_applied(webhooks: Served) -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    batch = [
        {"email": MEMBER, "event": "spamreport", "timestamp": now, "sg_event_id": "e1", "sg_message_id": "m1.f"},
        {"email": "cy@example.net", "event": "delivered", "timestamp": now, "sg_event_id": "e2",
         "sg_message_id": "m2.f"},
    ]  # fmt: skip
    body = json.dumps(batch).encode()
    answer = post(webhooks, "sendgrid", body, sendgrid_headers(body, at=dt.datetime.now(dt.UTC)))
    assert answer.status_code == 200, answer.text
    assert status(webhooks, MEMBER) == "complained"
    assert status(webhooks, "cy@example.net") == "active"
    altered = body.replace(b"spamreport", b"delivered!")
    assert post(webhooks, "sendgrid", altered, sendgrid_headers(body)).status_code == 401


def test_an_unknown_or_unconfigured_provider(webhooks: Served) -> None:
    assert post(webhooks, "mailchimp", b"{}").status_code == 404
    answer = post(webhooks, "postmark", b"{}")
    assert answer.status_code == 503  # not set up: the provider retries until someone sets the variable
    assert "ACTIONMAIL_POSTMARK_WEBHOOK" in answer.text
    assert requests.get(f"{webhooks.base}/webhooks/mailgun", timeout=10).status_code == 405


def test_a_webhook_body_may_be_bigger_than_a_form_but_not_without_limit(webhooks: Served) -> None:
    """SendGrid batches events: up to 4 MiB for it, where the pages' forms take 64 KB."""
    assert post(webhooks, "sendgrid", b"[" + b" " * 200_000 + b"]", {"Content-Length": "200002"}).status_code == 401
    assert post(webhooks, "mailgun", b" " * 2_000_000).status_code == 413
    assert post(webhooks, "sendgrid", b" " * 5_000_000).status_code == 413
