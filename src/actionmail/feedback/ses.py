"""Amazon SES events, published to an SNS topic that posts to this webhook.

SNS wraps each SES event: the body is an SNS message whose signature :mod:`actionmail.feedback.sns` checks,
and whose ``Message`` is the SES event as a JSON string, typed by ``eventType`` (configuration-set event
publishing) or ``notificationType`` (identity notifications) (SES's event-publishing examples; anymail
``webhooks/amazon_ses.py``). A valid SNS signature proves only that *some* AWS topic sent the message — anyone
can point their own topic here — so a topic allow-list or basic auth is required as well (anymail makes the
same point). A ``SubscriptionConfirmation`` from an allowed topic gives back its ``SubscribeURL`` for the caller
to GET; nothing flows until then.

One SNS message may cover several recipients: each gets an event, deduped on (SNS MessageId, recipient), which
SNS keeps across retries. ``mail.tags`` carries our ``send_id`` and ``tag`` (configuration-set publishing
only), ``mail.headers`` our ``X-Actionmail-*`` headers where "include original headers" is on.

Settings: ``ACTIONMAIL_SES_WEBHOOK_TOPIC_ARN`` — the topic(s) to accept, comma-separated — and/or
``ACTIONMAIL_SES_WEBHOOK_USERNAME`` and ``…_PASSWORD`` (credentials in the subscription's URL; SNS sends them
after a 401 challenge). At least one of the two is required.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from actionmail.feedback import sns
from actionmail.feedback.events import FeedbackEvent, Kind, address, dedupe_key, iso, list_entry, obj, short, text, when
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

PROVIDER = "ses"
TOPIC_ARN = "ACTIONMAIL_SES_WEBHOOK_TOPIC_ARN"
USERNAME = "ACTIONMAIL_SES_WEBHOOK_USERNAME"
PASSWORD = "ACTIONMAIL_SES_WEBHOOK_PASSWORD"


def topics(request: WebhookRequest) -> set[str]:
    return {t for t in (request.secret(TOPIC_ARN) or "").replace(",", " ").split() if t}


def read(request: WebhookRequest, certificates: sns.CertificateFetcher) -> WebhookResult:
    allowed = topics(request)
    credentials = basic_auth_settings(request, PROVIDER)
    if not allowed and credentials is None:
        raise NotConfigured(
            f"SES webhooks are not set up: set {TOPIC_ARN} to the SNS topic's ARN (and/or {USERNAME} and {PASSWORD})"
        )
    if credentials is not None:
        check_basic_auth(request, *credentials)
    check_size(request, MAX_BODY)
    message = load_json(request.body, "SNS message")
    if not isinstance(message, dict) or message.get("Type") not in sns.MESSAGE_TYPES:
        raise WebhookRejected(400, "SNS message: a JSON object with Type Notification or SubscriptionConfirmation")
    # The topic is signed, so one not on the list is refused before its certificate is fetched.
    topic = text(message.get("TopicArn"), 256)
    if allowed and topic not in allowed:
        raise WebhookRejected(403, f"SNS topic not accepted here: add it to {TOPIC_ARN}")
    sns.verify(message, certificates, request.now)
    result = WebhookResult(topic=topic)
    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        url = sns.aws_url(message.get("SubscribeURL"), pem=False)
        if url is None:
            raise WebhookRejected(400, "SNS SubscribeURL is not an https URL on sns.<region>.amazonaws.com")
        result.subscribe_url = url
    elif kind == "UnsubscribeConfirmation":
        result.skipped.append("SNS unsubscribe confirmation: nothing to do")
    else:
        try:
            ses_event = json.loads(message.get("Message") or "")
        except (ValueError, TypeError, RecursionError):
            ses_event = None
        if not isinstance(ses_event, dict):
            # e.g. "Successfully validated SNS topic for Amazon SES event publishing." (anymail)
            result.skipped.append("SNS notification that is not an SES event")
        else:
            sns_id = text(message.get("MessageId"), 200) or ""
            result.events.extend(events(ses_event, sns_id))
            if not result.events:
                result.skipped.append("SES event with no recipients")
    return result


def _type(ses_event: Mapping[str, Any]) -> str | None:
    """``eventType`` (event publishing) or ``notificationType`` (identity notifications), if it is a string."""
    return text(ses_event.get("eventType"), 40) or text(ses_event.get("notificationType"), 40)


def classify(ses_event: Mapping[str, Any], detail: Mapping[str, Any]) -> tuple[Kind, str | None]:
    """What one SES event means for one recipient (``detail``: that recipient's entry, where there is one)."""
    name = _type(ses_event)
    if name == "Bounce":
        bounce = obj(ses_event.get("bounce"))
        reason = short(detail.get("diagnosticCode") or bounce.get("bounceSubType"))
        if bounce.get("bounceType") == "Permanent":
            return Kind.HARD_BOUNCE, reason
        return Kind.SOFT_BOUNCE, reason  # Transient, or Undetermined: SES could not tell, so not suppressed yet
    if name == "Complaint":
        complaint = obj(ses_event.get("complaint"))
        if complaint.get("complaintFeedbackType") == "not-spam":
            return Kind.OTHER, "not-spam feedback"
        return Kind.COMPLAINT, short(complaint.get("complaintFeedbackType") or "spam complaint")
    if name == "Delivery":
        return Kind.DELIVERED, short(obj(ses_event.get("delivery")).get("smtpResponse"))
    if name == "Send":
        return Kind.ACCEPTED, None
    if name == "DeliveryDelay":
        return Kind.DEFERRED, short(obj(ses_event.get("deliveryDelay")).get("delayType"))
    if name in ("Reject", "Rendering Failure"):
        failure = obj(ses_event.get("reject")) or obj(ses_event.get("failure"))
        return Kind.FAILED, short(failure.get("reason") or failure.get("errorMessage"))
    if name == "Subscription":
        preferences = obj(obj(ses_event.get("subscription")).get("newTopicPreferences"))
        if preferences.get("unsubscribeAll") is True:
            return Kind.UNSUBSCRIBE, "unsubscribed through SES list management"
    return Kind.OTHER, None


def _recipients(ses_event: Mapping[str, Any]) -> Iterator[tuple[Any, Mapping[str, Any]]]:
    """Each recipient the event is about, with its own entry where the event has one."""
    name = _type(ses_event)
    lists = {
        "Bounce": ("bounce", "bouncedRecipients"),
        "Complaint": ("complaint", "complainedRecipients"),
        "DeliveryDelay": ("deliveryDelay", "delayedRecipients"),
    }
    if name in lists:
        outer, inner = lists[name]
        entries = obj(ses_event.get(outer)).get(inner)
        for entry in entries[:1000] if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                yield entry.get("emailAddress"), entry
        return
    if name == "Delivery":
        found = obj(ses_event.get("delivery")).get("recipients")
    else:
        found = obj(ses_event.get("mail")).get("destination")
    for recipient in found[:1000] if isinstance(found, list) else []:
        yield recipient, {}


def _ours(mail: Mapping[str, Any], name: str, header: str) -> str | None:
    values = obj(mail.get("tags")).get(name)  # name → list of values
    value = values[0] if isinstance(values, list) and values else values
    if text(value):
        return text(value, 200)
    headers = mail.get("headers")
    for item in headers[:200] if isinstance(headers, list) else []:
        if isinstance(item, dict) and str(item.get("name", "")).lower() == header:
            return text(item.get("value"), 200)
    return None


def events(ses_event: Mapping[str, Any], sns_id: str) -> list[FeedbackEvent]:
    """The SES event as one :class:`FeedbackEvent` per recipient."""
    mail = obj(ses_event.get("mail"))
    name = _type(ses_event) or "?"
    bounce_type = text(obj(ses_event.get("bounce")).get("bounceType"), 20) if name == "Bounce" else None
    section = {
        "Bounce": "bounce",
        "Complaint": "complaint",
        "Delivery": "delivery",
        "DeliveryDelay": "deliveryDelay",
        "Subscription": "subscription",
    }.get(name)
    at = iso(obj(ses_event.get(section)).get("timestamp")) if section else None
    out: list[FeedbackEvent] = []
    for raw, detail in _recipients(ses_event):
        recipient = address(raw)
        kind, reason = classify(ses_event, detail)
        out.append(
            FeedbackEvent(
                provider=PROVIDER,
                kind=kind,
                event=f"{name}/{bounce_type}" if bounce_type else name,
                recipient=recipient,
                at=at or iso(mail.get("timestamp")),
                message_id=text(mail.get("messageId"), 250),
                send_id=_ours(mail, "send_id", "x-actionmail-send"),
                tag=_ours(mail, "tag", "x-actionmail-tag"),
                dedupe_key=dedupe_key(PROVIDER, sns_id, name, recipient),
                reason=reason,
            )
        )
    return out


# The account-level suppression list's reasons (ListSuppressedDestinations).
SUPPRESSION_REASONS = {"BOUNCE": Kind.HARD_BOUNCE, "COMPLAINT": Kind.COMPLAINT}


def suppressed(summary: Mapping[str, Any]) -> FeedbackEvent | None:
    """An entry of the account's suppression list (``EmailAddress``, ``Reason``, ``LastUpdateTime``), or None if
    it names no address or a reason that is not one. SES adds only hard bounces there (and complaints)."""
    recipient = address(summary.get("EmailAddress"))
    reason = text(summary.get("Reason"), 20)
    kind = SUPPRESSION_REASONS.get(reason or "")
    if recipient is None or kind is None:
        return None
    at = when(summary.get("LastUpdateTime"))
    return list_entry(
        PROVIDER,
        kind,
        recipient,
        event=f"Suppressed/{reason}",
        at=at,
        reason=f"on the SES account's suppression list ({(reason or '').lower()})",
        key=("suppression", recipient.lower(), reason, at.isoformat() if at else None),
    )
