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
import time
import urllib.parse
from typing import Any

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
        # What the pull endpoints serve: each suppression list's entries, and the events (event-data objects).
        self.lists: dict[str, list[dict[str, Any]]] = {"bounces": [], "complaints": [], "unsubscribes": []}
        self.events: list[dict[str, Any]] = []
        self.loop_after: int | None = None  # hostile: from this page on, every next link names the same page
        self.foreign_next = False  # hostile: the next link is on another host
        self.pages_served = 0

    def handle(self, request: Request) -> Response:
        if request.headers.get("authorization") != "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode():
            return Response(401, "Forbidden")  # plain text (anymail#237, mailgun.js#393)
        if request.method == "GET":
            return self._pull(request)
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
            # Mailgun logs an "accepted" event for each recipient of a message it takes, with its tags and custom
            # variables: what the Events API serves (and `sync` asks for an interrupted send).
            self.events.append(
                {
                    "id": f"accepted-{message_id.strip('<>')}-{address}",
                    "event": "accepted",
                    "timestamp": time.time(),
                    "recipient": address,
                    "tags": tags,
                    "user-variables": {key[2:]: values[0] for key, values in form.items() if key.startswith("v:")},
                    "message": {"headers": {"message-id": message_id.strip("<>")}},
                }
            )
        return Response(200, {"id": message_id, "message": "Queued. Thank you."})

    # --- the pull endpoints: suppression lists and events ----------------------------------------------------
    def _pull(self, request: Request) -> Response:
        """``GET /v3/{domain}/{list}`` (paged by address: ``page=next&address=…``, as Mailgun's next links are)
        and ``GET /v3/{domain}/events`` (``begin``, ``end``, ``ascending``, ``limit``, ``tags``; next links carry
        an opaque page path ``/v3/{domain}/events/{token}``, as Mailgun's do)."""
        found = re.fullmatch(
            r"/v3/([^/]+)/(bounces|complaints|unsubscribes|events)(?:/([A-Za-z0-9_-]+))?", request.path
        )
        if not found:
            return Response(404, "404 page not found")
        if urllib.parse.unquote(found[1]) != self.domain:
            return bad(f"Domain not found: {found[1]}", 404)
        query = {k: v[-1] for k, v in request.query.items()}
        if found[2] == "events":
            return self._events(query, found[3])
        limit = int(query.get("limit", "100"))
        if not 1 <= limit <= 1000:
            return bad("limit: must be between 1 and 1000")
        entries = sorted(self.lists[found[2]], key=lambda e: str(e.get("address")))
        after = query.get("address") if query.get("page") == "next" else None
        if after is not None:
            entries = [e for e in entries if str(e.get("address")) > after]
        items = entries[:limit]
        last = str(items[-1].get("address")) if items else (after or "")
        base = f"{self.url}/v3/{self.domain}/{found[2]}"
        following = f"{base}?page=next&address={urllib.parse.quote(last)}&limit={limit}"
        again = f"{base}?page=next&address=&limit={limit}"  # the first page again
        return Response(200, {"items": items, "paging": self._paging(base, following, again)})

    def _events(self, query: dict[str, str], token: str | None) -> Response:
        if token is not None:
            try:
                query = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            except ValueError:
                return bad("invalid page token")
        if "end" not in query and query.get("ascending") not in ("yes", "no"):
            return bad("'ascending' is required without 'end'")
        limit = int(query.get("limit", "100"))
        if not 1 <= limit <= 300:
            return bad("limit: must be at most 300")
        begin, end = float(query.get("begin", "0")), float(query.get("end", "1e12"))
        chosen = [e for e in self.events if begin <= float(e.get("timestamp", 0)) <= end]
        if "tags" in query:
            chosen = [e for e in chosen if query["tags"] in (e.get("tags") or [])]
        chosen.sort(key=lambda e: float(e.get("timestamp", 0)))
        offset = int(query.get("offset", "0"))
        items = chosen[offset : offset + limit]
        base = f"{self.url}/v3/{self.domain}/events"

        def link(at: int) -> str:
            page = {**query, "offset": str(at)}
            return f"{base}/" + base64.urlsafe_b64encode(json.dumps(page).encode()).decode().rstrip("=")

        return Response(200, {"items": items, "paging": self._paging(base, link(offset + len(items)), link(0))})

    def _paging(self, base: str, following: str, again: str) -> dict[str, str]:
        self.pages_served += 1
        if self.loop_after is not None and self.pages_served > self.loop_after:
            following = again
        if self.foreign_next:
            following = following.replace("127.0.0.1", "mailgun.evil.example")
        return {
            "first": f"{base}?page=first",
            "next": following,
            "previous": f"{base}?page=previous",
            "last": f"{base}?page=last",
        }
