"""Resend's webhooks, signed by Svix: Svix's own test vector, a secret made here, the documented event types;
forged, stale and future-dated posts, and a rotated secret's several signatures."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from actionmail.feedback import Kind, NotConfigured, WebhookRejected, read_webhook
from actionmail.feedback.resend import signing_key, verify
from tests.feedback_signing import NOW, SVIX_SECRET, request, svix_headers

ENV = {"ACTIONMAIL_RESEND_WEBHOOK_SECRET": SVIX_SECRET}


def test_svix_test_vector() -> None:
    """The example in Svix's docs and its library's tests (feedback.md §2.5, verified there)."""
    headers = {
        "svix-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "svix-timestamp": "1614265330",
        "svix-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    env = {"ACTIONMAIL_RESEND_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    then = dt.datetime.fromtimestamp(1614265330, dt.UTC)
    signed = request(b'{"test": 2432232314}', headers, env, now=then)
    assert verify(signed, signing_key(signed)) == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    with pytest.raises(WebhookRejected):
        verify(request(b'{"test": 2432232315}', headers, env, now=then), signing_key(signed))


def email_event(kind: str, **data: Any) -> dict[str, Any]:
    """An email event as Resend's OpenAPI spec describes it, with the tags our provider module sets."""
    return {
        "type": kind,
        "created_at": "2026-12-04T18:29:58.123Z",
        "data": {
            "email_id": "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
            "created_at": "2026-12-04T18:29:50.000Z",
            "from": "Seattle Indivisible <action@seattleindivisible.com>",
            "to": ["Maria Garcia <maria.garcia@example.org>"],
            "subject": "Call your council member today",
            "tags": {"tag": "2019-08-01", "send_id": "17"},
            **data,
        },
    }


def read(body: dict[str, Any], **signing: Any) -> Any:
    raw = json.dumps(body).encode()
    return read_webhook("resend", request(raw, svix_headers(raw, **signing), ENV)).events


