"""Resend: one ``POST /emails/batch`` per batch of up to 100 complete emails, made safe to repeat by the batch id.

Resend fills in nothing server-side for inline html/text (anymail treats merge data as unsupported), so each
recipient's email is filled in here (:meth:`Batch.content`) and carries its own ``headers`` (List-Unsubscribe)
and ``tags``. The ``Idempotency-Key`` header is the batch id: repeated within 24 hours with the same body,
Resend answers as the first time and sends nothing again; with another body it refuses (409).

Reference: providers.md §5 (Resend's OpenAPI spec, errors, rate-limit, idempotency-keys and batch-sending docs).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import requests

from actionmail.config.providers import ProviderSettings, ResendSettings
from actionmail.feedback import resend as feedback
from actionmail.feedback.events import iso
from actionmail.providers import pull as paging
from actionmail.providers.base import Batch, BatchResult, ProviderError, Pullable, Recipient
from actionmail.providers.http import HTTPProvider, seconds

VARIABLE = "ACTIONMAIL_RESEND_API_KEY"

# Tag names and values: ASCII letters, digits, "_" and "-" only, at most 256 characters (OpenAPI spec).
_NOT_IN_TAG = re.compile(r"[^A-Za-z0-9_-]")
# 429s that a retry within minutes won't fix: the account's daily or monthly email quota is spent (errors doc).
_QUOTA = frozenset({"daily_quota_exceeded", "monthly_quota_exceeded"})
PAGE = 100  # limit: 1–100 (OpenAPI spec, list emails; suppressions unverified)


class Resend(HTTPProvider):
    name = "resend"
    max_batch = 100  # emails per /emails/batch call (batch-sending doc); one recipient each, ≤50 `to` allowed
    idempotent = True  # Idempotency-Key, kept 24 hours (idempotency-keys doc)
    idempotency_window = dt.timedelta(hours=23)  # an hour's margin for the batch's own retries
    # /emails/batch does not take scheduled_at: its doc says "The attachments and scheduled_at fields are not
    # supported yet", and it ignores them, so a scheduled batch would go out at once. One POST /emails per
    # recipient could schedule, but at Resend's default 2 requests/second a 429 halfway through a batch would
    # have the engine resend the whole batch, replaying the first calls (which count against the limit too):
    # the batch might never finish. So a scheduled send is refused before anything is sent.
    can_schedule = False
    settings_model: ClassVar[type[ProviderSettings]] = ResendSettings
    settings: ResendSettings
    # No event log: Resend keeps each email's *last* event (last_event), a suppression list (since mid-2026),
    # and no per-email unsubscribe at all (contacts carry "unsubscribed"; actionmail sends to no Resend audience).
    pulls = frozenset({Pullable.SUPPRESSIONS, Pullable.EVENTS, Pullable.MESSAGES})

    def _pull_stages(self, start: dt.datetime | None, end: dt.datetime) -> list[paging.Stage]:
        """The suppression list (bounces, complaints, addresses suppressed by hand), whole; then the last event of
        each email sent since ``start`` (GET /emails, newest first, up to the first one older). Only the last: a
        complaint about an email sent before ``start`` shows here only as a suppression."""
        return [
            paging.Stage("suppressions", self._lister("suppressions", feedback.suppression, None)),
            paging.Stage("emails", self._lister("emails", feedback.email_state, start)),
        ]

    def _send_stages(self, tag: str, message_ids: Sequence[str]) -> paging.Stages:
        """Each of ``message_ids`` (Resend's email ids) looked up, one a page: its last event. An id Resend does not
        know gives no event (and a line in ``skipped``): no trace of it. Resend sends are idempotent (the batch
        id), so a send rarely needs this."""
        ids = list(message_ids)

        def fetch(token: str | None) -> paging.Page:
            if token is not None and not (token.isdigit() and len(token) <= 9):
                raise paging.bad_cursor(self.name, "its place in the list of ids is not one")
            index = int(token or 0)
            page = paging.Page(next=str(index + 1) if index + 1 < len(ids) else None)
            if index >= len(ids):
                return page
            path = "emails/" + urllib.parse.quote(ids[index], safe="")
            try:
                body = self.get_json(path, "email", headers=self._auth())
            except ProviderError as e:
                if e.status != 404:
                    raise
                page.skipped.append(f"Resend has no email {ids[index][:80]}")
                page.size = 1
                return page
            found = feedback.email_state(body) if isinstance(body, dict) else None
            page.size, page.digest = 1, paging.digest(index, body)
            if found is None:
                page.skipped.append(f"email {ids[index][:80]}: not an email")
            else:
                page.events.append(found)
            return page

        return lambda start, end: [paging.Stage("emails", fetch)]

    def _lister(self, path: str, read: paging.Reader, since: dt.datetime | None) -> Callable[[str | None], paging.Page]:
        """Pages of ``GET /{path}``: ``{has_more, data}``, the next page ``after`` the last id (spec). With
        ``since``, the list (newest first) is read until its first record older than that."""

        def fetch(token: str | None) -> paging.Page:
            params = {"limit": str(PAGE), **({"after": token} if token else {})}
            body = self.get_json(path, path, params=params, headers=self._auth())
            items = paging.records(self.name, path, body, "data")
            recent = [r for r in items if since is None or not _older(r, since)]
            page = paging.read_page(recent, read)
            page.size, page.digest = len(items), paging.digest(items)
            last = items[-1].get("id") if items and isinstance(items[-1], dict) else None
            more = isinstance(body, dict) and body.get("has_more") is True and len(recent) == len(items)
            page.next = last if more and isinstance(last, str) and last else None
            return page

        return fetch

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret(VARIABLE)}"}

    def send(self, batch: Batch) -> BatchResult:
        if batch.envelope.send_at is not None:
            raise ProviderError(
                self.name,
                "Resend's batch endpoint cannot schedule (it would send at once): send without a delivery time, "
                "or schedule with mailgun, sendgrid or brevo",
            )
        headers = {
            "Authorization": f"Bearer {self.secret(VARIABLE)}",  # read when sending, as providers.build promises
            "Idempotency-Key": idempotency_key(batch.id),
        }
        emails = [self._email(batch, r) for r in batch.recipients]
        response = self.post("emails/batch", json=emails, headers=headers)
        try:
            ids = [str(item["id"]) for item in response.json()["data"]]
        except (ValueError, KeyError, TypeError):
            ids = []
        if len(ids) != len(batch.recipients) or not all(ids):
            raise ProviderError(
                self.name,
                "answered without an id for every email: check base_url",
                status=response.status_code,
                body=response.text,
                maybe_sent=True,
            )
        # In the request's order (anymail zips them the same way).
        return BatchResult(accepted={r.key: i for r, i in zip(batch.recipients, ids, strict=True)})

    def _email(self, batch: Batch, recipient: Recipient) -> dict[str, Any]:
        envelope = batch.envelope
        subject, html, text = batch.content(recipient)
        email: dict[str, Any] = {
            "from": envelope.from_,
            "to": [batch.to(recipient)],
            "subject": subject,
            "html": html,
            "text": text,
            "headers": batch.headers(recipient),  # string values only (anymail)
            "tags": [
                {"name": "tag", "value": _tag(envelope.tag)},
                {"name": "send_id", "value": _tag(envelope.send_id)},
            ],
        }
        if envelope.reply_to:
            email["reply_to"] = envelope.reply_to
        return email

    def error_message(self, response: requests.Response) -> str:
        message, name = _error(response)
        if name == "restricted_api_key":  # a key with "Sending access" only (errors doc)
            return f"{message} ({name}): reading back needs a key with Full access in {VARIABLE}"
        if response.status_code in (401, 403) and name != "validation_error":
            return f"Resend refused the API key ({name}: {message}): check {VARIABLE}"
        if name in _QUOTA:
            return f"{message} ({name}): the rest can be sent once the quota renews"
        return f"{message} ({name})" if name else message

    def transient(self, response: requests.Response) -> bool:
        name = _error(response)[1]
        if response.status_code == 409:
            # concurrent_idempotent_requests: the first call with this key is still running; retry shortly.
            # invalid_idempotent_request: same key, another body: never.
            return name == "concurrent_idempotent_requests"
        if name in _QUOTA:
            return False
        return super().transient(response)

    def retry_after(self, response: requests.Response) -> float | None:
        # retry-after and ratelimit-reset, both in seconds (rate-limit doc).
        waited = super().retry_after(response)
        return waited if waited is not None else seconds(response.headers.get("ratelimit-reset"))


def idempotency_key(batch_id: str) -> str:
    """The batch id, or its SHA-256 where longer than Resend's 256 characters (idempotency-keys doc)."""
    return batch_id if 1 <= len(batch_id) <= 256 else hashlib.sha256(batch_id.encode()).hexdigest()


def _tag(value: str) -> str:
    return _NOT_IN_TAG.sub("_", value)[:256] or "_"


def _error(response: requests.Response) -> tuple[str, str]:
    """Resend's ``{"statusCode", "message", "name"}`` (errors doc)."""
    try:
        body = response.json()
        return str(body.get("message") or response.reason), str(body.get("name") or "")
    except (ValueError, AttributeError):
        return response.text.strip() or response.reason or "request refused", ""


def _older(record: Any, since: dt.datetime) -> bool:
    """Whether a listed email was created before ``since`` (one without a readable time is not)."""
    created = iso(record.get("created_at")) if isinstance(record, dict) else None
    return created is not None and created < since
