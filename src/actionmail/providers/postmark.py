"""Postmark: one ``/email/batch`` call per batch of up to 500 complete messages, one per recipient.

Postmark fills in nothing itself without a stored template (``TemplateModel`` is ignored by /email/batch,
anymail#470), so each message is filled in here and carries its own List-Unsubscribe in ``Headers``. The answer
is 200 with one result per message, in order; a message can fail while the call succeeds.
Reference: docs/providers.md §3 (Postmark's API overview, batch and unsubscribe docs; anymail's postmark backend).
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import requests

from actionmail.config.providers import PostmarkSettings, ProviderSettings
from actionmail.feedback import postmark as feedback
from actionmail.feedback.events import FeedbackEvent
from actionmail.providers import pull as paging
from actionmail.providers.base import Batch, BatchResult, ProviderError, Pullable
from actionmail.providers.http import HTTPProvider

VARIABLE = "ACTIONMAIL_POSTMARK_API_KEY"  # the server API token
# ErrorCode 300 about an address is that recipient's fault ("Invalid 'To' address: 'x'."); other 300s are the
# request's (anymail). 406: the recipient is inactive (hard bounce, spam complaint or manual suppression).
_RECIPIENT_300 = re.compile(r"^(Invalid|Error\s+parsing)\s+'(To|Cc|Bcc)'", re.IGNORECASE)
PAGE = 500  # count: at most 500 a page, for bounces and the message search alike (doc)
MAX_OFFSET = 10_000  # "count + offset ≤ 10,000" (messages doc): a search shows no more than its first 10,000
_INACTIVE = re.compile(r"inactive addresses:\s*(.*?)\.\s*Inactive recipients", re.IGNORECASE | re.DOTALL)


class Postmark(HTTPProvider):
    name = "postmark"
    max_batch = 500  # messages per /email/batch call, 50 MB in all (doc)
    can_schedule = False  # no scheduled sending (anymail)
    idempotent = False  # no idempotency key
    settings_model: ClassVar[type[ProviderSettings]] = PostmarkSettings
    settings: PostmarkSettings
    pulls = frozenset({Pullable.SUPPRESSIONS, Pullable.EVENTS, Pullable.MESSAGES})
    # Postmark documents no delay for its search; its dates are whole days here (below), so half an hour is margin.
    event_delay = dt.timedelta(minutes=30)
    lists_sends = True  # pull_send() finds a send's messages by their tag

    def _pull_stages(self, start: dt.datetime | None, end: dt.datetime) -> list[paging.Stage]:
        """The message stream's bounces (spam complaints among them) and its suppressions, since ``start``."""
        return [self._bounces(start, end, {}), self._suppressions(start, end)]

    def _send_stages(self, tag: str, message_ids: Sequence[str]) -> paging.Stages:
        """The send's messages as the outbound search finds them by tag (each one Postmark took: *accepted*),
        then their bounces; webhooks say the rest (Delivery)."""

        def stages(start: dt.datetime | None, end: dt.datetime) -> list[paging.Stage]:
            query = {**_window(start, end), "tag": tag, "messagestream": self.settings.message_stream}
            search = self._searcher("messages/outbound", "Messages", query, feedback.messages)
            return [paging.Stage("messages", search), self._bounces(start, end, {"tag": tag})]

        return stages

    def _bounces(self, start: dt.datetime | None, end: dt.datetime, more: dict[str, str]) -> paging.Stage:
        query = {**_window(start, end), "messagestream": self.settings.message_stream, **more}
        return paging.Stage("bounces", self._searcher("bounces", "Bounces", query, feedback.bounce))

    def _suppressions(self, start: dt.datetime | None, end: dt.datetime) -> paging.Stage:
        """``GET /message-streams/{stream}/suppressions/dump``: the stream's suppressions, in one page (doc)."""
        stream = self.settings.message_stream
        path = f"message-streams/{urllib.parse.quote(stream, safe='')}/suppressions/dump"

        def read(record: Mapping[str, Any]) -> FeedbackEvent | None:
            return feedback.suppression(stream, record)

        def fetch(token: str | None) -> paging.Page:
            query = {k: v for k, v in _window(start, end).items() if k in ("fromdate", "todate")}
            body = self.get_json(path, "suppressions", params=query, headers=self._auth())
            return paging.read_page(paging.records(self.name, "suppressions", body, "Suppressions"), read)

        return paging.Stage("suppressions", fetch)

    def _searcher(
        self, path: str, key: str, query: dict[str, str], read: paging.Reader
    ) -> Callable[[str | None], paging.Page]:
        """Pages of a search paged by ``count`` and ``offset`` (bounces, outbound messages), ``{TotalCount, key}``,
        up to the last page a search shows (:data:`MAX_OFFSET`)."""

        def items_at(offset: int) -> tuple[list[Any], int | None]:
            params = {**query, "count": str(PAGE), "offset": str(offset)}
            body = self.get_json(path, path, params=params, headers=self._auth())
            found = paging.records(self.name, path, body, key)
            return found, paging.count(body.get("TotalCount") if isinstance(body, dict) else None)

        pager = paging.offset_pager(self.name, items_at, read, PAGE)

        def fetch(token: str | None) -> paging.Page:
            page = pager(token)
            if page.next is not None and int(page.next) + PAGE > MAX_OFFSET:
                page.next = None
                page.skipped.append(
                    f"Postmark shows only the first {MAX_OFFSET:,} of a search; the rest of this window is not "
                    "read: sync more often, or from a later date (--since)"
                )
            return page

        return fetch

    def _auth(self) -> dict[str, str]:
        return {"X-Postmark-Server-Token": self.secret(VARIABLE), "Accept": "application/json"}

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


def _window(start: dt.datetime | None, end: dt.datetime) -> dict[str, str]:
    """``fromdate``/``todate`` (inclusive) and the message stream, as whole days with a day to spare each side:
    Postmark reads these dates in its own time zone (US Eastern), and an event read twice has one dedupe key."""
    window = {"todate": (end + dt.timedelta(days=1)).date().isoformat()}
    if start is not None:
        window["fromdate"] = (start - dt.timedelta(days=1)).date().isoformat()
    return window
