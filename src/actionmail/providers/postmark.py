"""Postmark: one ``/email/batch`` call per batch of up to 500 complete messages, one per recipient.

Postmark fills in nothing itself without a stored template (``TemplateModel`` is ignored by /email/batch,
anymail#470), so each message is filled in here and carries its own List-Unsubscribe in ``Headers``. The answer
is 200 with one result per message, in order; a message can fail while the call succeeds.
Reference: docs/providers.md §3 (Postmark's API overview, batch and unsubscribe docs; anymail's postmark backend).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import requests

from actionmail.config.providers import PostmarkSettings, ProviderSettings
from actionmail.providers.base import Batch, BatchResult, ProviderError
from actionmail.providers.http import HTTPProvider

VARIABLE = "ACTIONMAIL_POSTMARK_API_KEY"  # the server API token
# ErrorCode 300 about an address is that recipient's fault ("Invalid 'To' address: 'x'."); other 300s are the
# request's (anymail). 406: the recipient is inactive (hard bounce, spam complaint or manual suppression).
_RECIPIENT_300 = re.compile(r"^(Invalid|Error\s+parsing)\s+'(To|Cc|Bcc)'", re.IGNORECASE)
_INACTIVE = re.compile(r"inactive addresses:\s*(.*?)\.\s*Inactive recipients", re.IGNORECASE | re.DOTALL)


class Postmark(HTTPProvider):
    name = "postmark"
    max_batch = 500  # messages per /email/batch call, 50 MB in all (doc)
    can_schedule = False  # no scheduled sending (anymail)
    idempotent = False  # no idempotency key
    settings_model: ClassVar[type[ProviderSettings]] = PostmarkSettings
    settings: PostmarkSettings

    def send(self, batch: Batch) -> BatchResult:
        auth = {"X-Postmark-Server-Token": self.secret(VARIABLE), "Accept": "application/json"}  # read when sending
        envelope = batch.envelope
        messages: list[dict[str, Any]] = []
        for r in batch.recipients:
            subject, html, text = batch.content(r)
            message = {
                "From": envelope.from_,
                "To": batch.to(r),
                "Subject": subject,
                "HtmlBody": html,
                "TextBody": text,
                # A Broadcast stream adds its own unsubscribe link and headers unless support has turned that
                # off for a sender that handles unsubscribes itself, as we do (Postmark support article 1300).
                "Headers": [{"Name": name, "Value": value} for name, value in batch.headers(r).items()],
                "Tag": envelope.tag,  # one tag per message
                "Metadata": {"send_id": envelope.send_id},  # field names at most 20 characters
                "MessageStream": self.settings.message_stream,
            }
            if envelope.reply_to:
                message["ReplyTo"] = envelope.reply_to
            messages.append(message)

        response = self.post("email/batch", json=messages, headers=auth)
        try:
            results = response.json()
            if not isinstance(results, list) or len(results) != len(messages):
                raise ValueError
        except ValueError:
            raise ProviderError(
                self.name,
                f"answered {response.status_code} without one result per message",
                status=response.status_code,
                body=response.text,
                maybe_sent=True,
            ) from None
        return self._read(batch, results, response)

    def _read(self, batch: Batch, results: list[Any], response: requests.Response) -> BatchResult:
        """Per message: accepted, refused for its recipient, or refused for a reason of the account or request."""
        out = BatchResult()
        elsewhere: dict[str, tuple[int, str]] = {}  # key → (ErrorCode, Message)
        for r, result in zip(batch.recipients, results, strict=True):
            # ErrorCode is missing from "Message accepted, but delivery may be delayed." (anymail#392).
            code, message = int(result.get("ErrorCode", 0)), str(result.get("Message", ""))
            if code == 0:
                found = _INACTIVE.search(message)  # "Message OK, but will not deliver to these inactive addresses"
                if found and r.email.lower() in (a.strip().lower() for a in found[1].split(",")):
                    out.rejected[r.key] = message
                else:
                    out.accepted[r.key] = str(result.get("MessageID", ""))
            elif code == 406 or (code == 300 and _RECIPIENT_300.match(message)):
                out.rejected[r.key] = f"{message} (ErrorCode {code})"
            else:
                elsewhere[r.key] = (code, message)
        if elsewhere and len(elsewhere) == len(batch.recipients):
            # Every message failed and none for its recipient (a From that is not a sender signature, ErrorCode
            # 400; an account that may not send, 405/412/413): the next batch would fare no better.
            reasons = dict.fromkeys(f"{message} (ErrorCode {code})" for code, message in elsewhere.values())
            raise ProviderError(
                self.name,
                "every message was refused: " + "; ".join(reasons),
                status=response.status_code,
                transient=all(code == 429 for code, _ in elsewhere.values()),  # 429: rate limit exceeded
            )
        out.rejected |= {key: f"{message} (ErrorCode {code})" for key, (code, message) in elsewhere.items()}
        return out

    def error_message(self, response: requests.Response) -> str:
        # {"ErrorCode": n, "Message": "…"} for 401 and 422 (doc).
        try:
            body = response.json()
            message = f"{body['Message']} (ErrorCode {body['ErrorCode']})"
        except (ValueError, KeyError, TypeError):
            message = response.text.strip() or response.reason or "request refused"
        if response.status_code == 401:
            return f"{message}: put the server's API token in {VARIABLE}"
        return message
