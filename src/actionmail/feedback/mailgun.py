"""Mailgun's webhooks: HMAC-SHA256 of timestamp + token with the webhook signing key; one event per POST.

Body: ``{"signature": {"timestamp", "token", "signature"}, "event-data": {…}}`` (Mailgun's securing-webhooks
doc; anymail ``webhooks/mailgun.py``). The signature covers the timestamp and the token only, not the event,
so the token is what makes a request unique: it is the event's dedupe key, and the caller, which applies each
key once, thereby refuses a captured request replayed with other event data inside the time window. Mailgun's
``event-data.id`` is "only guaranteed unique within a day" (anymail), so it is not used.

Settings: ``ACTIONMAIL_MAILGUN_WEBHOOK_SIGNING_KEY`` — the *HTTP webhook signing key* (Mailgun: Sending →
Webhooks), not the API key.
"""

from __future__ import annotations

import dataclasses
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
    epoch,
    first_text,
    list_entry,
    obj,
    rfc2822,
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

PROVIDER = "mailgun"
SIGNING_KEY = "ACTIONMAIL_MAILGUN_WEBHOOK_SIGNING_KEY"
# Mailgun names no window; its doc says to check the timestamp "is not too far from the current time". Fifteen
# minutes, as common webhook libraries use: the token dedupe is the real replay guard inside it.
MAX_AGE = dt.timedelta(minutes=15)
MAX_AHEAD = dt.timedelta(minutes=5)


def read(request: WebhookRequest) -> WebhookResult:
    key = request.secret(SIGNING_KEY)
    if not key:
        raise NotConfigured(f"Mailgun webhooks are not set up: set {SIGNING_KEY} to the webhook signing key")
    check_size(request, MAX_BODY)
    body = load_json(request.body, "Mailgun webhook")
    if not isinstance(body, dict) or not isinstance(body.get("signature"), dict):
        raise WebhookRejected(401, "no Mailgun signature (a JSON body with 'signature' is expected)")
    token = _verify(request, key, body["signature"])
    data = body.get("event-data")
    if not isinstance(data, dict):
        raise WebhookRejected(400, "Mailgun webhook: no 'event-data' object")
    return WebhookResult(events=[event(data, token)])


def _verify(request: WebhookRequest, key: str, signature: Mapping[str, Any]) -> str:
    timestamp, token, given = (signature.get(k) for k in ("timestamp", "token", "signature"))
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)
    if not (isinstance(timestamp, str) and re.fullmatch(r"\d{1,12}", timestamp)):
        raise WebhookRejected(401, "Mailgun signature: no timestamp")
    if not (isinstance(token, str) and 0 < len(token) <= 256 and isinstance(given, str) and len(given) <= 256):
        raise WebhookRejected(401, "Mailgun signature: no token or signature")
    expected = hmac.new(utf8(key), utf8(timestamp + token), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), utf8(given.lower())):
        raise WebhookRejected(401, "Mailgun signature does not match: check the signing key")
    signed_at = epoch(timestamp)
    if signed_at is None:  # unreachable with twelve digits; kept so that no input can pass without a time
        raise WebhookRejected(401, "Mailgun signature: no timestamp")
    check_age(request, signed_at, MAX_AGE, MAX_AHEAD)
    return token


