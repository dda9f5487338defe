"""Postmark's webhooks: no signature, so basic auth on the URL (``https://user:password@host/webhooks/postmark``).

One JSON object per POST, ``RecordType`` Delivery, Bounce, SpamComplaint, SubscriptionChange, Open, Click
(Postmark's webhooks overview, bounce and subscription-change docs; anymail ``webhooks/postmark.py``). Only
Bounce and SpamComplaint carry an ``ID``; the others are deduped on (RecordType, MessageID, recipient, time).
Our ``Metadata`` comes back (string values), and ``Tag``.

Settings: ``ACTIONMAIL_POSTMARK_WEBHOOK_USERNAME`` and ``ACTIONMAIL_POSTMARK_WEBHOOK_PASSWORD``, the
credentials written into the webhook's URL in Postmark. Also worth doing: allow only Postmark's published
webhook IPs at the reverse proxy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actionmail.feedback.events import FeedbackEvent, Kind, address, dedupe_key, iso, list_entry, obj, short, text
from actionmail.feedback.webhook import (
    MAX_BODY,
    NotConfigured,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
    basic_auth_settings,
    check_basic_auth,
    check_size,
    load_json,
)

PROVIDER = "postmark"
USERNAME = "ACTIONMAIL_POSTMARK_WEBHOOK_USERNAME"
PASSWORD = "ACTIONMAIL_POSTMARK_WEBHOOK_PASSWORD"


def read(request: WebhookRequest) -> WebhookResult:
    credentials = basic_auth_settings(request, PROVIDER)
    if credentials is None:
        raise NotConfigured(f"Postmark webhooks are not set up: set {USERNAME} and {PASSWORD}")
    check_basic_auth(request, *credentials)
    check_size(request, MAX_BODY)
    body = load_json(request.body, "Postmark webhook")
    if not isinstance(body, dict) or not isinstance(body.get("RecordType"), str):
        raise WebhookRejected(400, "Postmark webhook: a JSON object with 'RecordType' is expected")
    return WebhookResult(events=[event(body)])


_BOUNCES = {
    "HardBounce": Kind.HARD_BOUNCE,
    "BadEmailAddress": Kind.HARD_BOUNCE,
    "SpamNotification": Kind.COMPLAINT,
    "SpamComplaint": Kind.COMPLAINT,
    "Unsubscribe": Kind.UNSUBSCRIBE,  # an unsubscribe request the member mailed back
    "SoftBounce": Kind.SOFT_BOUNCE,
    "Transient": Kind.SOFT_BOUNCE,
    "DnsError": Kind.SOFT_BOUNCE,
    "Blocked": Kind.SOFT_BOUNCE,  # the receiver's policy, not the address
    "ManuallyDeactivated": Kind.FAILED,
    "DMARCPolicy": Kind.FAILED,
    "SMTPApiError": Kind.FAILED,
    "TemplateRenderingFailed": Kind.FAILED,
}
# SuppressionReason, in SubscriptionChange events and the suppressions dump alike.
SUPPRESSION_REASONS = {
    "HardBounce": Kind.HARD_BOUNCE,
    "SpamComplaint": Kind.COMPLAINT,
    "ManualSuppression": Kind.UNSUBSCRIBE,  # Postmark's own unsubscribe link (Origin: Recipient)
}


def classify(record: Mapping[str, Any]) -> tuple[Kind, str | None]:
    """What one Postmark webhook record (or Bounce API record, which has no RecordType) means."""
    record_type = record.get("RecordType", "Bounce")
    if record_type == "SpamComplaint":
        return Kind.COMPLAINT, "spam complaint"
    if record_type == "SubscriptionChange":
        # SuppressSending false is a reactivation in Postmark: only a resubscribe brings a member back here.
        reason = text(record.get("SuppressionReason"), 40)
        kind = SUPPRESSION_REASONS.get(reason or "")
        if record.get("SuppressSending") is not True or kind is None:
            return Kind.OTHER, None
        return kind, f"Postmark: {reason}"
    if record_type == "Bounce":
        kind = _BOUNCES.get(text(record.get("Type"), 40) or "", Kind.OTHER)  # AutoResponder, … say it arrived
        return kind, short(record.get("Details") or record.get("Description"))
    if record_type == "Delivery":
        return Kind.DELIVERED, short(record.get("Details"))
    return Kind.OTHER, None


def event(record: Mapping[str, Any]) -> FeedbackEvent:
    kind, reason = classify(record)
    record_type = text(record.get("RecordType"), 40) or "?"
    bounce_type = text(record.get("Type"), 40) if record_type == "Bounce" else None
    recipient = address(record.get("Email") or record.get("Recipient"))
    message_id = text(record.get("MessageID"), 250)
    raw_at = next((record[k] for k in ("BouncedAt", "DeliveredAt", "ChangedAt", "ReceivedAt") if k in record), None)
    record_id = text(record.get("ID"), 40) if record_type in ("Bounce", "SpamComplaint") else None
    return FeedbackEvent(
        provider=PROVIDER,
        kind=kind,
        event=f"{record_type}/{bounce_type}" if bounce_type else record_type,
        recipient=recipient,
        at=iso(raw_at),
        message_id=message_id,
        send_id=text(obj(record.get("Metadata")).get("send_id"), 200),
        tag=text(record.get("Tag"), 200),
        dedupe_key=(
            dedupe_key(PROVIDER, f"{record_type}-{record_id}")
            if record_id
            else dedupe_key(PROVIDER, record_type, message_id, recipient, text(raw_at, 64))
        ),
        reason=reason,
    )


def bounce(record: Mapping[str, Any]) -> FeedbackEvent:
    """A record of the Bounces API (``GET /bounces``): a webhook's Bounce without its RecordType. A spam complaint
    is filed there too (``Type: SpamComplaint``), with the same ``ID`` its SpamComplaint webhook carries; so both
    are read as their webhook would be, and have the webhook's dedupe key."""
    record_type = "SpamComplaint" if record.get("Type") == "SpamComplaint" else "Bounce"
    return event({**record, "RecordType": record_type})


