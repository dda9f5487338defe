"""SendGrid's signed Event Webhook: an ECDSA P-256 key pair made here; a batch of the documented events;
forged, altered and stale posts."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from actionmail.feedback import Kind, NotConfigured, WebhookRejected, read_webhook
from tests.feedback_signing import NOW, request, sendgrid_headers, sendgrid_public_key

VARIABLE = "ACTIONMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY"
T = 1764873000  # 2025-12-04 18:30 UTC


def base(event: str, email: str, n: int, **more: Any) -> dict[str, Any]:
    """An event as SendGrid's Event Webhook reference shows it, with our custom_args and category."""
    return {
        "email": email,
        "timestamp": T + n,
        "smtp-id": f"<14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.{n}@ismtpd-555>",
        "event": event,
        "category": ["2019-08-01"],
        "sg_event_id": f"sg_event_id_{n}_rbtnWrG1DVDGGGFHFyun0A",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "send_id": "17",
        **more,
    }


BATCH = [
    base("processed", "ana@example.org", 0),
    base("delivered", "ana@example.org", 1, response="250 OK"),
    base("deferred", "ben@example.org", 2, response="400 try again later", attempt="5"),
    base(
        "bounce",
        "maria.garcia@example.org",
        3,
        reason="550 5.1.1 The email account does not exist.",
        status="5.1.1",
        type="bounce",
    ),
    base("bounce", "olga@example.net", 4, reason="550 blocked by policy", status="5.0.0", type="blocked"),
    base("dropped", "wei@example.net", 5, reason="Bounced Address", status="5.0.0"),
    base("dropped", "jo@example.net", 6, reason="Invalid SMTPAPI header", status="5.0.0"),
    base("spamreport", "wei.chen@example.net", 7),
    base("unsubscribe", "jose.lopez@example.org", 8),
    base("group_unsubscribe", "kim@example.org", 9, asm_group_id=10),
    base("open", "ana@example.org", 10, useragent="Mozilla/5.0", ip="255.255.255.255"),
    base("click", "ana@example.org", 11, url="https://example.org"),
]


def env(pem: bool = False) -> dict[str, str]:
    return {VARIABLE: sendgrid_public_key(pem=pem)}


@pytest.mark.parametrize("pem", [False, True])
def test_a_signed_batch(pem: bool) -> None:
    body = json.dumps(BATCH).encode()
    result = read_webhook("sendgrid", request(body, sendgrid_headers(body), env(pem)))
    assert [(e.event, e.kind, e.recipient) for e in result.events] == [
        ("processed", Kind.ACCEPTED, "ana@example.org"),
        ("delivered", Kind.DELIVERED, "ana@example.org"),
        ("deferred", Kind.DEFERRED, "ben@example.org"),
        ("bounce/bounce", Kind.HARD_BOUNCE, "maria.garcia@example.org"),
        ("bounce/blocked", Kind.SOFT_BOUNCE, "olga@example.net"),
        ("dropped", Kind.HARD_BOUNCE, "wei@example.net"),
        ("dropped", Kind.FAILED, "jo@example.net"),
        ("spamreport", Kind.COMPLAINT, "wei.chen@example.net"),
        ("unsubscribe", Kind.UNSUBSCRIBE, "jose.lopez@example.org"),
        ("group_unsubscribe", Kind.UNSUBSCRIBE, "kim@example.org"),
        ("open", Kind.OTHER, "ana@example.org"),
        ("click", Kind.OTHER, "ana@example.org"),
    ]
    bounce = result.events[3]
    assert (bounce.at, bounce.message_id, bounce.send_id, bounce.tag, bounce.dedupe_key, bounce.reason) == (
        dt.datetime(2025, 12, 4, 18, 30, 3, tzinfo=dt.UTC),
        "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "17",
        "2019-08-01",
        "sendgrid:sg_event_id_3_rbtnWrG1DVDGGGFHFyun0A",
        "550 5.1.1 The email account does not exist.",
    )
    assert result.events[5].reason == "dropped by SendGrid: Bounced Address"
    assert len({e.dedupe_key for e in result.events}) == len(BATCH)


def test_the_same_event_twice_has_one_key() -> None:
    body = json.dumps([BATCH[3], BATCH[3]]).encode()
    first, second = read_webhook("sendgrid", request(body, sendgrid_headers(body), env())).events
    assert first.dedupe_key == second.dedupe_key


def test_a_signature_by_another_key_is_refused() -> None:
    body = json.dumps(BATCH).encode()
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("sendgrid", request(body, sendgrid_headers(body, key=other), env()))
    assert (raised.value.status, raised.value.message) == (
        401,
        "SendGrid signature does not match: check the public key",
    )


def test_an_altered_body_or_timestamp_is_refused() -> None:
    body = json.dumps(BATCH).encode()
    headers = sendgrid_headers(body)
    altered = body.replace(b"delivered", b"spamreport")
    for attempt in (
        request(altered, headers, env()),
        request(body, {**headers, "X-Twilio-Email-Event-Webhook-Timestamp": str(int(NOW.timestamp()) + 1)}, env()),
        request(body, {**headers, "X-Twilio-Email-Event-Webhook-Signature": "not base64!"}, env()),
        request(
            body, {**headers, "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(b"\x30\x00").decode()}, env()
        ),
    ):
        with pytest.raises(WebhookRejected) as raised:
            read_webhook("sendgrid", attempt)
        assert raised.value.status == 401


def test_a_replayed_batch_is_refused_once_stale() -> None:
    body = json.dumps(BATCH).encode()
    old = sendgrid_headers(body, at=NOW - dt.timedelta(minutes=11))
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("sendgrid", request(body, old, env()))
    assert (raised.value.status, raised.value.message) == (
        401,
        "timestamp too old (more than 10 min ago): replay or wrong clock",
    )


def test_header_names_in_any_case() -> None:
    body = json.dumps(BATCH[:1]).encode()
    headers = {k.lower(): v for k, v in sendgrid_headers(body).items()}
    assert read_webhook("sendgrid", request(body, headers, env())).events


def test_unsigned_or_unconfigured() -> None:
    body = json.dumps(BATCH).encode()
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("sendgrid", request(body, {}, env()))
    assert raised.value.message == (
        "no SendGrid signature (X-Twilio-Email-Event-Webhook-Signature, X-Twilio-Email-Event-Webhook-Timestamp)"
    )
    with pytest.raises(NotConfigured) as raised:
        read_webhook("sendgrid", request(body, sendgrid_headers(body), {}))
    assert raised.value.status == 503
    for wrong in (
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
        "not a key",
        sendgrid_public_key(key=ec.generate_private_key(ec.SECP384R1())),
    ):
        with pytest.raises(NotConfigured) as raised:
            read_webhook("sendgrid", request(body, sendgrid_headers(body), {VARIABLE: wrong}))
        assert raised.value.message == f"{VARIABLE} is not a P-256 public key: paste the key SendGrid shows, as it is"


def test_signed_but_not_a_batch() -> None:
    for body, status, message in (
        (b'{"event": "bounce"}', 400, "SendGrid event webhook: a JSON array of events is expected"),
        (b"[1, null, []]", None, None),
    ):
        signed = request(body, sendgrid_headers(body), env())
        if status is None:
            assert read_webhook("sendgrid", signed).skipped == [
                "event [0] is not an object",
                "event [1] is not an object",
                "event [2] is not an object",
            ]
            continue
        with pytest.raises(WebhookRejected) as raised:
            read_webhook("sendgrid", signed)
        assert (raised.value.status, raised.value.message) == (status, message)
