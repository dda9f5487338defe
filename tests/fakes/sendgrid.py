"""SendGrid's v3 Mail Send as docs/providers.md §2 and §10 describe it, on 127.0.0.1.

Messages in quotes are SendGrid's own where its errors doc or spec shows them; the others are this fake's.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from typing import Any

from tests.fakes.server import Delivered, FakeProvider, Request, Response

RESERVED_HEADERS = {  # may not be set, at the top level or in a personalization (spec)
    "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding",
    "to", "from", "subject", "reply-to", "cc", "bcc",
}  # fmt: skip


def bad(message: str, field: str | None = None, status: int = 400) -> Response:
    return Response(status, {"errors": [{"message": message, "field": field, "help": None}]})


def strings(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


class SendGridFake(FakeProvider):
    name = "sendgrid"
    max_personalizations = 1000  # errors doc
    max_recipients = 1000  # to + cc + bcc, all personalizations (errors doc)
    max_substitutions = 10_000  # bytes per personalization (spec)
    schedule_hours = 72  # send_at (doc)

    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self._ids = itertools.count(1)
        # What GET /v3/suppression/{list} serves: each list's entries ({email, created, …}).
        self.lists: dict[str, list[dict[str, Any]]] = {
            name: [] for name in ("bounces", "blocks", "spam_reports", "invalid_emails", "unsubscribes")
        }

    def handle(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return bad("authorization required", status=401)
        if request.method == "GET":
            return self._suppressions(request)
        if request.method != "POST" or request.path != "/v3/mail/send":
            return bad("not found", status=404)
        try:
            mail = request.json()
        except ValueError:
            return bad("Bad Request")
        if problem := self.check(mail):
            return problem
        message_id = f"fake{next(self._ids):04d}SendGridId"
        sandbox = mail.get("mail_settings", {}).get("sandbox_mode", {}).get("enable") is True
        if not sandbox:
            self._deliver(mail, message_id)
        # 202 and no body; sandbox mode validates only and answers 200 (third-party summary, unverified)
        return Response(200 if sandbox else 202, b"", {"X-Message-Id": message_id})

    def check(self, mail: Any) -> Response | None:
        """The first thing SendGrid would refuse in ``mail``, as it would answer."""
        if not isinstance(mail, dict):
            return bad("Bad Request")
        people = mail.get("personalizations")
        if not isinstance(people, list) or not people:
            return bad("You must have at least one personalization.", "personalizations")
        if len(people) > self.max_personalizations:
            return bad(
                f"The personalization block is limited to {self.max_personalizations} personalizations per API "
                f"request. You have provided {len(people)} personalizations. Please consider splitting this into "
                "multiple requests and resending your request.",
                "personalizations",
            )
        if not isinstance(mail.get("from"), dict) or not mail["from"].get("email"):
            return bad("The from object must be provided for every email send.", "from")
        seen: set[str] = set()
        for i, p in enumerate(people):
            if not isinstance(p, dict) or not p.get("to"):
                return bad("The to parameter is required for all personalization objects.", f"personalizations.{i}.to")
            for kind in ("to", "cc", "bcc"):
                for who in p.get(kind, []):
                    address = who.get("email", "") if isinstance(who, dict) else ""
                    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                        return bad("Does not contain a valid address.", f"personalizations.{i}.{kind}")
                    if address.lower() in seen:
                        return bad(
                            "Each email address in the personalization block should be unique between to, cc, and "
                            f"bcc. We found the first duplicate instance of [{address}] in the "
                            f"personalizations.{i}.{kind} field.",
                            f"personalizations.{i}",
                        )
                    seen.add(address.lower())
            if not (p.get("subject") or mail.get("subject")):
                return bad("The subject is required.", "subject")
            for field in ("headers", "substitutions", "custom_args"):
                if field in p and not strings(p[field]):
                    return bad("Bad Request")  # a number where a string goes (anymail)
            if RESERVED_HEADERS & {h.lower() for h in p.get("headers", {})}:
                return bad("A header you set is reserved.", f"personalizations.{i}.headers")
            if len(json.dumps(p.get("substitutions", {}), ensure_ascii=False).encode()) > self.max_substitutions:
                return bad("Substitutions may not exceed 10,000 bytes per personalization.", f"personalizations.{i}")
        if len(seen) > self.max_recipients:
            return bad("There is a limit of 1000 total recipients (to + cc + bcc) per request.", "personalizations")
        for field in ("headers", "custom_args"):
            if field in mail and not strings(mail[field]):
                return bad("Bad Request")
        if RESERVED_HEADERS & {h.lower() for h in mail.get("headers", {})}:
            return bad("A header you set is reserved.", "headers")
        content = mail.get("content") or []
        if not content or not all(isinstance(c, dict) and c.get("value") for c in content):
            return bad("The content value must be a string at least one character in length.", "content")
        kinds = [c.get("type") for c in content]
        if "text/html" in kinds and "text/plain" in kinds and kinds.index("text/html") < kinds.index("text/plain"):
            return bad("If present, text/plain and text/html may only be provided in order: text/plain, text/html")
        categories = mail.get("categories", [])
        if len(categories) > 10 or len(set(categories)) != len(categories) or any(len(c) > 255 for c in categories):
            return bad("Categories: at most 10, unique, each at most 255 characters.", "categories")
        if "send_at" in mail:
            at = mail["send_at"]
            latest = dt.datetime.now(dt.UTC) + dt.timedelta(hours=self.schedule_hours)
            if not isinstance(at, int) or at > latest.timestamp():
                return bad("send_at must be a unix timestamp at most 72 hours ahead.", "send_at")
        return None

    def _deliver(self, mail: dict[str, Any], message_id: str) -> None:
        parts = {c["type"]: c["value"] for c in mail["content"]}
        tag = mail["categories"][0] if mail.get("categories") else None
        for p in mail["personalizations"]:
            subs = p.get("substitutions", {})
            # Tags are replaced literally, longest first so that none is taken for a piece of another.
            pattern = re.compile("|".join(map(re.escape, sorted(subs, key=len, reverse=True)))) if subs else None

            def fill(text: str, subs: dict[str, str] = subs, pattern: re.Pattern[str] | None = pattern) -> str:
                return pattern.sub(lambda m: subs[m[0]], text) if pattern else text

            for who in p["to"]:
                self.deliver(
                    Delivered(
                        to=who["email"],
                        subject=fill(p.get("subject") or mail["subject"]),
                        html=fill(parts.get("text/html", "")),
                        text=fill(parts.get("text/plain", "")),
                        headers={**mail.get("headers", {}), **p.get("headers", {})},
                        tag=tag,
                        message_id=message_id,
                        name=who.get("name"),
                    )
                )

    def _suppressions(self, request: Request) -> Response:
        """``GET /v3/suppression/{list}?start_time&end_time&limit&offset``: a JSON array, newest first (spec)."""
        found = re.fullmatch(r"/v3/suppression/(bounces|blocks|spam_reports|invalid_emails|unsubscribes)", request.path)
        if not found:
            return bad("not found", status=404)
        query = {k: v[-1] for k, v in request.query.items()}
        try:
            limit, offset = int(query.get("limit", "500")), int(query.get("offset", "0"))
            start, end = int(query.get("start_time", "0")), int(query.get("end_time", str(2**40)))
        except ValueError:
            return bad("a number is expected", "limit")
        if not 1 <= limit <= 500:
            return bad("limit must be between 1 and 500", "limit")
        entries = [e for e in self.lists[found[1]] if start <= int(e.get("created", 0)) <= end]
        entries.sort(key=lambda e: (-int(e.get("created", 0)), str(e.get("email"))))
        return Response(200, entries[offset : offset + limit])