def suppression(stream: str, record: Mapping[str, Any]) -> FeedbackEvent | None:
    """An entry of a message stream's suppressions dump (``EmailAddress``, ``SuppressionReason``, ``Origin``,
    ``CreatedAt``), or None if it names no address or a reason that is not one."""
    recipient = address(record.get("EmailAddress"))
    reason = text(record.get("SuppressionReason"), 40)
    kind = SUPPRESSION_REASONS.get(reason or "")
    if recipient is None or kind is None:
        return None
    created = text(record.get("CreatedAt"), 64)
    origin = text(record.get("Origin"), 40)
    return list_entry(
        PROVIDER,
        kind,
        recipient,
        event=f"Suppression/{reason}",
        at=iso(created),
        reason=f"Postmark: {reason}" + (f" ({origin})" if origin else ""),
        key=("suppression", stream, recipient.lower(), reason, created),
    )


# A message the outbound search finds was taken by Postmark, whatever its Status (the search's status filter:
# queued, sent, processed): what became of it after that, the bounces and webhooks say.
_TAKEN = {"Queued", "Sent", "Processed"}


def messages(record: Mapping[str, Any]) -> list[FeedbackEvent]:
    """A record of the outbound message search (``GET /messages/outbound``): one event for each recipient."""
    status = text(record.get("Status"), 40) or "?"
    message_id = text(record.get("MessageID"), 250)
    found = record.get("Recipients")
    if not isinstance(found, list):
        found = [obj(person).get("Email") for person in record.get("To") or [] if isinstance(record.get("To"), list)]
    received = text(record.get("ReceivedAt"), 64)
    out = []
    for raw in found[:1000]:
        recipient = address(raw)
        if recipient is None:
            continue
        out.append(
            FeedbackEvent(
                provider=PROVIDER,
                kind=Kind.ACCEPTED if status in _TAKEN else Kind.OTHER,
                event=f"Message/{status}",
                recipient=recipient,
                at=iso(received),
                message_id=message_id,
                send_id=text(obj(record.get("Metadata")).get("send_id"), 200),
                tag=text(record.get("Tag"), 200),
                dedupe_key=dedupe_key(PROVIDER, "message", message_id, recipient.lower(), status),
                reason=None,
            )
        )
    return out