def classify(data: Mapping[str, Any]) -> tuple[Kind, str | None]:
    """What a Mailgun event (the ``event-data`` object, as webhooks and the Events API give it) means."""
    name = data.get("event")
    status = obj(data.get("delivery-status"))
    detail = status.get("message") or status.get("description") or data.get("reason")
    if name == "failed":
        if data.get("severity") != "permanent":
            return Kind.DEFERRED, short(detail)  # Mailgun retries temporary failures (anymail: deferred)
        # A send Mailgun refused because the address was already on one of its lists says which one.
        reason = data.get("reason")
        if reason == "suppress-unsubscribe":
            return Kind.UNSUBSCRIBE, short(detail)
        if reason == "suppress-complaint":
            return Kind.COMPLAINT, short(detail)
        if reason in ("old", "espblock"):
            # "old": given up after retrying temporary failures for hours; "espblock": the receiving provider
            # blocked the sender. Neither says the address is dead.
            return Kind.SOFT_BOUNCE, short(detail)
        return Kind.HARD_BOUNCE, short(detail)
    if name == "bounced":  # legacy webhooks
        return Kind.HARD_BOUNCE, short(data.get("error") or detail)
    if name == "complained":
        return Kind.COMPLAINT, "spam complaint"
    if name == "unsubscribed":
        return Kind.UNSUBSCRIBE, "unsubscribed through Mailgun"
    if name == "accepted":
        return Kind.ACCEPTED, None
    if name == "delivered":
        return Kind.DELIVERED, short(detail)
    if name == "rejected":
        return Kind.FAILED, short(obj(data.get("reject")).get("reason") or detail)
    return Kind.OTHER, None


def event(data: Mapping[str, Any], token: str) -> FeedbackEvent:
    kind, reason = classify(data)
    name = text(data.get("event"), 40) or "?"
    severity = text(data.get("severity"), 20)
    headers = obj(obj(data.get("message")).get("headers"))
    variables = obj(data.get("user-variables"))
    return FeedbackEvent(
        provider=PROVIDER,
        kind=kind,
        event=f"{name}/{severity}" if severity else name,
        recipient=address(data.get("recipient")),
        at=epoch(data.get("timestamp")),
        message_id=text(headers.get("message-id"), 250),
        send_id=text(variables.get("send_id"), 200),
        tag=first_text(data.get("tags"), 200),
        dedupe_key=dedupe_key(PROVIDER, token),
        reason=reason,
    )


def pulled(data: Mapping[str, Any]) -> FeedbackEvent:
    """An event as the Events API gives it (the same ``event-data`` a webhook carries, without its signature).

    Its key is the event's ``id`` with its time: the id alone is "only guaranteed unique within a day" (anymail).
    The webhook's key, the signature token, is not in the Events API, so an event that came both ways is applied
    twice; what applying does is the same either time (a suppression, a delivery noted), so that is harmless.
    """
    found = event(data, "")
    key = dedupe_key(PROVIDER, "event", text(data.get("id"), 200), text(data.get("timestamp"), 40))
    return dataclasses.replace(found, dedupe_key=key)


# What an entry on each suppression list means (GET /v3/{domain}/bounces, /complaints, /unsubscribes).
SUPPRESSION_LISTS = {"bounces": Kind.HARD_BOUNCE, "complaints": Kind.COMPLAINT, "unsubscribes": Kind.UNSUBSCRIBE}


def suppression(list_name: str, record: Mapping[str, Any]) -> FeedbackEvent | None:
    """An entry of one of Mailgun's suppression lists (``address``, ``created_at`` in RFC 2822; bounces add
    ``code`` and ``error``, unsubscribes ``tags``), or None if it names no address."""
    recipient = address(record.get("address"))
    if recipient is None:
        return None
    kind = SUPPRESSION_LISTS[list_name]
    reason = {Kind.COMPLAINT: "spam complaint", Kind.UNSUBSCRIBE: "unsubscribed through Mailgun"}.get(kind)
    code = text(record.get("code"), 20)
    if kind is Kind.HARD_BOUNCE:
        reason = short(record.get("error")) or (f"bounced ({code})" if code else "bounced")
        if code and code.startswith("4"):  # a bounce list entry for a temporary failure: not a dead address
            kind = Kind.SOFT_BOUNCE
    created = text(record.get("created_at"), 64)
    return list_entry(
        PROVIDER,
        kind,
        recipient,
        event=f"{list_name}/{code}" if code else list_name,
        at=rfc2822(created),
        reason=reason,
        key=("suppression", list_name, recipient.lower(), created),
    )
