"""Hostile input is normal input: every provider's webhook, fed arbitrary bytes, headers and JSON, either reads
events whose every field is bounded and typed, or rejects with a WebhookRejected — never another exception.

Two layers per provider: unsigned garbage (bytes, JSON, header values) must be *rejected*, never read; and
arbitrary JSON in the provider's shape, correctly signed (as if the secret had leaked, or the provider had a
bug), must be read or rejected cleanly. A bounded number of cases runs with the suite; more on demand:

    ACTIONMAIL_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest -q tests/test_feedback_fuzz.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actionmail.feedback import PROVIDERS, FeedbackEvent, Kind, WebhookRejected, WebhookResult, read_webhook
from tests.feedback_signing import (
    MAILGUN_KEY,
    NOW,
    SVIX_SECRET,
    TOPIC,
    Certificates,
    basic,
    mailgun_body,
    request,
    sendgrid_headers,
    sendgrid_public_key,
    sns_notification,
    sns_sign,
    svix_headers,
)

EXAMPLES = int(os.environ.get("ACTIONMAIL_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENV = {
    "ACTIONMAIL_MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
    "ACTIONMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY": sendgrid_public_key(),
    "ACTIONMAIL_POSTMARK_WEBHOOK_USERNAME": "postmark",
    "ACTIONMAIL_POSTMARK_WEBHOOK_PASSWORD": "pw",
    "ACTIONMAIL_SES_WEBHOOK_TOPIC_ARN": TOPIC,
    "ACTIONMAIL_RESEND_WEBHOOK_SECRET": SVIX_SECRET,
    "ACTIONMAIL_BREVO_WEBHOOK_TOKEN": "token",
}
CERTIFICATES = Certificates()

# Every field name the readers look at, so that generated objects reach them with values of any type.
FIELDS = [
    "event", "severity", "reason", "recipient", "timestamp", "id", "delivery-status", "message", "headers",
    "message-id", "user-variables", "send_id", "tag", "tags", "email", "type", "sg_event_id", "sg_message_id",
    "category", "response", "RecordType", "Type", "ID", "Email", "Recipient", "MessageID", "Details", "Description",
    "BouncedAt", "DeliveredAt", "ChangedAt", "SuppressSending", "SuppressionReason", "Metadata", "Tag",
    "X-Mailin-custom", "ts_epoch", "ts_event", "ts", "data", "to", "email_id", "created_at", "bounce", "suppressed",
    "unsubscribed", "name", "value", "eventType", "notificationType", "mail", "messageId", "destination",
    "bouncedRecipients", "bounceType", "emailAddress", "diagnosticCode", "complaint", "complainedRecipients",
    "complaintFeedbackType", "delivery", "recipients", "smtpResponse", "deliveryDelay", "delayedRecipients",
    "subscription", "newTopicPreferences", "unsubscribeAll", "reject", "failed",
]  # fmt: skip
NAMES = [
    "delivered", "failed", "accepted", "rejected", "complained", "unsubscribed", "bounced", "opened", "bounce",
    "dropped", "deferred", "processed", "spamreport", "unsubscribe", "group_unsubscribe", "Bounce", "Delivery",
    "SpamComplaint", "SubscriptionChange", "permanent", "temporary", "suppress-bounce", "old", "HardBounce",
    "SoftBounce", "hard_bounce", "hardBounce", "spam", "email.bounced", "email.suppressed", "contact.updated",
    "email.delivered", "Complaint", "Send", "Reject", "DeliveryDelay", "Subscription", "Permanent", "Transient",
    "previous_bounce", "Bounced Address",
]  # fmt: skip
# JSON's "\ud800" escapes make lone surrogates, which a plain str.encode() raises on: some text is made of them.
SURROGATES = st.text(st.characters(categories=["Cs", "Ll", "Nd"]), min_size=1, max_size=8)
TEXT = (
    st.text(max_size=30)
    | SURROGATES
    | st.sampled_from(NAMES)
    | st.sampled_from(["a@example.org", "A <a@example.org>", ""])
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=25,
)
OBJECT = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=10)


def check(provider: str, result: WebhookResult) -> None:
    assert isinstance(result, WebhookResult)
    for event in result.events:
        assert isinstance(event, FeedbackEvent) and event.provider == provider
        assert isinstance(event.kind, Kind)
        assert event.dedupe_key.startswith(provider + ":") and len(event.dedupe_key) <= 260
        assert event.recipient is None or (isinstance(event.recipient, str) and 0 < len(event.recipient) <= 320)
        assert event.reason is None or (0 < len(event.reason) <= 200 and event.reason.isprintable())
        assert event.at is None or (isinstance(event.at, dt.datetime) and event.at.tzinfo is not None)
        for value in (event.message_id, event.send_id, event.tag, event.event):
            assert value is None or (isinstance(value, str) and len(value) <= 250)


def attempt(provider: str, signed: Any) -> None:
    try:
        result = read_webhook(provider, signed, certificates=CERTIFICATES)
    except WebhookRejected as e:
        assert 400 <= e.status < 600 and e.message
    else:
        check(provider, result)


@FUZZ
@given(
    provider=st.sampled_from(PROVIDERS),
    body=st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(
        st.sampled_from(["Authorization", "svix-id", "svix-timestamp", "svix-signature", "X-Twilio-Email-Event-Webhook-Signature",
                         "X-Twilio-Email-Event-Webhook-Timestamp", "webhook-signature", "Content-Type"]),
        st.text(max_size=60) | SURROGATES | st.sampled_from(["Basic cG9zdG1hcms6cHc=x", "Bearer x", "v1,", "1764873000", "Basic "]),
        max_size=5,
    ),
)  # fmt: skip
def test_unsigned_garbage_is_always_rejected(provider: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        read_webhook(provider, request(body, headers, ENV), certificates=CERTIFICATES)
    except WebhookRejected as e:
        assert e.status in (400, 401, 403, 413)
    else:
        raise AssertionError(f"{provider} read an unsigned request")


@FUZZ
@given(data=OBJECT, token=st.text(min_size=1, max_size=60) | SURROGATES)
def test_mailgun_signed(data: dict[str, Any], token: str) -> None:
    attempt("mailgun", request(mailgun_body(data, token=token), env=ENV))


@FUZZ
@given(body=st.lists(OBJECT | JSON, max_size=5) | JSON)
def test_sendgrid_signed(body: Any) -> None:
    raw = json.dumps(body).encode()
    attempt("sendgrid", request(raw, sendgrid_headers(raw), ENV))


@FUZZ
@given(
    body=OBJECT | JSON,
    record_type=st.sampled_from(["Bounce", "Delivery", "SpamComplaint", "SubscriptionChange", "Open"]),
)
def test_postmark_signed_in(body: Any, record_type: str) -> None:
    if isinstance(body, dict):
        body = {"RecordType": record_type, **body}
    attempt("postmark", request(json.dumps(body), basic("postmark", "pw"), ENV))


@FUZZ
@given(body=st.lists(OBJECT, max_size=4) | OBJECT | JSON, event=st.sampled_from(NAMES))
def test_brevo_signed_in(body: Any, event: str) -> None:
    if isinstance(body, dict):
        body = {"event": event, **body}
    attempt("brevo", request(json.dumps(body), {"Authorization": "Bearer token"}, ENV))


@FUZZ
@given(data=OBJECT | JSON, kind=st.sampled_from(NAMES) | JSON, created=JSON)
def test_resend_signed(data: Any, kind: Any, created: Any) -> None:
    raw = json.dumps({"type": kind, "created_at": created, "data": data}).encode()
    attempt("resend", request(raw, svix_headers(raw), ENV))


@FUZZ
@given(
    event=OBJECT | JSON | st.text(max_size=40),
    kind=st.sampled_from(
        ["Bounce", "Complaint", "Delivery", "Send", "Reject", "DeliveryDelay", "Subscription", "Open"]
    ),
)
def test_ses_signed(event: Any, kind: str) -> None:
    if isinstance(event, dict):
        event = {"eventType": kind, **event}
    message = sns_sign(sns_notification(event if isinstance(event, str) else json.dumps(event)))
    attempt("ses", request(json.dumps(message), env=ENV))


def test_deep_nesting_inside_signed_bodies() -> None:
    deep = "[" * 50_000 + "]" * 50_000
    raw = deep.encode()
    for provider, signed in (
        ("sendgrid", request(raw, sendgrid_headers(raw), ENV)),
        ("resend", request(raw, svix_headers(raw), ENV)),
        ("brevo", request(raw, {"Authorization": "Bearer token"}, ENV)),
    ):
        try:
            read_webhook(provider, signed)
        except WebhookRejected as e:
            assert (e.status, e.message.endswith("the JSON is nested too deeply")) == (400, True)
    # The SES event is JSON inside the signed SNS JSON: nested too deeply there, it is skipped, not raised.
    result = read_webhook(
        "ses", request(json.dumps(sns_sign(sns_notification(deep))), env=ENV), certificates=CERTIFICATES
    )
    assert (result.events, result.skipped) == ([], ["SNS notification that is not an SES event"])
    custom = {"event": "spam", "email": "a@example.org", "X-Mailin-custom": deep}
    [event] = read_webhook("brevo", request(json.dumps(custom), {"Authorization": "Bearer token"}, ENV)).events
    assert (event.kind, event.send_id) == (Kind.COMPLAINT, None)


def test_now_is_the_only_clock() -> None:
    """The readers take the time from the request, so that these tests hold on any day."""
    raw = b"[]"
    assert read_webhook("sendgrid", request(raw, sendgrid_headers(raw, at=NOW), ENV, now=NOW)).events == []


def test_lone_surrogates_from_json_and_the_environment() -> None:
    """JSON's ``"\\ud800"`` and os.environ's undecodable bytes are lone surrogates: no encode() may raise on them."""
    [event] = read_webhook(
        "mailgun",
        request(mailgun_body({"event": "complained", "recipient": "\ud800@example.org"}, token="\udc80" * 50), env=ENV),
    ).events
    assert (event.kind, event.recipient) == (Kind.COMPLAINT, "\ufffd@example.org")
    event.recipient.encode()  # storable
    odd = {**ENV, "ACTIONMAIL_POSTMARK_WEBHOOK_PASSWORD": "p\udcffw", "ACTIONMAIL_BREVO_WEBHOOK_TOKEN": "t\udcff"}
    for provider, headers in (("postmark", basic("postmark", "pw")), ("brevo", {"Authorization": "Bearer t\udcff"})):
        try:
            read_webhook(provider, request(b"{}", headers, odd))
        except WebhookRejected as e:
            assert e.status in (400, 401)
