"""Resend's webhooks, signed by Svix: HMAC-SHA256 over ``svix-id.svix-timestamp.body``, base64, ``v1,`` entries.

Headers ``svix-id`` (unique per message, unchanged on redelivery: the dedupe key), ``svix-timestamp`` (Unix
seconds), ``svix-signature`` (space-separated ``v1,<base64>`` entries, several while a secret rotates); the
``webhook-`` names of Standard Webhooks are read too. The key is the base64 after ``whsec_``. Timestamps more
than five minutes old or ahead are refused (Resend's verify-webhooks doc; Svix's manual-verification doc and
``svix/webhooks.py``).

Written here rather than with the ``svix`` package: that is Svix's whole API client (httpx, pydantic models,
…) for these fifteen lines, which its own docs spell out and test vectors check (tests/test_feedback_resend.py).

Settings: ``ACTIONMAIL_RESEND_WEBHOOK_SECRET`` — the webhook's signing secret, ``whsec_…``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from actionmail.feedback.events import (
    FeedbackEvent,
    Kind,
    address,
    dedupe_key,
    first_text,
    iso,
    list_entry,
    obj,
    short,
    text,
    utf8,
)
from actionmail.feedback.webhook import (
    MAX_BODY,
    NotConfigured,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
    check_age,
    check_size,
    load_json,
)

PROVIDER = "resend"
SECRET = "ACTIONMAIL_RESEND_WEBHOOK_SECRET"
TOLERANCE = dt.timedelta(minutes=5)  # Svix's, both ways


def signing_key(request: WebhookRequest) -> bytes:
    raw = request.secret(SECRET)
    if not raw:
        raise NotConfigured(f"Resend webhooks are not set up: set {SECRET} to the webhook's signing secret (whsec_…)")
    try:
        key = base64.b64decode(raw.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise NotConfigured(f"{SECRET} is not a Svix secret: copy the webhook's whole signing secret (whsec_…)")
    return key


def verify(request: WebhookRequest, key: bytes) -> str:
    """Check the Svix signature; the message id (``svix-id``) if it holds, else :class:`WebhookRejected`."""
    message_id = request.header("svix-id") or request.header("webhook-id")
    timestamp = request.header("svix-timestamp") or request.header("webhook-timestamp")
    signatures = request.header("svix-signature") or request.header("webhook-signature")
    if not (message_id and timestamp and signatures):
        raise WebhookRejected(401, "no Svix signature (svix-id, svix-timestamp, svix-signature)")
    timestamp = timestamp.strip()
    if not re.fullmatch(r"\d{1,12}", timestamp) or len(message_id) > 256:
        raise WebhookRejected(401, "svix-timestamp is not a Unix time")
    signed = utf8(message_id) + b"." + utf8(timestamp) + b"." + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    matched = False
    for entry in signatures.split(" ")[:20]:
        version, _, given = entry.partition(",")
        if version == "v1" and hmac.compare_digest(expected, utf8(given)):
            matched = True
    if not matched:
        raise WebhookRejected(401, "Svix signature does not match: check the signing secret")
    check_age(request, dt.datetime.fromtimestamp(int(timestamp), dt.UTC), TOLERANCE, TOLERANCE)
    return message_id


def read(request: WebhookRequest) -> WebhookResult:
    key = signing_key(request)
    check_size(request, MAX_BODY)
    message_id = verify(request, key)
    body = load_json(request.body, "Resend webhook")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise WebhookRejected(400, "Resend webhook: a JSON object with 'type' is expected")
    return WebhookResult(events=[event(body, message_id)])


_KINDS = {
    "email.sent": Kind.ACCEPTED,
    "email.scheduled": Kind.ACCEPTED,
    "email.delivered": Kind.DELIVERED,
    "email.delivery_delayed": Kind.DEFERRED,
    "email.complained": Kind.COMPLAINT,
}


def classify(body: Mapping[str, Any]) -> tuple[Kind, str | None]:
    """What one Resend event means (the OpenAPI spec's webhook events)."""
    name = body.get("type")
    data = obj(body.get("data"))
    if name == "email.bounced":
        bounce = obj(data.get("bounce"))
        reason = short(bounce.get("message") or bounce.get("diagnosticCode"))
        if bounce.get("type") in ("Transient", "Undetermined"):
            return Kind.SOFT_BOUNCE, reason
        return Kind.HARD_BOUNCE, reason  # Permanent, or not said: Resend reports bounces it will not retry
    if name == "email.suppressed":
        suppressed = obj(data.get("suppressed"))
        why = suppressed.get("reason")
        kind = {"previous_bounce": Kind.HARD_BOUNCE, "previous_complaint": Kind.COMPLAINT}.get(str(why), Kind.FAILED)
        return kind, short(f"suppressed by Resend: {why}" if isinstance(why, str) else "suppressed by Resend")
    if name == "contact.updated":
        # Resend has no per-email unsubscribe event; a contact marked unsubscribed is the nearest.
        if data.get("unsubscribed") is True:
            return Kind.UNSUBSCRIBE, "unsubscribed through Resend"
        return Kind.OTHER, None
    if name == "email.failed":
        return Kind.FAILED, short(obj(data.get("failed")).get("reason"))
    return _KINDS.get(str(name), Kind.OTHER), None


def _ours(data: Mapping[str, Any], name: str) -> str | None:
    """Our value ``name`` from ``data.tags`` (an object in the spec; a list of {name, value} is read too), else
    from the ``X-Actionmail-Send``/``-Tag`` header, where ``data.headers`` lists them."""
    tags = data.get("tags")
    if isinstance(tags, dict):
        value = text(tags.get(name), 200)
        if value:
            return value
    elif isinstance(tags, list):
        for tag in tags[:50]:
            if isinstance(tag, dict) and tag.get("name") == name and text(tag.get("value")):
                return text(tag.get("value"), 200)
    header = {"send_id": "x-actionmail-send", "tag": "x-actionmail-tag"}[name]
    headers = data.get("headers")
    for item in headers[:100] if isinstance(headers, list) else []:
        if isinstance(item, dict) and str(item.get("name", "")).lower() == header:
            return text(item.get("value"), 200)
    return None


def event(body: Mapping[str, Any], svix_id: str) -> FeedbackEvent:
    kind, reason = classify(body)
    data = obj(body.get("data"))
    name = text(body.get("type"), 40) or "?"
    # An email event does not say which of several recipients it concerns (anymail takes to[0]); actionmail sends
    # one recipient per email. A contact event names its contact.
    recipient = address(data.get("email") if name.startswith("contact.") else first_text(data.get("to")))
    return FeedbackEvent(
        provider=PROVIDER,
        kind=kind,
        event=name,
        recipient=recipient,
        at=iso(body.get("created_at")) or iso(data.get("created_at")),
        message_id=text(data.get("email_id"), 250),
        send_id=_ours(data, "send_id"),
        tag=_ours(data, "tag"),
        dedupe_key=dedupe_key(PROVIDER, svix_id),
        reason=reason,
    )


# Why an address is on the team's suppression list (GET /suppressions: ``origin``). "manual": the team put it
# there; Resend sends it nothing, so neither should actionmail.
SUPPRESSION_ORIGINS = {"bounce": Kind.HARD_BOUNCE, "complaint": Kind.COMPLAINT, "manual": Kind.UNSUBSCRIBE}


def suppression(record: Mapping[str, Any]) -> FeedbackEvent | None:
    """An entry of the suppression list (``id``, ``email``, ``origin``, ``source_id``: the email that bounced or
    complained, ``created_at``), or None if it names no address or an origin that is not one."""
    recipient = address(record.get("email"))
    origin = text(record.get("origin"), 20)
    kind = SUPPRESSION_ORIGINS.get(origin or "")
    if recipient is None or kind is None:
        return None
    entry = text(record.get("id"), 200)
    created = text(record.get("created_at"), 64)
    return list_entry(
        PROVIDER,
        kind,
        recipient,
        event=f"suppression/{origin}",
        at=iso(created),
        reason="suppressed by hand at Resend" if origin == "manual" else f"on Resend's suppression list ({origin})",
        key=("suppression", entry, recipient.lower(), created),
        message_id=text(record.get("source_id"), 250),  # the email that bounced or complained
    )


# An email's ``last_event`` (GET /emails, /emails/{id}) is the name of its latest webhook event without "email.";
# these two have no webhook event of their own.
_LAST_ONLY = {"queued": Kind.ACCEPTED, "canceled": Kind.FAILED}


def email_state(record: Mapping[str, Any]) -> FeedbackEvent | None:
    """What became of one email, as far as Resend says (its ``last_event``), read as that webhook event would be;
    None if the record is no email. Only the latest: an email delivered and then complained of says complained."""
    email_id = text(record.get("id"), 250)
    last = text(record.get("last_event"), 40)
    if email_id is None or last is None:
        return None
    kind, reason = classify({"type": f"email.{last}", "data": record})
    kind = _LAST_ONLY.get(last, kind)
    created = text(record.get("created_at"), 64)
    return FeedbackEvent(
        provider=PROVIDER,
        kind=kind,
        event=f"email.{last}",
        recipient=address(first_text(record.get("to"))),
        at=iso(created),  # when the email was sent: Resend does not say when its last event happened
        message_id=email_id,
        send_id=_ours(record, "send_id"),
        tag=_ours(record, "tag"),
        dedupe_key=dedupe_key(PROVIDER, "email", email_id, last),
        reason=reason,
    )
