"""Brevo: one ``POST /v3/smtp/email`` per batch of up to 1,000 recipients, one ``messageVersions`` entry each.

The subject, HTML and text go up once, with Brevo Template Language placeholders (``{{ params.h0 }}``) where
each merge field was; every version carries that recipient's ``params`` and their own headers (List-Unsubscribe).
The batch id, as a UUID, is the request's ``headers.idempotencyKey``: Brevo processes a repeat within 30 minutes
only once.

Reference: providers.md §6 (Brevo's SDK model docs, batch-send and idempotency guides; anymail's brevo backend).
The official SDKs' example puts ``{{params.parameter}}`` straight into ``htmlContent`` and ``subject``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import requests

from actionmail.config.providers import BrevoSettings, ProviderSettings
from actionmail.feedback import brevo as feedback
from actionmail.merge import Merge
from actionmail.providers import mime
from actionmail.providers import pull as paging
from actionmail.providers.base import (
    Batch,
    BatchResult,
    ProviderError,
    Pullable,
    Recipient,
    header_fragment,
    header_text,
)
from actionmail.providers.http import HTTPProvider, seconds

VARIABLE = "ACTIONMAIL_BREVO_API_KEY"
NAMESPACE = uuid.UUID("1b6f7a4e-7d3c-4f55-9a41-6a2b8d0c5e10")  # batch id → idempotencyKey/batchId, stably

# Template syntax in our own text: Brevo's engine (Django-like) would read it as a tag, variable or comment.
_SYNTAX = re.compile(r"\{[{%#]")
_ONE_LINE = mime.POLICY.clone(max_line_length=0)
BLOCKED_PAGE = 100  # limit: default 50, max 100 (blockedContacts reference)
EVENTS_PAGE = 2500  # limit: default 2,500, max 5,000 (events reference)
# "The date range can not exceed 90 days"; without dates the events API gives the last 30 (events reference).
EVENTS_SPAN = dt.timedelta(days=87)  # and a day to spare each side (_days)
EVENTS_DEFAULT = dt.timedelta(days=30)


class Brevo(HTTPProvider):
    name = "brevo"
    # "≤1000 versions" a call (batch guide); one recipient a version, within "≤2,000 recipients per request".
    max_batch = 1000
    idempotent = True  # headers.idempotencyKey, 30 minutes (heterogenous-versions doc)
    # Less the longest a batch's retries can take (Pace: 6 attempts, waits up to 120 s each): a call repeated later
    # than this might reach Brevo after it has forgotten the key, and send twice.
    idempotency_window = dt.timedelta(minutes=15)
    can_schedule = True  # scheduledAt (public beta: up to about 5 minutes late)
    settings_model: ClassVar[type[ProviderSettings]] = BrevoSettings
    settings: BrevoSettings
    pulls = frozenset({Pullable.SUPPRESSIONS, Pullable.EVENTS, Pullable.MESSAGES})
    event_delay = dt.timedelta(minutes=30)  # Brevo documents none; its dates are whole days here anyway (below)
    lists_sends = True  # pull_send() finds a send's messages by their tag

    def _pull_stages(self, start: dt.datetime | None, end: dt.datetime) -> list[paging.Stage]:
        """The blocked transactional contacts (unsubscribed, hard-bounced, complained, blocked by hand) and the
        transactional events, since ``start`` (the events of the last 30 days without; at most 90 days back)."""
        return [self._blocked(start, end), self._events(start, end, {})]

    def _send_stages(self, tag: str, message_ids: Sequence[str]) -> paging.Stages:
        """The events of the send's messages, by its tag (the events API's ``tags`` filter; every message of a
        send carries the newsletter's tag, those of other sends of it too)."""
        return lambda start, end: [self._events(start, end, {"tags": json.dumps([tag])})]

    def _blocked(self, start: dt.datetime | None, end: dt.datetime) -> paging.Stage:
        query = {"limit": str(BLOCKED_PAGE), **(_days(start, end) if start else {})}

        def items_at(offset: int) -> tuple[list[Any], int | None]:
            params = {**query, "offset": str(offset)}
            body = self.get_json("v3/smtp/blockedContacts", "blocked contacts", params=params, headers=self._auth())
            found = paging.records(self.name, "blocked contacts", body, "contacts")
            return found, paging.count(body.get("count") if isinstance(body, dict) else None)

        pager = paging.offset_pager(self.name, items_at, feedback.blocked, BLOCKED_PAGE)
        return paging.Stage("blocked contacts", pager)

    def _events(self, start: dt.datetime | None, end: dt.datetime, more: dict[str, str]) -> paging.Stage:
        start = max(start or end - EVENTS_DEFAULT, end - EVENTS_SPAN)
        query = {"limit": str(EVENTS_PAGE), "sort": "asc", **_days(start, end), **more}

        def items_at(offset: int) -> tuple[list[Any], int | None]:
            params = {**query, "offset": str(offset)}
            body = self.get_json("v3/smtp/statistics/events", "events", params=params, headers=self._auth())
            return paging.records(self.name, "events", body, "events"), None

        return paging.Stage("events", paging.offset_pager(self.name, items_at, feedback.pulled, EVENTS_PAGE))

    def _auth(self) -> dict[str, str]:
        return {"api-key": self.secret(VARIABLE)}

    def send(self, batch: Batch) -> BatchResult:
        envelope = batch.envelope
        name, address = email.utils.parseaddr(envelope.from_)
        custom = json.dumps({"send_id": envelope.send_id, "tag": envelope.tag})  # comes back in webhooks
        subject, constants = template(batch.subject, "s")
        subject = header_text(subject)
        html, more = template(batch.html, "h")
        text, rest = template(batch.text, "t")
        payload: dict[str, Any] = {
            "sender": _person(name, address),
            "subject": subject,
            "htmlContent": html,
            "textContent": text,
            "tags": [envelope.tag],
            # Not an HTTP header: Brevo reads idempotencyKey, a UUID, from the message's headers object (doc).
            "headers": {"idempotencyKey": str(uuid.uuid5(NAMESPACE, batch.id)), "X-Mailin-custom": custom},
            "messageVersions": [self._version(batch, r, custom) for r in batch.recipients],
        }
        if constants := constants | more | rest:
            payload["params"] = constants
        if envelope.reply_to:
            payload["replyTo"] = _person(*email.utils.parseaddr(envelope.reply_to))  # a single reply-to (doc)
        batch_id = None
        if envelope.send_at is not None:
            when = envelope.send_at.astimezone(dt.UTC)
            payload["scheduledAt"] = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
            # Our own batchId (a UUIDv4 is asked for; any UUID is accepted): the scheduled batch can be cancelled
            # by it, and it names the batch when the 202 carries no message ids.
            batch_id = payload["batchId"] = str(uuid.uuid5(NAMESPACE, "scheduled:" + batch.id))
        response = self.post("v3/smtp/email", json=payload, headers={"api-key": self.secret(VARIABLE)})
        try:
            ids = [str(i) for i in response.json()["messageIds"]]  # in version order (anymail)
        except (ValueError, KeyError, TypeError):
            ids = []
        if len(ids) != len(batch.recipients) and response.status_code == 202 and batch_id:
            ids = [batch_id] * len(batch.recipients)  # scheduled: the 202's body is not documented
        if len(ids) != len(batch.recipients) or not all(ids):
            raise ProviderError(
                self.name,
                "answered without a message id for every recipient: check base_url",
                status=response.status_code,
                body=response.text,
                maybe_sent=True,
            )
        return BatchResult(accepted={r.key: i for r, i in zip(batch.recipients, ids, strict=True)})

    def _version(self, batch: Batch, recipient: Recipient, custom: str) -> dict[str, Any]:
        values = recipient.values
        # The subject's values go into a header: no line breaks, no encoded words (header_fragment).
        params = {f"s{i}": header_fragment(v) for i, v in enumerate(batch.subject.slot_values(values))}
        params |= {f"h{i}": v for i, v in enumerate(batch.html.slot_values(values))}
        params |= {f"t{i}": v for i, v in enumerate(batch.text.slot_values(values))}
        headers = {name: _ascii(name, value) for name, value in batch.headers(recipient).items()}
        return {
            "to": [_person(batch.name(recipient) or "", recipient.email)],
            "params": params,  # escaped for HTML where the html needs it; see template()
            "headers": {**headers, "X-Mailin-custom": custom},
        }

    def error_message(self, response: requests.Response) -> str:
        message, code = _error(response)
        if response.status_code == 401:
            return f"Brevo refused the API key ({message}): check {VARIABLE}, and Brevo's authorised IPs if set"
        return f"{message} ({code})" if code else message

    def retry_after(self, response: requests.Response) -> float | None:
        # No Retry-After: x-sib-ratelimit-reset, seconds until the limit resets (limit-headers doc).
        reset = seconds(response.headers.get("x-sib-ratelimit-reset"))
        return reset if reset is not None else super().retry_after(response)


