"""A fake of Resend's send API (providers.md §5 and §10): ``POST /emails`` and ``POST /emails/batch``.

Bearer auth; ``{"statusCode", "message", "name"}`` errors; at most 100 emails a batch and 50 ``to`` an email; no
attachments in a batch; ``Idempotency-Key`` kept 24 hours: the same key and body get the first answer again
and nothing is sent, another body gets 409 ``invalid_idempotent_request``, and a key still being handled gets
409 ``concurrent_idempotent_requests``.
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.fakes.server import Delivered, FakeProvider, Fault, Request, Response

DAY = 24 * 3600.0
_TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")


def error(status: int, name: str, message: str) -> Response:
    return Response(status, {"statusCode": status, "message": message, "name": name})


def rate_limited(seconds: int = 1, name: str = "rate_limit_exceeded") -> Fault:
    """A 429 as Resend sends it, with its IETF-draft rate-limit headers (rate-limit doc)."""
    headers = {"ratelimit-limit": "2", "ratelimit-remaining": "0", "ratelimit-reset": str(seconds)}
    if name == "rate_limit_exceeded":
        headers["retry-after"] = str(seconds)
    body = {"statusCode": 429, "message": "Too many requests. You can only make 2 requests per second.", "name": name}
    return Fault(status=429, body=body, headers=headers)


class ResendFake(FakeProvider):
    name = "resend"

    def __init__(self, api_key: str, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.api_key, self.clock = api_key, clock
        self.keys: dict[str, tuple[float, Any, Response]] = {}  # key → (when, body, first answer)
        self.in_flight: set[str] = set()
        self._keys_lock = threading.Lock()
        # What the pull endpoints serve: the suppression list, and the emails (with their last_event).
        self.suppressions: list[dict[str, Any]] = []
        self.emails: list[dict[str, Any]] = []

    def handle(self, request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        if not authorization:
            return error(401, "missing_api_key", "Missing API key in the authorization header.")
        if authorization != f"Bearer {self.api_key}":
            return error(403, "invalid_api_key", "API key is invalid")
        if request.method == "GET":
            return self._pull(request)
        if request.path not in ("/emails", "/emails/batch"):
            return error(404, "not_found", "The requested endpoint does not exist.")
        try:
            body = request.json()
        except ValueError:
            return error(400, "validation_error", "Invalid JSON")
        key = request.headers.get("idempotency-key")
        if key is None:
            return self._send(request.path, body)
        if not 1 <= len(key) <= 256:
            return error(400, "invalid_idempotency_key", "The key must be between 1-256 chars.")
        with self._keys_lock:
            stored = self.keys.get(key)
            if stored and self.clock() - stored[0] < DAY:
                if stored[1] != body:
                    return error(
                        409, "invalid_idempotent_request", "Same idempotency key used with a different payload."
                    )
                return stored[2]
            if key in self.in_flight:
                return error(409, "concurrent_idempotent_requests", "Same idempotency key used while in progress.")
            self.in_flight.add(key)
        try:
            response = self._send(request.path, body)
        finally:
            with self._keys_lock:
                self.in_flight.discard(key)
                if response.status == 200:
                    self.keys[key] = (self.clock(), body, response)
        return response

    def _send(self, path: str, body: Any) -> Response:
        batch = path == "/emails/batch"
        emails = body if batch else [body]
        if not isinstance(emails, list) or not all(isinstance(e, dict) for e in emails):
            return error(422, "validation_error", "The request body must be an array of emails.")
        if batch and not 1 <= len(emails) <= 100:
            return error(422, "validation_error", f"Too many emails: {len(emails)} in one batch; at most 100.")
        for index, item in enumerate(emails):
            problem = _check(item, batch)
            if problem:  # strict validation (the default): one bad email refuses the whole batch
                return error(422, "validation_error", f"emails[{index}]: {problem}" if batch else problem)
        ids = [str(uuid.uuid4()) for _ in emails]
        for item, message_id in zip(emails, ids, strict=True):
            to = item["to"] if isinstance(item["to"], list) else [item["to"]]
            tags = {t["name"]: t["value"] for t in item.get("tags", [])}
            for address in to:
                self.deliver(
                    Delivered(
                        to=email.utils.parseaddr(address)[1],
                        subject=item["subject"],
                        html=item.get("html", ""),
                        text=item.get("text", ""),
                        headers=dict(item.get("headers", {})),
                        tag=tags.get("tag"),
                        message_id=message_id,
                        name=email.utils.parseaddr(address)[0] or None,
                    )
                )
        return Response(200, {"data": [{"id": i} for i in ids]} if batch else {"id": ids[0]})

    # --- the pull endpoints ------------------------------------------------------------------------------------
    def _pull(self, request: Request) -> Response:
        """``GET /suppressions`` and ``GET /emails`` (``limit`` 1–100, ``after``: the last id of the previous
        page; newest first; ``{object, has_more, data}``), and ``GET /emails/{id}``."""
        found = re.fullmatch(r"/emails/([^/]+)", request.path)
        if found:
            email_ = next((e for e in self.emails if e["id"] == found[1]), None)
            return Response(200, email_) if email_ else error(404, "not_found", "Email not found")
        if request.path not in ("/suppressions", "/emails"):
            return error(404, "not_found", "The requested endpoint does not exist.")
        query = {k: v[-1] for k, v in request.query.items()}
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            return error(422, "validation_error", "limit must be a number")
        if not 1 <= limit <= 100:
            return error(422, "validation_error", "limit must be between 1 and 100")
        records = sorted(
            self.suppressions if request.path == "/suppressions" else self.emails,
            key=lambda r: (str(r.get("created_at")), str(r.get("id"))),
            reverse=True,
        )
        if "after" in query:
            ids = [r.get("id") for r in records]
            if query["after"] not in ids:
                return error(422, "validation_error", "after: no such id")
            records = records[ids.index(query["after"]) + 1 :]
        return Response(200, {"object": "list", "has_more": len(records) > limit, "data": records[:limit]})


def _check(item: dict[str, Any], batch: bool) -> str | None:
    for required in ("from", "to", "subject"):
        if not item.get(required):
            return f"Missing `{required}` field."
    to = item["to"] if isinstance(item["to"], list) else [item["to"]]
    if len(to) > 50:
        return "Too many recipients: `to` takes at most 50."
    if not all(isinstance(a, str) and "@" in email.utils.parseaddr(a)[1] for a in to):
        return "Invalid `to` field."
    if not (item.get("html") or item.get("text")):
        return "Missing `html` or `text` field."
    if batch and ("attachments" in item or "scheduled_at" in item):
        # The real endpoint ignores these ("not supported yet"); refusing them here catches a provider relying on them.
        return "The `attachments` and `scheduled_at` fields are not supported in batch."
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in item.get("headers", {}).items()):
        return "Header values must be strings."
    for tag in item.get("tags", []):
        if not (_TAG.fullmatch(str(tag.get("name", ""))) and _TAG.fullmatch(str(tag.get("value", "")))):
            return "Tags may only contain ASCII letters, numbers, underscores, or dashes."
    return None
