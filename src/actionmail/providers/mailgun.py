"""Mailgun: one Messages API call per batch, each recipient's values carried in ``recipient-variables``.

The subject, HTML and text go up once with ``%recipient.KEY%`` where each merge field was; Mailgun fills them
in for every ``to`` address from that address's entry in ``recipient-variables`` and sends each recipient a
message of their own. Headers that differ per recipient (List-Unsubscribe) go the same way, as anymail does.
Reference: docs/providers.md §1 (Mailgun's Messages API and batch-sending docs; anymail's mailgun backend).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import orjson
import requests

from actionmail.config.providers import MailgunSettings, ProviderSettings
from actionmail.feedback import mailgun as feedback
from actionmail.feedback.events import FeedbackEvent, obj
from actionmail.merge import Slots
from actionmail.providers import pull as paging
from actionmail.providers.base import (
    Batch,
    BatchResult,
    ProviderError,
    Pullable,
    header_fragment,
    header_text,
)
from actionmail.providers.http import HTTPProvider, reading, until

VARIABLE = "ACTIONMAIL_MAILGUN_API_KEY"
# "Mailgun retains event data for 30 days. Access to this data varies by plan" (events doc); the API reference
# promises "at least 3 days". A pull with no start asks for the 30.
RETENTION = dt.timedelta(days=30)
SUPPRESSION_PAGE = 1000  # limit: default 100, max 1000 (bounces API reference)
EVENTS_PAGE = 300  # limit: max 300 (events API reference)


class Mailgun(HTTPProvider):
    name = "mailgun"
    max_batch = 1000  # "maximum number of recipients allowed for Batch Sending is 1,000" (batch-sending doc)
    can_schedule = True  # o:deliverytime, up to 3 days ahead (7 on some plans)
    idempotent = False  # no idempotency key is documented
    transient_statuses = frozenset({420})  # a sending limit: "try again after <date>" (mailgun-java#50)
    settings_model: ClassVar[type[ProviderSettings]] = MailgunSettings
    settings: MailgunSettings
    pulls = frozenset({Pullable.SUPPRESSIONS, Pullable.EVENTS, Pullable.MESSAGES})
    # Events reach the Events API out of order, some up to about half an hour late: Mailgun's event-polling doc
    # says to trust only pages whose events are older than a threshold such as half an hour.
    event_delay = dt.timedelta(minutes=30)
    lists_sends = True  # pull_send() finds a send's messages by their tag

    def _pull_stages(self, start: dt.datetime | None, end: dt.datetime) -> list[paging.Stage]:
        """The bounce, complaint and unsubscribe lists (whole: they take no time filter), then the events between
        ``start`` and ``end``."""
        lists = [self._list_stage(name) for name in feedback.SUPPRESSION_LISTS]
        return [*lists, self._events_stage(start, end, {})]

    def _send_stages(self, tag: str, message_ids: Sequence[str]) -> paging.Stages:
        """The events of the send's messages, by its tag (the Events API's ``tags`` filter): those of other sends
        of the same newsletter too, which carry another ``send_id``."""
        return lambda start, end: [self._events_stage(start, end, {"tags": tag})]

    def _list_stage(self, name: str) -> paging.Stage:
        def read(record: Mapping[str, Any]) -> FeedbackEvent | None:
            return feedback.suppression(name, record)

        return paging.Stage(name, self._pager(name, {"limit": str(SUPPRESSION_PAGE)}, read))

    def _events_stage(self, start: dt.datetime | None, end: dt.datetime, more: dict[str, str]) -> paging.Stage:
        begin = start or end - RETENTION
        query = {
            "begin": str(int(begin.timestamp())),
            "end": str(math.ceil(end.timestamp())),  # whole seconds: the second under way included
            "ascending": "yes",
            "limit": str(EVENTS_PAGE),
            **more,
        }
        return paging.Stage("events", self._pager("events", query, feedback.pulled))

    def _pager(self, resource: str, query: dict[str, str], read: paging.Reader) -> Callable[[str | None], paging.Page]:
        """Pages of ``GET /v3/{domain}/{resource}``: ``{items, paging: {next, …}}``, whose ``paging.next`` is the
        whole URL of the next page; the last page is the first with no items (bounces API reference)."""
        path = f"v3/{urllib.parse.quote(self.settings.domain, safe='')}/{resource}"

        def fetch(token: str | None) -> paging.Page:
            auth = ("api", self.secret(VARIABLE))
            body = self.get_json(token or path, resource, params=None if token else query, auth=auth)
            items = paging.records(self.name, resource, body, "items")
            page = paging.read_page(items, read)
            following = obj(obj(body).get("paging")).get("next")
            page.next = following if items and isinstance(following, str) and following else None
            return page

        return fetch

    def send(self, batch: Batch) -> BatchResult:
        auth = ("api", self.secret(VARIABLE))  # HTTP Basic, user "api" (doc); read when sending, not before
        envelope = batch.envelope
        variables, shared = _variables(batch)
        data: list[tuple[str, str]] = [
            ("from", envelope.from_),
            ("subject", header_text(batch.subject.native(lambda i: f"%recipient.s{i}%"))),
            ("html", batch.html.native(lambda i: f"%recipient.{shared.get(i, f'h{i}')}%")),
            ("text", batch.text.native(lambda i: f"%recipient.t{i}%")),
            ("o:tag", envelope.tag),
            ("v:send_id", envelope.send_id),  # comes back in webhooks as user-variables
        ]
        # One comma-separated `to` (the doc allows it), not a field per recipient: a thousand form fields cost
        # more to encode than everything else in the call.
        data.append(("to", ", ".join(batch.to(r) for r in batch.recipients)))
        if envelope.reply_to:
            data.append(("h:Reply-To", envelope.reply_to))  # Reply-To goes as a header (anymail)
        if envelope.send_at:
            data.append(("o:deliverytime", email.utils.format_datetime(envelope.send_at.astimezone(dt.UTC), True)))

        # Every recipient's entry must carry every key, or Mailgun leaves the placeholder in their message.
        unsubscribe = [] if envelope.transactional else [batch.list_unsubscribe(r) for r in batch.recipients]
        varying = len(set(unsubscribe)) > 1  # one recipient (or one address twice): a plain header
        if unsubscribe:
            data.append(("h:List-Unsubscribe", "%recipient.h:List-Unsubscribe%" if varying else unsubscribe[0]))
        data += [(f"h:{name}", value) for name, value in batch.shared_headers().items()]
        if varying:
            for mine, header in zip(variables.values(), unsubscribe, strict=True):
                mine["h:List-Unsubscribe"] = header
        # Sent even when empty: without it, every recipient would see all the others in To (doc warning).
        # orjson: UTF-8 JSON as json.dumps(ensure_ascii=False) writes it, compact, in 0.06 ms for a thousand
        # recipients, where json took 1.2 ms and the encoding to UTF-8 0.2 more (13% of building a batch).
        form: list[tuple[str, str | bytes]] = [*data, ("recipient-variables", orjson.dumps(variables))]

        path = f"v3/{urllib.parse.quote(self.settings.domain, safe='')}/messages"
        # As multipart/form-data (the documented body), not urlencoded: percent-encoding ~400 kB of HTML and
        # recipient-variables per call cost more than the rest of building the call.
        response = self.post(path, files=[(name, (None, value)) for name, value in form], auth=auth)
        try:
            message_id = str(response.json()["id"])  # one id for the whole call, every recipient (anymail)
        except (ValueError, KeyError, TypeError):
            raise ProviderError(
                self.name,
                "answered 200 without a message id: check base_url and domain",
                status=response.status_code,
                body=response.text,
                maybe_sent=True,
            ) from None
        # Refused addresses are not reported here; they come later as webhook events (anymail).
        return BatchResult(accepted={r.key: message_id for r in batch.recipients})

    def error_message(self, response: requests.Response) -> str:
        message = _message(response)
        if response.status_code == 401:
            # 401 with a plain-text "Forbidden" body for a wrong or missing key (anymail#237, mailgun.js#393).
            refused = f"Mailgun refused the API key: check {VARIABLE}, and that base_url is the domain's region"
            if reading(response):
                # "Domain Sending Keys are API keys that only allow sending messages" (authentication doc).
                refused += "; reading back needs the account's primary API key: a domain sending key only sends"
            return refused
        if response.status_code == 404 and "Domain not found" in message:
            return (
                f"{message}: check domain = '{self.settings.domain}' in [providers.mailgun], and base_url "
                "(a domain in Mailgun's EU region needs https://api.eu.mailgun.net)"
            )
        return message

    def retry_after(self, response: requests.Response) -> float | None:
        # 420: "Domain … is not allowed to send: recipient limit exceeded, try again after Mon, 25 Aug 2025
        # 07:00:31 UTC" (mailgun-java#50); Mailgun documents no header for it.
        if response.status_code == 420 and (found := re.search(r"try again after (.+?)\s*$", _message(response))):
            waited = until(found[1])
            if waited is not None:
                return waited
        return super().retry_after(response)


def _variables(batch: Batch) -> tuple[dict[str, dict[str, str]], dict[int, str]]:
    """Each recipient's values, keyed by their bare address (as each `to` is, doc); and the HTML slots that use a
    text slot's key instead of their own, by slot number.

    The HTML and the text copy of a field carry the same value wherever escaping changes nothing, as for the
    unsubscribe link: sent once under the text's key, it takes ~85 bytes a recipient off each call (of ~450).
    Only where it holds for every recipient of the batch, since the HTML is one text for all of them.
    """
    slots = Slots((("s", batch.subject), ("h", batch.html), ("t", batch.text)))
    variables = {r.email: slots.values(r.values) for r in batch.recipients}
    subject = [f"s{i}" for i in range(len(batch.subject.slots))]
    for mine in variables.values():  # the subject's values go into a header: no line breaks, no encoded words
        for key in subject:
            mine[key] = header_fragment(mine[key])
    text = {slot: f"t{j}" for j, slot in enumerate(batch.text.slots)}
    shared = {}
    for i, slot in enumerate(batch.html.slots):
        key, other = f"h{i}", text.get(slot)
        if other and all(mine[key] == mine[other] for mine in variables.values()):
            shared[i] = other
            for mine in variables.values():
                del mine[key]
    return variables, shared


def _message(response: requests.Response) -> str:
    """Mailgun's words: ``{"message": …}`` for most errors, plain text for some (doc, anymail tests)."""
    try:
        return str(response.json()["message"])
    except (ValueError, KeyError, TypeError):
        return response.text.strip() or response.reason or "request refused"
