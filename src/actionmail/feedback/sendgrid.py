"""SendGrid's signed Event Webhook: ECDSA P-256 with SHA-256 over the timestamp header and the raw body.

Headers ``X-Twilio-Email-Event-Webhook-Signature`` (base64 DER signature) and
``X-Twilio-Email-Event-Webhook-Timestamp``; the signed bytes are the timestamp's text followed by the body,
with nothing between (SendGrid's webhook-security doc; sendgrid-python ``helpers/eventwebhook``; anymail). The
body is a JSON array of events; each has ``sg_event_id``, the dedupe key (duplicates are common: SendGrid
issue docs#2933 saw three copies on average). Our ``custom_args`` come back as top-level keys.

Settings: ``ACTIONMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY`` — the verification key SendGrid shows once signing is
enabled (Mail Settings → Event Webhook), base64 DER as shown (``MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…``) or PEM.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from actionmail.feedback.events import (
    FeedbackEvent,
    Kind,
    address,
    dedupe_key,
    epoch,
    first_text,
    list_entry,
    short,
    text,
    utf8,
)
from actionmail.feedback.webhook import (
    MAX_BATCH_BODY,
    NotConfigured,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
    check_age,
    check_size,
    load_json,
)

PROVIDER = "sendgrid"
PUBLIC_KEY = "ACTIONMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# SendGrid documents no window (feedback.md); each POST is signed when sent, so a retry carries a new time.
MAX_AGE = dt.timedelta(minutes=10)
MAX_AHEAD = dt.timedelta(minutes=5)


def public_key(request: WebhookRequest) -> ec.EllipticCurvePublicKey:
    raw = request.secret(PUBLIC_KEY)
    if not raw:
        raise NotConfigured(f"SendGrid webhooks are not set up: set {PUBLIC_KEY} to the event webhook's public key")
    try:
        if raw.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(utf8(raw))
        else:
            key = serialization.load_der_public_key(base64.b64decode("".join(raw.split()), validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise NotConfigured(f"{PUBLIC_KEY} is not a P-256 public key: paste the key SendGrid shows, as it is")
    return key


def read(request: WebhookRequest) -> WebhookResult:
    key = public_key(request)
    check_size(request, MAX_BATCH_BODY)
    signature, timestamp = request.header(SIGNATURE_HEADER), request.header(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise WebhookRejected(401, f"no SendGrid signature ({SIGNATURE_HEADER}, {TIMESTAMP_HEADER})")
    timestamp = timestamp.strip()
    signed_at = epoch(timestamp) if re.fullmatch(r"\d{1,12}", timestamp) else None
    if signed_at is None:
        raise WebhookRejected(401, f"{TIMESTAMP_HEADER} is not a Unix time")
    try:
        key.verify(
            base64.b64decode(signature.strip(), validate=True),
            utf8(timestamp) + request.body,
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, binascii.Error, ValueError):
        raise WebhookRejected(401, "SendGrid signature does not match: check the public key") from None
    check_age(request, signed_at, MAX_AGE, MAX_AHEAD)
    body = load_json(request.body, "SendGrid event webhook")
    if not isinstance(body, list):
        raise WebhookRejected(400, "SendGrid event webhook: a JSON array of events is expected")
    result = WebhookResult()
    for index, record in enumerate(body):
        if isinstance(record, dict):
            result.events.append(event(record))
        else:
            result.skipped.append(f"event [{index}] is not an object")
    return result


# "dropped" because SendGrid already had the address on one of its lists: the list says why.
_DROPPED = {
    "bounced address": Kind.HARD_BOUNCE,
    "spam reporting address": Kind.COMPLAINT,
    "unsubscribed address": Kind.UNSUBSCRIBE,
}


def classify(record: Mapping[str, Any]) -> tuple[Kind, str | None]:
    """What one SendGrid event means (Event Webhook doc; anymail)."""
    name = record.get("event")
    if name == "bounce":
        if record.get("type") == "blocked":  # SendGrid files blocks apart from bounces: the receiver's policy
            return Kind.SOFT_BOUNCE, short(record.get("reason"))
        return Kind.HARD_BOUNCE, short(record.get("reason"))
    if name == "spamreport":
        return Kind.COMPLAINT, "spam report"
    if name in ("unsubscribe", "group_unsubscribe"):
        return Kind.UNSUBSCRIBE, "unsubscribed through SendGrid"
    if name == "dropped":
        reason = text(record.get("reason"), 200)
        kind = _DROPPED.get((reason or "").lower())
        return (kind or Kind.FAILED), short(f"dropped by SendGrid: {reason}" if kind else reason)
    if name == "processed":
        return Kind.ACCEPTED, None
    if name == "delivered":
        return Kind.DELIVERED, short(record.get("response"))
    if name == "deferred":
        return Kind.DEFERRED, short(record.get("response") or record.get("reason"))
    return Kind.OTHER, None


def event(record: Mapping[str, Any]) -> FeedbackEvent:
    kind, reason = classify(record)
    name = text(record.get("event"), 40) or "?"
    kind_of_bounce = text(record.get("type"), 20) if name in ("bounce", "dropped") else None
    message_id = text(record.get("sg_message_id"), 250)
    event_id = text(record.get("sg_event_id"), 200)
    at = epoch(record.get("timestamp"))
    recipient = address(record.get("email"))
    key = dedupe_key(PROVIDER, event_id) if event_id else dedupe_key(PROVIDER, name, message_id, recipient, at)
    return FeedbackEvent(
        provider=PROVIDER,
        kind=kind,
        event=f"{name}/{kind_of_bounce}" if kind_of_bounce else name,
        recipient=recipient,
        at=at,
        message_id=message_id,
        send_id=text(record.get("send_id"), 200),  # our custom_args, at the event's top level
        tag=first_text(record.get("category"), 200),
        dedupe_key=key,
        reason=reason,
    )


# What an entry on each suppression list means (GET /v3/suppression/bounces, /blocks, /spam_reports,
# /invalid_emails, and /unsubscribes: the global list). Blocks are the receiver's policy, not the address.
SUPPRESSION_LISTS = {
    "bounces": Kind.HARD_BOUNCE,
    "blocks": Kind.SOFT_BOUNCE,
    "spam_reports": Kind.COMPLAINT,
    "invalid_emails": Kind.HARD_BOUNCE,
    "unsubscribes": Kind.UNSUBSCRIBE,
}


def suppression(list_name: str, record: Mapping[str, Any]) -> FeedbackEvent | None:
    """An entry of one of SendGrid's suppression lists (``email``, ``created`` in Unix seconds; bounces and
    blocks add ``reason`` and ``status``), or None if it names no address."""
    recipient = address(record.get("email"))
    if recipient is None:
        return None
    kind = SUPPRESSION_LISTS[list_name]
    status = text(record.get("status"), 20)
    if list_name == "bounces" and status and status.startswith("4"):  # a temporary failure (4.x.x)
        kind = Kind.SOFT_BOUNCE
    reason = {
        Kind.COMPLAINT: "spam report",
        Kind.UNSUBSCRIBE: "unsubscribed through SendGrid",
    }.get(kind) or short(record.get("reason") or list_name.replace("_", " "))
    created = record.get("created")
    return list_entry(
        PROVIDER,
        kind,
        recipient,
        event=f"{list_name}/{status}" if status else list_name,
        at=epoch(created),
        reason=reason,
        key=("suppression", list_name, recipient.lower(), text(created, 40)),
    )
