"""Mailgun's webhooks: signed with a key made here; documented event shapes; forged, stale and replayed posts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from actionmail.feedback import FeedbackEvent, Kind, NotConfigured, WebhookRejected, read_webhook
from tests.feedback_signing import MAILGUN_KEY, NOW, mailgun_body, request

ENV = {"ACTIONMAIL_MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


def failed(severity: str, reason: str, code: int, message: str) -> dict[str, Any]:
    """A ``failed`` event as Mailgun's event-types doc and anymail's tests show it."""
    return {
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "timestamp": 1765000000.123456,
        "log-level": "error",
        "event": "failed",
        "severity": severity,
        "reason": reason,
        "recipient": "maria.garcia@example.org",
        "recipient-domain": "example.org",
        "delivery-status": {"attempt-no": 1, "code": code, "message": message, "description": "", "retry-seconds": 0},
        "message": {
            "headers": {
                "to": "maria.garcia@example.org",
                "message-id": "20261204183000.1.ABCDEF@mg.seattleindivisible.com",
                "from": "Seattle Indivisible <action@seattleindivisible.com>",
                "subject": "Call your council member today",
            },
            "attachments": [],
            "size": 40211,
        },
        "flags": {"is-routed": False, "is-authenticated": True, "is-system-test": False, "is-test-mode": False},
        "tags": ["2019-08-01"],
        "user-variables": {"send_id": "17"},
    }


def read(event_data: dict[str, Any], **signing: Any) -> list[FeedbackEvent]:
    return read_webhook("mailgun", request(mailgun_body(event_data, **signing), env=ENV)).events


def test_a_hard_bounce_is_read_in_full() -> None:
    body = mailgun_body(failed("permanent", "bounce", 550, "5.1.1 The email account does not exist."), token="t" * 50)
    [event] = read_webhook("mailgun", request(body, env=ENV)).events
    assert event == FeedbackEvent(
        provider="mailgun",
        kind=Kind.HARD_BOUNCE,
        event="failed/permanent",
        recipient="maria.garcia@example.org",
        at=dt.datetime(2025, 12, 6, 5, 46, 40, 123456, tzinfo=dt.UTC),
        message_id="20261204183000.1.ABCDEF@mg.seattleindivisible.com",
        send_id="17",
        tag="2019-08-01",
        dedupe_key="mailgun:" + "t" * 50,
        reason="5.1.1 The email account does not exist.",
    )


@pytest.mark.parametrize(
    ("severity", "reason", "kind"),
    [
        ("permanent", "bounce", Kind.HARD_BOUNCE),
        ("permanent", "suppress-bounce", Kind.HARD_BOUNCE),
        ("permanent", "generic", Kind.HARD_BOUNCE),
        ("permanent", "suppress-unsubscribe", Kind.UNSUBSCRIBE),
        ("permanent", "suppress-complaint", Kind.COMPLAINT),
        ("permanent", "old", Kind.SOFT_BOUNCE),  # given up after hours of temporary failures
        ("permanent", "espblock", Kind.SOFT_BOUNCE),
        ("temporary", "generic", Kind.DEFERRED),  # Mailgun is still retrying
        ("temporary", "greylisted", Kind.DEFERRED),
    ],
)
def test_failures_by_severity_and_reason(severity: str, reason: str, kind: Kind) -> None:
    [event] = read(failed(severity, reason, 550 if severity == "permanent" else 452, "text"))
    assert event.kind is kind


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("delivered", Kind.DELIVERED, "OK"),
        ("accepted", Kind.ACCEPTED, None),
        ("complained", Kind.COMPLAINT, "spam complaint"),
        ("unsubscribed", Kind.UNSUBSCRIBE, "unsubscribed through Mailgun"),
        ("opened", Kind.OTHER, None),
        ("clicked", Kind.OTHER, None),
        ("rejected", Kind.FAILED, "OK"),
    ],
)
def test_other_events(name: str, kind: Kind, reason: str | None) -> None:
    data = failed("", "", 250, "OK")
    data["event"] = name
    del data["severity"], data["reason"]
    [event] = read(data)
    assert (event.kind, event.reason, event.event) == (kind, reason, name)


def test_a_forged_signature_is_refused() -> None:
    body = mailgun_body(failed("permanent", "bounce", 550, "x"), key="not-the-key")
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("mailgun", request(body, env=ENV))
    assert (raised.value.status, raised.value.message) == (
        401,
        "Mailgun signature does not match: check the signing key",
    )


def test_a_changed_timestamp_or_token_breaks_the_signature() -> None:
    body = json.loads(mailgun_body(failed("permanent", "bounce", 550, "x")))
    for field, value in (("timestamp", str(int(NOW.timestamp()) + 1)), ("token", "a" * 50)):
        changed = {**body, "signature": {**body["signature"], field: value}}
        with pytest.raises(WebhookRejected) as raised:
            read_webhook("mailgun", request(json.dumps(changed), env=ENV))
        assert raised.value.status == 401


def test_a_stale_request_is_refused_even_when_signed() -> None:
    body = mailgun_body(failed("permanent", "bounce", 550, "x"), at=NOW - dt.timedelta(minutes=16))
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("mailgun", request(body, env=ENV))
    assert (raised.value.status, raised.value.message) == (
        401,
        "timestamp too old (more than 15 min ago): replay or wrong clock",
    )
    fresh = mailgun_body(failed("permanent", "bounce", 550, "x"), at=NOW - dt.timedelta(minutes=14))
    assert read_webhook("mailgun", request(fresh, env=ENV)).events
    ahead = mailgun_body(failed("permanent", "bounce", 550, "x"), at=NOW + dt.timedelta(minutes=6))
    with pytest.raises(WebhookRejected):
        read_webhook("mailgun", request(ahead, env=ENV))


def test_a_replay_with_other_event_data_has_the_same_dedupe_key() -> None:
    """Mailgun signs timestamp + token only: a captured signature re-sent with a forged event verifies, so the
    token is the dedupe key, and the caller that applies each key once applies only the first."""
    original = json.loads(mailgun_body(failed("temporary", "generic", 452, "x")))
    forged = {
        **original,
        "event-data": {**original["event-data"], "severity": "permanent", "recipient": "x@example.org"},
    }
    [first] = read_webhook("mailgun", request(json.dumps(original), env=ENV)).events
    [second] = read_webhook("mailgun", request(json.dumps(forged), env=ENV)).events
    assert first.dedupe_key == second.dedupe_key == "mailgun:" + original["signature"]["token"]


def test_no_signing_key_means_nothing_is_read() -> None:
    with pytest.raises(NotConfigured) as raised:
        read_webhook("mailgun", request(mailgun_body(failed("permanent", "bounce", 550, "x")), env={}))
    assert (raised.value.status, raised.value.message) == (
        503,
        "Mailgun webhooks are not set up: set ACTIONMAIL_MAILGUN_WEBHOOK_SIGNING_KEY to the webhook signing key",
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"token=abc&timestamp=1&signature=x", 400, "Mailgun webhook: the body is not valid JSON"),
        (b"\xff\xfe{}", 400, "Mailgun webhook: the body is not UTF-8"),
        (b"[]", 401, "no Mailgun signature (a JSON body with 'signature' is expected)"),
        (b'{"signature": "x"}', 401, "no Mailgun signature (a JSON body with 'signature' is expected)"),
        (
            b'{"signature": {"timestamp": "1e9", "token": "t", "signature": "s"}}',
            401,
            "Mailgun signature: no timestamp",
        ),
        (
            b'{"signature": {"timestamp": 12, "token": 5, "signature": "s"}}',
            401,
            "Mailgun signature: no token or signature",
        ),
        (b"[" * 100_000 + b"]" * 100_000, 400, "Mailgun webhook: the JSON is nested too deeply"),
        (b'{"a": NaN}', 400, "Mailgun webhook: the body is not valid JSON"),
        (b'{"a": ' + b"9" * 5000 + b"}", 400, "Mailgun webhook: the body is not valid JSON"),
        (b" " * (1024 * 1024 + 1), 413, "request body over 1024 KiB"),
    ],
)
def test_malformed_bodies(body: bytes, status: int, message: str) -> None:
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("mailgun", request(body, env=ENV))
    assert (raised.value.status, raised.value.message) == (status, message)


def test_signed_but_without_event_data() -> None:
    body = json.loads(mailgun_body({}))
    del body["event-data"]
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("mailgun", request(json.dumps(body), env=ENV))
    assert (raised.value.status, raised.value.message) == (400, "Mailgun webhook: no 'event-data' object")


def test_hostile_fields_are_left_out_not_raised() -> None:
    data = {
        "event": "failed",
        "severity": "permanent",
        "recipient": ["a@example.org"],
        "timestamp": 1e308,
        "delivery-status": "not an object",
        "message": {"headers": None},
        "tags": "x" * 5000,
        "user-variables": [],
    }
    [event] = read(data)
    assert (event.kind, event.recipient, event.at, event.message_id, event.send_id) == (
        Kind.HARD_BOUNCE,
        None,
        None,
        None,
        None,
    )
    assert event.tag == "x" * 200
