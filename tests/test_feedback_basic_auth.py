"""Postmark and Brevo, which sign nothing: basic auth (and Brevo's bearer token), the documented payloads,
wrong and missing credentials, and the dedupe keys that make a repeated post apply once."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from actionmail.feedback import Kind, NotConfigured, WebhookRejected, read_webhook
from tests.feedback_signing import basic, request

POSTMARK = {"ACTIONMAIL_POSTMARK_WEBHOOK_USERNAME": "postmark", "ACTIONMAIL_POSTMARK_WEBHOOK_PASSWORD": "correct horse"}
BREVO = {"ACTIONMAIL_BREVO_WEBHOOK_USERNAME": "brevo", "ACTIONMAIL_BREVO_WEBHOOK_PASSWORD": "battery staple"}
CHALLENGE = {"WWW-Authenticate": 'Basic realm="actionmail webhooks", charset="UTF-8"'}

# Postmark's bounce webhook doc, with our Metadata and Tag.
POSTMARK_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Name": "Hard bounce",
    "Tag": "2019-08-01",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Metadata": {"send_id": "17"},
    "ServerID": 23,
    "MessageStream": "broadcast",
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    "Email": "maria.garcia@example.org",
    "From": "action@seattleindivisible.com",
    "BouncedAt": "2019-08-05T14:33:20.0000000-04:00",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": True,
    "Subject": "Call your council member today",
}


def postmark(body: dict[str, Any]) -> Any:
    return read_webhook("postmark", request(json.dumps(body), basic("postmark", "correct horse"), POSTMARK)).events


def test_a_postmark_bounce() -> None:
    [event] = postmark(POSTMARK_BOUNCE)
    assert (event.kind, event.event, event.recipient, event.at) == (
        Kind.HARD_BOUNCE,
        "Bounce/HardBounce",
        "maria.garcia@example.org",
        dt.datetime(2019, 8, 5, 18, 33, 20, tzinfo=dt.UTC),
    )
    assert (event.message_id, event.send_id, event.tag, event.dedupe_key, event.reason) == (
        "883953f4-6105-42a2-a16a-77a8eac79483",
        "17",
        "2019-08-01",
        "postmark:Bounce-4323372036854775807",
        "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    )


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({"Type": "SoftBounce", "TypeCode": 4096}, Kind.SOFT_BOUNCE),
        ({"Type": "Transient", "TypeCode": 2}, Kind.SOFT_BOUNCE),
        ({"Type": "DnsError", "TypeCode": 256}, Kind.SOFT_BOUNCE),
        ({"Type": "BadEmailAddress", "TypeCode": 100000}, Kind.HARD_BOUNCE),
        ({"Type": "AutoResponder", "TypeCode": 64}, Kind.OTHER),
        ({"RecordType": "SpamComplaint", "Type": "SpamComplaint", "TypeCode": 512}, Kind.COMPLAINT),
    ],
)
def test_postmark_bounce_types(changes: dict[str, Any], kind: Kind) -> None:
    assert postmark({**POSTMARK_BOUNCE, **changes})[0].kind is kind


def test_postmark_delivery_and_subscription_changes() -> None:
    delivery = {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "broadcast",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Recipient": "ana@example.org",
        "Tag": "2019-08-01",
        "DeliveredAt": "2019-08-05T14:33:20Z",
        "Details": "Test delivery webhook details",
        "Metadata": {"send_id": "17"},
    }
    change = {
        "RecordType": "SubscriptionChange",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ServerID": 23,
        "MessageStream": "broadcast",
        "ChangedAt": "2019-08-05T14:38:20Z",
        "Recipient": "jose.lopez@example.org",
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": "ManualSuppression",
        "Tag": "2019-08-01",
        "Metadata": {"send_id": "17"},
    }
    [delivered] = postmark(delivery)
    [unsubscribed] = postmark(change)
    [reactivated] = postmark({**change, "SuppressSending": False, "SuppressionReason": None})
    assert [(e.kind, e.recipient, e.reason) for e in (delivered, unsubscribed, reactivated)] == [
        (Kind.DELIVERED, "ana@example.org", "Test delivery webhook details"),
        (Kind.UNSUBSCRIBE, "jose.lopez@example.org", "Postmark: ManualSuppression"),
        (Kind.OTHER, "jose.lopez@example.org", None),
    ]
    # No ID on these: the key is made of what identifies the event, the same each time it is posted.
    assert delivered.dedupe_key == postmark(delivery)[0].dedupe_key != unsubscribed.dedupe_key
    assert delivered.dedupe_key.startswith("postmark:#")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "basic auth required"),
        (basic("postmark", "wrong"), "wrong credentials"),
        (basic("someone", "correct horse"), "wrong credentials"),
        ({"Authorization": "Basic !!!"}, "wrong credentials"),
        ({"Authorization": "Basic bm9jb2xvbg=="}, "wrong credentials"),  # "nocolon"
        ({"Authorization": "Bearer correct horse"}, "basic auth required"),
    ],
)
def test_postmark_without_the_right_credentials(headers: dict[str, str], message: str) -> None:
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("postmark", request(json.dumps(POSTMARK_BOUNCE), headers, POSTMARK))
    assert (raised.value.status, raised.value.message, raised.value.headers) == (401, message, CHALLENGE)


def test_credentials_are_checked_before_the_body_is_read() -> None:
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("postmark", request(b"\xff not json", {}, POSTMARK))
    assert raised.value.status == 401


def test_postmark_not_configured() -> None:
    for env, message in (
        (
            {},
            "Postmark webhooks are not set up: set ACTIONMAIL_POSTMARK_WEBHOOK_USERNAME and ACTIONMAIL_POSTMARK_WEBHOOK_PASSWORD",
        ),
        (
            {"ACTIONMAIL_POSTMARK_WEBHOOK_USERNAME": "postmark"},
            "set both ACTIONMAIL_POSTMARK_WEBHOOK_USERNAME and ACTIONMAIL_POSTMARK_WEBHOOK_PASSWORD (only one is set)",
        ),
    ):
        with pytest.raises(NotConfigured) as raised:
            read_webhook("postmark", request(json.dumps(POSTMARK_BOUNCE), basic("postmark", "x"), env))
        assert (raised.value.status, raised.value.message) == (503, message)


def test_postmark_signed_in_but_not_an_event() -> None:
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("postmark", request(b'{"Type": "HardBounce"}', basic("postmark", "correct horse"), POSTMARK))
    assert (raised.value.status, raised.value.message) == (
        400,
        "Postmark webhook: a JSON object with 'RecordType' is expected",
    )


def brevo_event(event: str, **more: Any) -> dict[str, Any]:
    """A transactional event as Brevo's webhook doc and anymail's tests show it, with our X-Mailin-custom."""
    return {
        "event": event,
        "email": "maria.garcia@example.org",
        "id": 1234567,
        "date": "2019-08-05 20:33:20",
        "ts": 1565030000,
        "message-id": "<201908051833.12345678901@smtp-relay.mailin.fr>",
        "ts_event": 1565030000,
        "subject": "Call your council member today",
        "X-Mailin-custom": '{"send_id": "17", "tag": "2019-08-01"}',
        "sending_ip": "185.41.28.109",
        "ts_epoch": 1565030000123,
        "tags": ["2019-08-01"],
        **more,
    }


def brevo(body: Any, headers: dict[str, str] | None = None, env: dict[str, str] | None = None) -> Any:
    return read_webhook(
        "brevo",
        request(
            json.dumps(body),
            basic("brevo", "battery staple") if headers is None else headers,
            BREVO if env is None else env,
        ),
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("request", Kind.ACCEPTED),
        ("delivered", Kind.DELIVERED),
        ("deferred", Kind.DEFERRED),
        ("soft_bounce", Kind.SOFT_BOUNCE),
        ("hard_bounce", Kind.HARD_BOUNCE),
        ("hardBounce", Kind.HARD_BOUNCE),
        ("invalid_email", Kind.HARD_BOUNCE),
        ("spam", Kind.COMPLAINT),
        ("unsubscribe", Kind.UNSUBSCRIBE),
        ("unsubscribed", Kind.UNSUBSCRIBE),
        ("blocked", Kind.FAILED),
        ("error", Kind.FAILED),
        ("opened", Kind.OTHER),
        ("click", Kind.OTHER),
    ],
)
def test_brevo_events(name: str, kind: Kind) -> None:
    [event] = brevo(brevo_event(name, reason="550 5.1.1 unknown user")).events
    assert (event.kind, event.recipient, event.message_id, event.send_id, event.tag, event.reason) == (
        kind,
        "maria.garcia@example.org",
        "<201908051833.12345678901@smtp-relay.mailin.fr>",
        "17",
        "2019-08-01",
        "550 5.1.1 unknown user",
    )
    assert event.at == dt.datetime(2019, 8, 5, 18, 33, 20, 123000, tzinfo=dt.UTC)


def test_brevo_batches_and_dedupe() -> None:
    batch = [brevo_event("delivered"), brevo_event("hard_bounce"), brevo_event("delivered"), "junk"]
    result = brevo(batch)
    assert [e.kind for e in result.events] == [Kind.DELIVERED, Kind.HARD_BOUNCE, Kind.DELIVERED]
    assert result.events[0].dedupe_key == result.events[2].dedupe_key != result.events[1].dedupe_key
    assert result.skipped == ["event [3] is not an object with 'event'"]


def test_brevo_bearer_token() -> None:
    env = {"ACTIONMAIL_BREVO_WEBHOOK_TOKEN": "a-long-random-token"}
    assert (
        brevo(brevo_event("spam"), {"Authorization": "Bearer a-long-random-token"}, env).events[0].kind
        is Kind.COMPLAINT
    )
    for headers in ({"Authorization": "Bearer another-token"}, {}, basic("brevo", "battery staple")):
        with pytest.raises(WebhookRejected) as raised:
            brevo(brevo_event("spam"), headers, env)
        assert (raised.value.status, raised.value.message) == (401, "wrong or missing bearer token")
    # With both set, either one admits the request.
    both = {**env, **BREVO}
    assert brevo(brevo_event("spam"), {"Authorization": "Bearer a-long-random-token"}, both).events
    assert brevo(brevo_event("spam"), basic("brevo", "battery staple"), both).events
    with pytest.raises(WebhookRejected):
        brevo(brevo_event("spam"), basic("brevo", "wrong"), both)


def test_brevo_not_configured_and_not_an_event() -> None:
    with pytest.raises(NotConfigured) as raised:
        brevo(brevo_event("spam"), env={})
    assert raised.value.message == (
        "Brevo webhooks are not set up: set ACTIONMAIL_BREVO_WEBHOOK_TOKEN, or ACTIONMAIL_BREVO_WEBHOOK_USERNAME and "
        "ACTIONMAIL_BREVO_WEBHOOK_PASSWORD"
    )
    with pytest.raises(WebhookRejected) as raised:
        brevo({"email": "a@example.org"})
    assert (raised.value.status, raised.value.message) == (400, "Brevo webhook: a JSON object with 'event' is expected")


def test_unknown_provider() -> None:
    with pytest.raises(WebhookRejected) as raised:
        read_webhook("mailchimp", request(b"{}"))
    assert (raised.value.status, raised.value.message) == (404, "no such provider")
