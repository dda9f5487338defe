"""SendGrid v3 Mail Send: one call per batch, one personalization per recipient.

The HTML and text go up once with a substitution tag (``-am-h0-``) where each merge field was; each
personalization carries its recipient's ``to``, filled-in ``subject``, ``headers`` (List-Unsubscribe) and
``substitutions`` for the tags. Reference: docs/providers.md §2 (SendGrid's OpenAPI spec, errors, personalizations
and rate-limit docs; anymail's sendgrid backend).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import requests

from actionmail.config.providers import ProviderSettings, SendGridSettings
from actionmail.feedback import sendgrid as feedback
from actionmail.feedback.events import FeedbackEvent
from actionmail.providers import pull as paging
from actionmail.providers.base import (
    Batch,
    BatchResult,
    ProviderError,
    Pullable,
    PullNotSupported,
    Recipient,
)
from actionmail.providers.http import HTTPProvider, reading, seconds

VARIABLE = "ACTIONMAIL_SENDGRID_API_KEY"
# Substitutions: string values, at most 10,000 bytes per personalization (spec; the older Substitution Tags page
# says 50,000). Counted here as their JSON, a little over what SendGrid counts.
SUBSTITUTIONS_LIMIT = 10_000
SUPPRESSION_PAGE = 500  # limit: 1–500 (suppressions spec)


def _tag(part: str) -> Callable[[int], str]:
    # Substitutions replace tags literally, delimiters and all (anymail's merge_field_format exists for this):
    # the closing '-' keeps -am-h1- from matching inside -am-h10-.
    return lambda i: f"-am-{part}{i}-"


def _substitutions(batch: Batch, recipient: Recipient) -> dict[str, str]:
    out: dict[str, str] = {}
    for part, merge in (("h", batch.html), ("t", batch.text)):
        out |= {_tag(part)(i): value for i, value in enumerate(merge.slot_values(recipient.values))}
    return out


class SendGrid(HTTPProvider):
    name = "sendgrid"
    # 1,000 personalizations and 1,000 recipients (to+cc+bcc) per request (errors doc); one recipient each here.
    max_batch = 1000
    can_schedule = True  # send_at: unix seconds, at most 72 h ahead
    idempotent = False  # no idempotency key
    settings_model: ClassVar[type[ProviderSettings]] = SendGridSettings
    settings: SendGridSettings
    # Its suppression lists only. SendGrid's event APIs need more than an API key: the Email Activity API is a
    # paid add-on ("additional email activity history", 6 requests a minute), and the Email Logs API keeps no
    # custom args to filter by. Events come by the signed Event Webhook (actionmail serve).
    pulls = frozenset({Pullable.SUPPRESSIONS})

    def _pull_stages(self, start: dt.datetime | None, end: dt.datetime) -> list[paging.Stage]:
        """The bounce, block, spam report, invalid email and global unsubscribe lists, entries created since
        ``start`` (all of them without)."""
        return [self._list_stage(name, start, end) for name in feedback.SUPPRESSION_LISTS]

    def _send_stages(self, tag: str, message_ids: Sequence[str]) -> paging.Stages:
        raise PullNotSupported(
            "sendgrid keeps a send's events only in its Email Activity API, a paid add-on actionmail does not use: "
            "run actionmail serve and point SendGrid's Event Webhook at it to learn what became of each message"
        )

    def _list_stage(self, name: str, start: dt.datetime | None, end: dt.datetime) -> paging.Stage:
        query = {"end_time": str(int(end.timestamp())), "limit": str(SUPPRESSION_PAGE)}
        if start is not None:
            query["start_time"] = str(int(start.timestamp()))

        def items_at(offset: int) -> tuple[list[Any], int | None]:
            auth = {"Authorization": f"Bearer {self.secret(VARIABLE)}"}
            body = self.get_json(f"v3/suppression/{name}", name, params={**query, "offset": str(offset)}, headers=auth)
            return paging.records(self.name, name, body, None), None

        def read(record: Mapping[str, Any]) -> FeedbackEvent | None:
            return feedback.suppression(name, record)

        return paging.Stage(name, paging.offset_pager(self.name, items_at, read, SUPPRESSION_PAGE))

    def send(self, batch: Batch) -> BatchResult:
        auth = {"Authorization": f"Bearer {self.secret(VARIABLE)}"}  # read when sending, not before
        envelope = batch.envelope
        personalizations: list[dict[str, Any]] = []
        rejected: dict[str, str] = {}
        for r in batch.recipients:
            substitutions = _substitutions(batch, r)
            size = len(json.dumps(substitutions, ensure_ascii=False).encode())
            if size > SUBSTITUTIONS_LIMIT:
                rejected[r.key] = (
                    f"this recipient's merge values take {size:,} bytes, over SendGrid's {SUBSTITUTIONS_LIMIT:,} "
                    "per message: shorten their custom fields"
                )
                continue
            personalization: dict[str, Any] = {
                "to": [_address(r.email, batch.name(r), quote=True)],
                "subject": batch.subject_for(r),
                "headers": batch.headers(r),  # per recipient: List-Unsubscribe (anymail merge_headers)
            }
            if substitutions:
                personalization["substitutions"] = substitutions
            personalizations.append(personalization)
        if not personalizations:
            return BatchResult(rejected=rejected)  # SendGrid refuses a call with no personalization

        name, address = email.utils.parseaddr(envelope.from_)
        payload: dict[str, Any] = {
            "personalizations": personalizations,
            "from": _address(address, name),
            # text/plain must come before text/html (spec)
            "content": [
                {"type": "text/plain", "value": batch.text.native(_tag("t"))},
                {"type": "text/html", "value": batch.html.native(_tag("h"))},
            ],
            "categories": [envelope.tag],
            "custom_args": {"send_id": envelope.send_id},  # string values only (anymail); back in webhooks
        }
        if envelope.reply_to:
            name, address = email.utils.parseaddr(envelope.reply_to)
            payload["reply_to"] = _address(address, name)
        if envelope.send_at:
            payload["send_at"] = int(envelope.send_at.timestamp())  # an integer only (doc)

        response = self.post("v3/mail/send", json=payload, headers=auth)
        # 202 with an empty body; the one id is the X-Message-Id header, shared by every personalization
        # (SendGrid glossary); webhook events carry it as the start of sg_message_id.
        message_id = response.headers.get("X-Message-Id", "")
        if not message_id:  # not SendGrid's answer (a proxy's, another base_url's): it may have sent, or not
            raise ProviderError(
                self.name,
                f"answered {response.status_code} without X-Message-Id: check base_url",
                status=response.status_code,
                body=response.text,
                maybe_sent=True,
            )
        accepted = {r.key: message_id for r in batch.recipients if r.key not in rejected}
        return BatchResult(accepted=accepted, rejected=rejected)

    def error_message(self, response: requests.Response) -> str:
        # Always {"errors": [{"message", "field", "help"}]} (spec, errors doc).
        try:
            errors = response.json()["errors"]
            message = "; ".join(
                str(e["message"]) + (f" (field {e['field']})" if e.get("field") else "") for e in errors
            )
        except (ValueError, KeyError, TypeError):
            message = response.text.strip() or response.reason or "request refused"
        if response.status_code == 401:
            return f"{message}: check the API key in {VARIABLE}"
        if response.status_code == 403 and reading(response):
            # A restricted key without the scope a call needs: 403 "access forbidden" (API key permissions doc).
            return f"{message}: reading back needs the key in {VARIABLE} to have read access to Suppressions"
        return message

    def retry_after(self, response: requests.Response) -> float | None:
        # Without Retry-After, X-RateLimit-Reset is the epoch second the limit resets (rate-limit doc); SendGrid
        # staff say mail/send sends neither (sendgrid-go#105), and then the engine backs off on its own.
        waited = super().retry_after(response)
        reset = seconds(response.headers.get("X-RateLimit-Reset"))
        if waited is None and reset is not None:
            return max(0.0, reset - time.time())
        return waited


def _address(address: str, name: str | None = None, *, quote: bool = False) -> dict[str, str]:
    out = {"email": address}
    if name:
        # SendGrid does not quote a name with a comma or semicolon in personalizations, and the address breaks
        # (sendgrid-python#291, anymail's workaround_name_quote_bug): quote it ourselves.
        out["name"] = f'"{email.utils.quote(name)}"' if quote and any(c in name for c in ",;") else name
    return out