def template(merge: Merge, prefix: str) -> tuple[str, dict[str, str]]:
    """``merge`` in Brevo Template Language, ``{{ params.<prefix><slot> }}`` for each merge field; and the params
    that are the same for everyone (top-level ``params``, which each version's own add to, as anymail sends).

    Brevo escapes every variable for HTML unless told not to (Sendinblue help: "Disable auto-escaping"); our
    params are already escaped as each text needs (HTML for the body, nothing for the subject and plain text),
    so the whole text is inside ``{% autoescape off %}``. A stretch of our own text that Brevo would read as
    template syntax (``{{``, ``{%``, ``{#``, or a ``{`` just before a placeholder) goes up as a param too.
    """
    if "\x00" in "".join(merge.pieces):
        raise ProviderError("brevo", "the text contains a NUL character, which no email may carry")
    parts = merge.native(lambda slot: f"\x00{slot}\x00").split("\x00")  # literal, slot, literal, …
    out, constants = [], {}
    for index, part in enumerate(parts):
        if index % 2:
            out.append(f"{{{{ params.{prefix}{part} }}}}")
        elif _SYNTAX.search(part) or part.endswith("{"):
            constants[f"{prefix}x{index // 2}"] = part
            out.append(f"{{{{ params.{prefix}x{index // 2} }}}}")
        else:
            out.append(part)
    return "{% autoescape off %}" + "".join(out) + "{% endautoescape %}", constants


