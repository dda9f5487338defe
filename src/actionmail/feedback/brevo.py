"""Brevo's transactional webhooks: no signature, so basic auth on the URL or a bearer token.

One JSON object per POST (or, with ``batched: true``, several: accepted as a JSON array, since Brevo does not
document the batched shape). Fields ``event``, ``email``, ``message-id``, ``reason``, ``X-Mailin-custom`` (our
``{"send_id", "tag"}``), ``tags``; times ``ts_epoch`` (ms), ``ts_event``/``ts`` (s) (Brevo's transactional
webhooks doc; anymail ``webhooks/brevo.py``). There is no event id (``id`` is the webhook's), so events are
deduped on (event, message-id, email, time).

Settings: ``ACTIONMAIL_BREVO_WEBHOOK_USERNAME`` and ``ACTIONMAIL_BREVO_WEBHOOK_PASSWORD`` (credentials in the
webhook's URL), and/or ``ACTIONMAIL_BREVO_WEBHOOK_TOKEN`` (the webhook's ``auth: {"type": "bearer", "token"}``,
sent as ``Authorization: Bearer …``). Either one, when it matches, admits the request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from actionmail.feedback.events import (
    FeedbackEvent,
    Kind,
    address,
    dedupe_key,
    epoch,
    first_text,
    iso,
    list_entry,
    obj,
    short,
    text,
)
from actionmail.feedback.webhook import (
    MAX_BATCH_BODY,
    NotConfigured,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
    basic_auth_settings,
    check_basic_auth,
    check_bearer,
    check_size,
    load_json,
)

PROVIDER = "brevo"
USERNAME = "ACTIONMAIL_BREVO_WEBHOOK_USERNAME"
PASSWORD = "ACTIONMAIL_BREVO_WEBHOOK_PASSWORD"
TOKEN = "ACTIONMAIL_BREVO_WEBHOOK_TOKEN"


def read(request: WebhookRequest) -> WebhookResult:
    credentials = basic_auth_settings(request, PROVIDER)
    token = request.secret(TOKEN)
    if credentials is None and token is None:
        raise NotConfigured(f"Brevo webhooks are not set up: set {TOKEN}, or {USERNAME} and {PASSWORD}")
    if not (token and check_bearer(request, token)):
        if credentials is None:
            raise WebhookRejected(401, "wrong or missing bearer token")
        check_basic_auth(request, *credentials)
    check_size(request, MAX_BATCH_BODY)
    body = load_json(request.body, "Brevo webhook")
    records = body if isinstance(body, list) else [body]
    result = WebhookResult()
    for index, record in enumerate(records):
        if isinstance(record, dict) and isinstance(record.get("event"), str):
            result.events.append(event(record))
        else:
            result.skipped.append(f"event [{index}] is not an object with 'event'")
    if not result.events and not isinstance(body, list):
        raise WebhookRejected(400, "Brevo webhook: a JSON object with 'event' is expected")
    return result


_KINDS = {
    "request": Kind.ACCEPTED,
    "sent": Kind.ACCEPTED,
    "delivered": Kind.DELIVERED,
    "deferred": Kind.DEFERRED,
    "soft_bounce": Kind.SOFT_BOUNCE,
    "hard_bounce": Kind.HARD_BOUNCE,
    "invalid_email": Kind.HARD_BOUNCE,  # the address can never work
    "invalid": Kind.HARD_BOUNCE,
    "spam": Kind.COMPLAINT,
    "complaint": Kind.COMPLAINT,
    "unsubscribe": Kind.UNSUBSCRIBE,  # anymail's payloads; hookdeck's say "unsubscribed": both are read
    "unsubscribed": Kind.UNSUBSCRIBE,
    "blocked": Kind.FAILED,  # already on Brevo's block list, reason unknown
    "error": Kind.FAILED,
    # The events API's filter for both kinds of bounce; a record so named does not say which, so not yet a
    # suppression (the soft-bounce policy decides).
    "bounces": Kind.SOFT_BOUNCE,
}
# The events API (GET /v3/smtp/statistics/events) names some events unlike the webhooks: read them as the
# webhook's, so that both map (and dedupe) alike.
_PULLED_NAMES = {
    "hard_bounces": "hard_bounce",
    "soft_bounces": "soft_bounce",
    "requests": "request",
    "clicks": "click",
    "invalid": "invalid_email",
}


def _name(value: Any) -> str:
    """``hard_bounce`` whether Brevo wrote it so or as ``hardBounce`` (its subscription names are camelCase)."""
    raw = text(value, 40) or ""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", raw).lower()


def classify(record: Mapping[str, Any]) -> tuple[Kind, str | None]:
    return _KINDS.get(_name(record.get("event")), Kind.OTHER), short(record.get("reason"))


def custom(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """Our ``X-Mailin-custom`` header, a JSON string the provider module wrote: ``{"send_id", "tag"}``."""
    raw = text(record.get("X-Mailin-custom"), 2000)
    if not raw:
        return {}
    try:
        return obj(json.loads(raw))
    except (ValueError, RecursionError):
        return {}


def event(record: Mapping[str, Any]) -> FeedbackEvent:
    kind, reason = classify(record)
    name = _name(record.get("event")) or "?"
    ours = custom(record)
    recipient = address(record.get("email"))
    message_id = text(record.get("message-id"), 250)
    at = epoch(record.get("ts_epoch"), 1000) or epoch(record.get("ts_event")) or epoch(record.get("ts"))
    return FeedbackEvent(
        provider=PROVIDER,
        kind=kind,
        event=name,
        recipient=recipient,
        at=at,  # not "date": Paris time without an offset
        message_id=message_id,
        send_id=text(ours.get("send_id"), 200),
        tag=text(ours.get("tag"), 200) or first_text(record.get("tags"), 200) or text(record.get("tag"), 200),
        dedupe_key=dedupe_key(PROVIDER, name, message_id, recipient, at.isoformat() if at else None),
        reason=reason,
    )


def pulled(record: Mapping[str, Any]) -> FeedbackEvent:
    """An event of the events API (``email``, ``date`` ISO 8601, ``messageId``, ``event``, ``reason``, ``tag``),
    named and keyed as its webhook would be (event, message id, recipient, time), so that one arriving both ways
    is applied once where both give the time to the second (Brevo does not document the precision of ``date``)."""
    name = _name(record.get("event"))
    name = _PULLED_NAMES.get(name, name)
    recipient = address(record.get("email"))
    message_id = text(record.get("messageId"), 250)
    at = iso(record.get("date"))
    kind, reason = classify({"event": name, "reason": record.get("reason")})
    return FeedbackEvent(
        provider=PROVIDER,
        kind=kind,
        event=name or "?",
        recipient=recipient,
        at=at,
        message_id=message_id,
        send_id=None,  # the events API does not return X-Mailin-custom
        tag=text(record.get("tag"), 200),
        dedupe_key=dedupe_key(PROVIDER, name, message_id, recipient, at.isoformat() if at else None),
        reason=reason,
    )


# Why a transactional contact is blocked (GET /v3/smtp/blockedContacts: ``reason.code``). "adminBlocked": the
# account blocked it by hand; Brevo sends it nothing, so neither should actionmail.
BLOCKED_REASONS = {
    "unsubscribedViaMA": Kind.UNSUBSCRIBE,
    "unsubscribedViaEmail": Kind.UNSUBSCRIBE,
    "unsubscribedViaApi": Kind.UNSUBSCRIBE,
    "adminBlocked": Kind.UNSUBSCRIBE,
    "hardBounce": Kind.HARD_BOUNCE,
    "contactFlaggedAsSpam": Kind.COMPLAINT,
}


def blocked(record: Mapping[str, Any]) -> FeedbackEvent | None:
    """A blocked transactional contact (``email``, ``senderEmail``, ``reason {code, message}``, ``blockedAt``), or
    None if it names no address or a reason that is not one."""
    recipient = address(record.get("email"))
    why = obj(record.get("reason"))
    code = text(why.get("code"), 40)
    kind = BLOCKED_REASONS.get(code or "")
    if recipient is None or kind is None:
        return None
    blocked_at = text(record.get("blockedAt"), 64)
    return list_entry(
        PROVIDER,
        kind,
        recipient,
        event=f"blocked/{code}",
        at=iso(blocked_at),
        reason=short(why.get("message")) or f"blocked at Brevo ({code})",
        key=("blocked", recipient.lower(), code, blocked_at),
    )
