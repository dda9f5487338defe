"""Hearing back: what providers report about the mail actionmail sent — verified, parsed, normalised.

The pipeline's last stage (load → check → render → deliver → *hear back*). For each provider's webhook it
takes a request's raw parts (:class:`WebhookRequest`) and either raises :class:`WebhookRejected` — answer its
``status`` with its ``message``; nothing is changed — or returns a :class:`WebhookResult` of
:class:`FeedbackEvent`\\ s, each with a :class:`Kind`, the recipient, the provider's message id, our send id and
tag where the message carried them back, the time, a dedupe key and the provider's words.

Nothing here writes to the store or answers HTTP: the caller (``actionmail serve``) applies the events, each
``dedupe_key`` once — which is also what turns a replayed request (Mailgun signs only timestamp + token) into a
no-op — and GETs an SNS ``subscribe_url``. What each provider verifies, and the settings: docs/feedback.md.
"""

from __future__ import annotations

from actionmail.feedback import brevo, mailgun, postmark, resend, sendgrid, ses
from actionmail.feedback.events import FeedbackEvent, Kind, same_message
from actionmail.feedback.policy import SoftBouncePolicy, SoftBounceVerdict, soft_bounce_verdict
from actionmail.feedback.sns import CertificateFetcher, SnsCertificates, confirm_subscription
from actionmail.feedback.webhook import (
    MAX_BATCH_BODY,
    MAX_BODY,
    NotConfigured,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
)

__all__ = [
    "PROVIDERS",
    "CertificateFetcher",
    "FeedbackEvent",
    "Kind",
    "NotConfigured",
    "SnsCertificates",
    "SoftBouncePolicy",
    "SoftBounceVerdict",
    "WebhookRejected",
    "WebhookRequest",
    "WebhookResult",
    "confirm_subscription",
    "max_body",
    "read_webhook",
    "same_message",
    "soft_bounce_verdict",
]

PROVIDERS = ("mailgun", "sendgrid", "postmark", "ses", "resend", "brevo")
_BATCHING = ("sendgrid", "brevo")
_default_certificates: SnsCertificates | None = None


def max_body(provider: str) -> int:
    """The largest body ``provider``'s webhook accepts: a server can stop reading past it (and answer 413)."""
    return MAX_BATCH_BODY if provider in _BATCHING else MAX_BODY


def read_webhook(
    provider: str, request: WebhookRequest, certificates: CertificateFetcher | None = None
) -> WebhookResult:
    """Verify and read one webhook request from ``provider`` (one of :data:`PROVIDERS`).

    Raises :class:`WebhookRejected` (404 for a provider actionmail does not know; :class:`NotConfigured`, a 503,
    when its ``ACTIONMAIL_<PROVIDER>_WEBHOOK_*`` settings are missing). ``certificates`` fetches SNS signing
    certificates (SES only); by default over HTTPS, cached for the life of the process.
    """
    if provider == "mailgun":
        return mailgun.read(request)
    if provider == "sendgrid":
        return sendgrid.read(request)
    if provider == "postmark":
        return postmark.read(request)
    if provider == "resend":
        return resend.read(request)
    if provider == "brevo":
        return brevo.read(request)
    if provider == "ses":
        return ses.read(request, certificates or _certificates())
    raise WebhookRejected(404, "no such provider")


def _certificates() -> SnsCertificates:
    global _default_certificates
    if _default_certificates is None:
        _default_certificates = SnsCertificates()
    return _default_certificates