@pytest.mark.parametrize(
    ("body", "kind", "reason"),
    [
        (email_event("email.sent"), Kind.ACCEPTED, None),
        (email_event("email.delivered"), Kind.DELIVERED, None),
        (email_event("email.delivery_delayed"), Kind.DEFERRED, None),
        (
            email_event(
                "email.bounced",
                bounce={
                    "type": "Permanent",
                    "subType": "General",
                    "message": "The recipient's email address does not exist.",
                },
            ),
            Kind.HARD_BOUNCE,
            "The recipient's email address does not exist.",
        ),
        (
            email_event(
                "email.bounced", bounce={"type": "Transient", "subType": "MailboxFull", "message": "Mailbox full"}
            ),
            Kind.SOFT_BOUNCE,
            "Mailbox full",
        ),
        (email_event("email.complained"), Kind.COMPLAINT, None),
        (
            email_event(
                "email.suppressed", suppressed={"type": "OnAccountSuppressionList", "reason": "previous_bounce"}
            ),
            Kind.HARD_BOUNCE,
            "suppressed by Resend: previous_bounce",
        ),
        (
            email_event("email.suppressed", suppressed={"type": "Suppressed", "reason": "previous_complaint"}),
            Kind.COMPLAINT,
            "suppressed by Resend: previous_complaint",
        ),
        (email_event("email.failed", failed={"reason": "reached_daily_quota"}), Kind.FAILED, "reached_daily_quota"),
        (email_event("email.opened"), Kind.OTHER, None),
    ],
)
def test_email_events(body: dict[str, Any], kind: Kind, reason: str | None) -> None:
    [event] = read(body, message_id="msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
    assert (event.kind, event.reason, event.recipient, event.event) == (
        kind,
        reason,
        "maria.garcia@example.org",
        body["type"],
    )
    assert (event.message_id, event.send_id, event.tag, event.dedupe_key) == (
        "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
        "17",
        "2019-08-01",
        "resend:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    )
    assert event.at == dt.datetime(2026, 12, 4, 18, 29, 58, 123000, tzinfo=dt.UTC)


def test_a_contact_that_unsubscribed() -> None:
    body = {
        "type": "contact.updated",
        "created_at": "2026-12-04T18:29:58.000Z",
        "data": {"id": "e169aa45", "audience_id": "78261eea", "email": "jose.lopez@example.org", "unsubscribed": True},
    }
    [event] = read(body)
    assert (event.kind, event.recipient, event.reason) == (
        Kind.UNSUBSCRIBE,
        "jose.lopez@example.org",
        "unsubscribed through Resend",
    )
    body["data"]["unsubscribed"] = False
    assert read(body)[0].kind is Kind.OTHER


def test_tags_as_a_list_and_headers() -> None:
    body = email_event(
        "email.delivered",
        tags=[{"name": "send_id", "value": "18"}],
        headers=[{"name": "X-Actionmail-Tag", "value": "2019-08-02"}],
    )
    [event] = read(body)
    assert (event.send_id, event.tag) == ("18", "2019-08-02")


def test_forged_stale_and_future_posts_are_refused() -> None:
    raw = json.dumps(email_event("email.complained")).encode()
    other = "whsec_" + base64.b64encode(b"another secret, 24 bytes").decode()
    for headers, message in (
        (svix_headers(raw, secret=other), "Svix signature does not match: check the signing secret"),
        (
            svix_headers(raw, at=NOW - dt.timedelta(minutes=6)),
            "timestamp too old (more than 5 min ago): replay or wrong clock",
        ),
        (
            svix_headers(raw, at=NOW + dt.timedelta(minutes=6)),
            "timestamp in the future (more than 5 min ahead): wrong clock",
        ),
        ({}, "no Svix signature (svix-id, svix-timestamp, svix-signature)"),
        ({**svix_headers(raw), "svix-timestamp": "soon"}, "svix-timestamp is not a Unix time"),
        (
            {**svix_headers(raw), "svix-signature": "v2,abc v1"},
            "Svix signature does not match: check the signing secret",
        ),
    ):
        with pytest.raises(WebhookRejected) as raised:
            read_webhook("resend", request(raw, headers, ENV))
        assert (raised.value.status, raised.value.message) == (401, message)


def test_an_altered_id_or_body_is_refused() -> None:
    raw = json.dumps(email_event("email.delivered")).encode()
    headers = svix_headers(raw)
    for attempt in (request(raw + b" ", headers, ENV), request(raw, {**headers, "svix-id": "msg_other"}, ENV)):
        with pytest.raises(WebhookRejected):
            read_webhook("resend", attempt)


def test_any_of_several_signatures_and_the_standard_webhooks_names() -> None:
    raw = json.dumps(email_event("email.delivered")).encode()
    headers = svix_headers(raw)
    rotated = {**headers, "svix-signature": "v1,bm90IHRoaXMgb25l " + headers["svix-signature"] + " v2,other"}
    assert read_webhook("resend", request(raw, rotated, ENV)).events
    standard = {k.replace("svix-", "webhook-"): v for k, v in headers.items()}
    assert read_webhook("resend", request(raw, standard, ENV)).events


def test_the_secret_must_be_set_and_usable() -> None:
    raw = json.dumps(email_event("email.delivered")).encode()
    for env, message in (
        (
            {},
            "Resend webhooks are not set up: set ACTIONMAIL_RESEND_WEBHOOK_SECRET to the webhook's signing secret (whsec_…)",
        ),
        (
            {"ACTIONMAIL_RESEND_WEBHOOK_SECRET": "whsec_!!"},
            "ACTIONMAIL_RESEND_WEBHOOK_SECRET is not a Svix secret: copy the webhook's whole signing secret (whsec_…)",
        ),
    ):
        with pytest.raises(NotConfigured) as raised:
            read_webhook("resend", request(raw, svix_headers(raw), env))
        assert raised.value.message == message


def test_signed_but_not_an_event() -> None:
    raw = b'["email.bounced"]'
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("resend", request(raw, svix_headers(raw), ENV))
    assert (raised.value.status, raised.value.message) == (400, "Resend webhook: a JSON object with 'type' is expected")
