"""Mailgun's Messages API as docs/providers.md §1 and §10 describe it, on 127.0.0.1.

Stricter than Mailgun in one way, on purpose: a ``to`` without an entry in ``recipient-variables`` is refused
(Mailgun would send that recipient the raw ``%recipient.x%`` placeholders). Messages in quotes are Mailgun's
own where a source shows them; the others are this fake's.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import itertools
import json
import re
import urllib.parse

from tests.fakes.server import Delivered, FakeProvider, Request, Response

PLACEHOLDER = re.compile(r"%recipient\.([^%\s]+)%")


def bad(message: str, status: int = 400) -> Response:
    return Response(status, {"message": message})


class MailgunFake(FakeProvider):
    name = "mailgun"
    max_recipients = 1000  # batch-sending doc
    max_tags = 3  # Tags doc; a newer help-centre page says 10
    schedule_days = 3  # o:deliverytime: up to 3 days ahead (7 on some plans)

    def __init__(self, api_key: str, domain: str = "mg.example.org") -> None:
        super().__init__()
        self.api_key, self.domain = api_key, domain
        self._ids = itertools.count(1)

    def handle(self, request: Request) -> Response:
        if request.headers.get("authorization") != "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode():
            return Response(401, "Forbidden")  # plain text (anymail#237, mailgun.js#393)
        found = re.fullmatch(r"/v3/([^/]+)/messages", request.path)
        if request.method != "POST" or not found:
            return Response(404, "404 page not found")  # a wrong endpoint: no JSON (doc)
        domain = urllib.parse.unquote(found[1])
        if domain != self.domain:
            return bad(f"Domain not found: {domain}", 404)
        form = request.form()
        for required in ("from", "to", "subject"):
            if not form.get(required):
                return bad(f"'{required}' parameter is missing")
        if not (form.get("text") or form.get("html")):
            return bad("Need at least one of 'text', 'html' or 'template' parameters specified")
        names = {address: name for name, address in email.utils.getaddresses(form["to"])}
        addresses = [address for _, address in email.utils.getaddresses(form["to"])]
        if len(addresses) > self.max_recipients:
            return bad(f"Too many recipients, max is {self.max_recipients}")  # mailgun-ruby#87
        if any(not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", a) for a in addresses):
            return bad("'to' parameter is not a valid address. please check documentation")
        if len(form.get("o:tag", [])) > self.max_tags:
            return bad(f"Too many tags: at most {self.max_tags}")
        if scheduled := form.get("o:deliverytime"):
            try:
                when = email.utils.parsedate_to_datetime(scheduled[0])
            except (TypeError, ValueError):
                return bad("'o:deliverytime' parameter is not a valid RFC 2822 date")
            if when.tzinfo is None or when > dt.datetime.now(dt.UTC) + dt.timedelta(days=self.schedule_days):
                return bad(f"'o:deliverytime' must have a time zone and be at most {self.schedule_days} days ahead")
        try:
            variables = json.loads(form.get("recipient-variables", ["{}"])[0])
        except ValueError:
            return bad("recipient-variables parameter is not a valid JSON")
        if not isinstance(variables, dict) or not all(isinstance(v, dict) for v in variables.values()):
            return bad("recipient-variables must be a JSON object of objects, keyed by address")
        missing = [a for a in addresses if a not in variables]
        if missing:
            return bad(f"recipient-variables has no entry for {missing[0]}")

        message_id = f"<20190801070000.{next(self._ids)}@{self.domain}>"
        tags = form.get("o:tag", [])
        for address in addresses:
            mine = variables[address]

            def fill(text: str, mine: dict[str, object] = mine) -> str:
                return PLACEHOLDER.sub(lambda m: str(mine[m[1]]) if m[1] in mine else m[0], text)

            self.deliver(
                Delivered(
                    to=address,
                    subject=fill(form["subject"][0]),
                    html=fill(form.get("html", [""])[0]),
                    text=fill(form.get("text", [""])[0]),
                    headers={key[2:]: fill(values[0]) for key, values in form.items() if key.startswith("h:")},
                    tag=tags[0] if tags else None,
                    message_id=message_id,
                    name=names.get(address) or None,
                )
            )
        return Response(200, {"id": message_id, "message": "Queued. Thank you."})