def _person(name: str, address: str) -> dict[str, str]:
    return {"email": address, "name": name} if name else {"email": address}


def _ascii(name: str, value: str) -> str:
    """Brevo sends header values as raw 8-bit (anymail): write non-ASCII words as RFC 2047 encoded words, as
    the email package does for a message (a List-Id's name, say), keeping the rest as it is."""
    if value.isascii():
        return value
    folded: str = _ONE_LINE.header_factory(name, value).fold(policy=_ONE_LINE)
    return folded.split(":", 1)[1].strip()


def _error(response: requests.Response) -> tuple[str, str]:
    """Brevo's ``{"code", "message"}`` (doc, anymail tests)."""
    try:
        body = response.json()
        return str(body.get("message") or response.reason), str(body.get("code") or "")
    except (ValueError, AttributeError):
        return response.text.strip() or response.reason or "request refused", ""


def _days(start: dt.datetime | None, end: dt.datetime) -> dict[str, str]:
    """``startDate``/``endDate`` (both or neither, YYYY-MM-DD) with a day to spare each side: Brevo does not say
    in which time zone it reads them, and an event read twice has one dedupe key."""
    if start is None:
        return {}
    return {
        "startDate": (start - dt.timedelta(days=1)).date().isoformat(),
        "endDate": (end + dt.timedelta(days=1)).date().isoformat(),
    }
