"""A fake of Brevo's transactional send (providers.md §6 and §10): ``POST /v3/smtp/email``.

``api-key`` auth (401); ``{"code", "message"}`` errors; the documented limits (≤1,000 versions, ≤99 recipients a
version, ≤2,000 a request, params ≤100 KB a version and ≤1,000 KB in all); ``headers.idempotencyKey`` kept 30
minutes, a repeat answered as the first time with nothing sent; ``X-Sib-Sandbox: drop``; 201 with
``messageIds`` in version order, or 202 with no body when ``scheduledAt`` is set (that body is undocumented).

Subjects and bodies are rendered with the part of Brevo Template Language that actionmail uses: ``{{ params.X }}``
(top-level params, overridden by the version's), escaped for HTML unless inside ``{% autoescape off %}``.
Anything else that looks like a tag is refused, so a provider can't rely on more than that.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.fakes.server import Delivered, FakeProvider, Fault, Request, Response

TTL = 30 * 60.0
SPECIAL = {"idempotencykey", "x-sib-sandbox", "sender.ip", "x-mailin-custom"}  # read by Brevo, not sent as is
_TOKEN = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.S)  # as Django's lexer splits a template
_VARIABLE = re.compile(r"\{\{\s*params\.([A-Za-z0-9_]+)\s*\}\}")


def error(status: int, code: str, message: str) -> Response:
    return Response(status, {"code": code, "message": message})


def rate_limited(reset: int = 1) -> Fault:
    headers = {"x-sib-ratelimit-limit": "1000", "x-sib-ratelimit-remaining": "0", "x-sib-ratelimit-reset": str(reset)}
    return Fault(status=429, body={"code": "too_many_requests", "message": "Too many requests"}, headers=headers)


class TemplateError(ValueError):
    pass


def render(template: str, params: dict[str, Any]) -> str:
    out, escape, start = [], [True], 0
    for match in _TOKEN.finditer(template):
        out.append(template[start : match.start()])
        start = match.end()
        token = match[0]
        if token.startswith("{#"):
            continue
        if variable := _VARIABLE.fullmatch(token):
            value = str(params.get(variable[1], ""))
            out.append(html.escape(value) if escape[-1] else value)
        elif re.fullmatch(r"\{%\s*autoescape\s+(on|off)\s*%\}", token):
            escape.append("on" in token)
        elif re.fullmatch(r"\{%\s*endautoescape\s*%\}", token) and len(escape) > 1:
            escape.pop()
        else:
            raise TemplateError(f"unsupported template syntax: {token[:40]}")
    if len(escape) != 1:
        raise TemplateError("unclosed {% autoescape %}")
    return "".join(out) + template[start:]


class BrevoFake(FakeProvider):
    name = "brevo"

    def __init__(self, api_key: str, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.api_key, self.clock = api_key, clock
        self.keys: dict[str, tuple[float, Response]] = {}
        self._keys_lock = threading.Lock()
        # What the pull endpoints serve: blocked transactional contacts, and transactional events.
        self.blocked: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def handle(self, request: Request) -> Response:
        if request.headers.get("api-key") != self.api_key:
            return error(401, "unauthorized", "Key not found")
        if request.method == "GET":
            return self._pull(request)
        if request.path != "/v3/smtp/email":
            return error(404, "not_found", "Invalid route")
        try:
            body = request.json()
        except ValueError:
            return error(400, "bad_request", "Malformed JSON")
        key = (body.get("headers") or {}).get("idempotencyKey")
        if key is not None:
            try:
                uuid.UUID(str(key))
            except ValueError:
                return error(400, "invalid_parameter", "idempotencyKey must be a UUID")
            with self._keys_lock:
                stored = self.keys.get(key)
                if stored and self.clock() - stored[0] < TTL:
                    return stored[1]  # "processed only once" (doc); the answer to a repeat is not documented
        response = self._send(body)
        if key is not None and response.status in (201, 202):
            with self._keys_lock:
                self.keys[key] = (self.clock(), response)
        return response

    def _send(self, body: dict[str, Any]) -> Response:
        sender = body.get("sender") or {}
        if not sender.get("email"):
            return error(400, "invalid_parameter", "valid sender email required")
        if not body.get("htmlContent"):
            return error(400, "missing_parameter", "htmlContent is missing")  # text-only is refused (anymail)
        versions = body.get("messageVersions") or [{"to": body.get("to") or []}]
        if len(versions) > 1000:
            return error(400, "invalid_parameter", "messageVersions: at most 1000 versions")
        if any(not 1 <= len(v.get("to") or []) <= 99 for v in versions):
            return error(400, "invalid_parameter", "messageVersions: 1 to 99 recipients in each version")
        if sum(len(v["to"]) for v in versions) > 2000:
            return error(400, "invalid_parameter", "at most 2000 recipients in a request")
        sizes = [len(json.dumps(v.get("params", {}))) for v in versions]
        if max(sizes) > 100_000 or sum(sizes) > 1_000_000:
            return error(400, "invalid_parameter", "params: at most 100 KB a version and 1000 KB in all")
        messages = []
        ids = [f"<{uuid.uuid4()}@smtp-relay.mailin.fr>" for _ in versions]
        for version, message_id in zip(versions, ids, strict=True):
            headers = {**(body.get("headers") or {}), **(version.get("headers") or {})}
            if not all(isinstance(v, str) and v.isascii() for v in headers.values()):
                # Brevo would send them as raw 8-bit (anymail); refused here to catch it.
                return error(400, "invalid_parameter", "header values must be ASCII strings")
            params = {**(body.get("params") or {}), **(version.get("params") or {})}
            try:
                subject = render(version.get("subject") or body.get("subject") or "", params)
                content = render(version.get("htmlContent") or body["htmlContent"], params)
                text = render(version.get("textContent") or body.get("textContent") or "", params)
            except TemplateError as e:
                return error(400, "invalid_parameter", str(e))
            sent = {_case(k): v for k, v in headers.items() if k.lower() not in SPECIAL}
            tags = body.get("tags") or [None]
            messages += [
                Delivered(p["email"], subject, content, text, sent, tags[0], message_id, p.get("name"))
                for p in version["to"]
            ]
        if (body.get("headers") or {}).get("X-Sib-Sandbox") != "drop":  # sandbox: nothing sent (doc)
            for message in messages:
                self.deliver(message)
                # Brevo logs a "requests" event for each message it takes: what its events API serves by tag.
                self.events.append(
                    {
                        "email": message.to,
                        "date": dt.datetime.now(dt.UTC).isoformat(),
                        "messageId": message.message_id,
                        "event": "requests",
                        "tag": message.tag,
                        "subject": message.subject,
                    }
                )
        if body.get("scheduledAt"):
            return Response(202, b"")
        return Response(201, {"messageIds": ids} if body.get("messageVersions") else {"messageId": ids[0]})

    # --- the pull endpoints ------------------------------------------------------------------------------------
    def _pull(self, request: Request) -> Response:
        """``GET /v3/smtp/blockedContacts`` (``limit`` ≤ 100, ``offset``, ``startDate``/``endDate``: both or
        neither, YYYY-MM-DD) → ``{contacts, count}``; ``GET /v3/smtp/statistics/events`` (``limit`` ≤ 5000,
        ``offset``, ``startDate``/``endDate`` at most 90 days apart, ``tags`` a JSON array, ``sort``) →
        ``{events}``."""
        query = {k: v[-1] for k, v in request.query.items()}
        if ("startDate" in query) != ("endDate" in query):
            return error(400, "invalid_parameter", "startDate and endDate must be given together")
        start, end = query.get("startDate", "0000-00-00"), query.get("endDate", "9999-99-99")
        try:
            limit, offset = int(query.get("limit", "50")), int(query.get("offset", "0"))
        except ValueError:
            return error(400, "invalid_parameter", "limit and offset are numbers")
        if request.path == "/v3/smtp/blockedContacts":
            if not 0 <= limit <= 100:
                return error(400, "invalid_parameter", "limit must be at most 100")
            chosen = [c for c in self.blocked if start <= str(c.get("blockedAt"))[:10] <= end]
            chosen.sort(key=lambda c: str(c.get("blockedAt")), reverse=True)
            return Response(200, {"contacts": chosen[offset : offset + limit], "count": len(chosen)})
        if request.path == "/v3/smtp/statistics/events":
            if not 0 <= limit <= 5000:
                return error(400, "invalid_parameter", "limit must be at most 5000")
            if "startDate" in query and (_day(end) - _day(start)).days > 90:
                return error(400, "invalid_parameter", "The date range can not exceed 90 days")
            chosen = [e for e in self.events if start <= str(e.get("date"))[:10] <= end]
            if "tags" in query:
                wanted = set(json.loads(query["tags"]))
                chosen = [e for e in chosen if e.get("tag") in wanted]
            chosen.sort(key=lambda e: str(e.get("date")), reverse=query.get("sort") != "asc")
            return Response(200, {"events": chosen[offset : offset + limit]} if chosen[offset:] else {})
        return error(404, "not_found", "Invalid route")


def _case(name: str) -> str:
    """Brevo normalises header names to This-Case (SDK doc)."""
    return "-".join(word.capitalize() for word in name.split("-"))


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)
