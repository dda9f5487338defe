"""Postmark's /email/batch as docs/providers.md §3 and §10 describe it, on 127.0.0.1.

Per-message outcomes come from the fake's state, as they would from the account's: ``senders`` (From addresses
with a confirmed sender signature) and ``inactive`` (suppressed recipients). Messages in quotes are Postmark's own
where a source shows them; the others, and the HTTP status of ErrorCode 410, are this fake's.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import re
import urllib.parse
import uuid
from typing import Any

from tests.fakes.server import Delivered, FakeProvider, Request, Response

TEST_TOKEN = "POSTMARK_API_TEST"  # validates, delivers nothing (doc)
INACTIVE = (
    "You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: {}. "
    "Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression."
)
NOT_A_SENDER = (
    "The 'From' address you supplied ({}) is not a Sender Signature on your account. Please add and confirm this "
    "address in order to be able to use it in the 'From' field of your messages."
)


def error(code: int, message: str, status: int = 422) -> Response:
    return Response(status, {"ErrorCode": code, "Message": message})


class PostmarkFake(FakeProvider):
    name = "postmark"
    max_messages = 500  # per /email/batch (doc)
    max_recipients = 50  # To + Cc + Bcc per message (doc)

    def __init__(self, token: str, senders: tuple[str, ...] = ("action@example.org",)) -> None:
        super().__init__()
        self.token = token
        self.senders = {s.lower() for s in senders}
        self.inactive: set[str] = set()
        self._ids = itertools.count(1)
        # What the pull endpoints serve: bounces (Bounces API records), each stream's suppressions, and the
        # outbound messages the search finds.
        self.bounces: list[dict[str, Any]] = []
        # Every server has the default transactional and broadcast streams (Postmark creates them).
        self.suppressions: dict[str, list[dict[str, Any]]] = {"outbound": [], "broadcast": []}
        self.messages: list[dict[str, Any]] = []

    def handle(self, request: Request) -> Response:
        token = request.headers.get("x-postmark-server-token")
        if not token:
            return error(10, "Request does not contain a valid Server token.", 401)
        if token not in (self.token, TEST_TOKEN):
            return error(
                10,
                "The Server Token you provided in the X-Postmark-Server-Token request header was invalid. "
                "Please verify that you are using a valid token.",
                401,
            )
        if request.method == "GET":
            return self._pull(request)
        if request.method != "POST" or request.path != "/email/batch":
            return Response(404, "")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return error(409, "JSON required.", 415)
        try:
            messages = request.json()
        except ValueError:
            return error(402, "Received invalid JSON input.")
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return error(403, "Incompatible JSON input: /email/batch takes an array of messages.")
        if len(messages) > self.max_messages:
            return error(410, f"Too many batch messages: {len(messages)}, at most {self.max_messages}.")
        return Response(200, [self.one(m, token == TEST_TOKEN) for m in messages])

    def one(self, message: dict[str, Any], test: bool) -> dict[str, Any]:
        """One message's result, in the batch answer's shape; delivered unless it failed or the token is a test."""
        sender = email.utils.parseaddr(message.get("From", ""))[1]
        if not sender:
            return {"ErrorCode": 300, "Message": "Invalid 'From' address: ''."}
        if sender.lower() not in self.senders:
            return {"ErrorCode": 400, "Message": NOT_A_SENDER.format(message["From"])}
        to = [a for _, a in email.utils.getaddresses([message.get("To", "")]) if a]
        if not to:
            return {"ErrorCode": 300, "Message": "Zero recipients specified"}
        if any("@" not in a for a in to):
            return {"ErrorCode": 300, "Message": f"Invalid 'To' address: '{message['To']}'."}
        if len(to) > self.max_recipients:
            return {"ErrorCode": 300, "Message": "Maximum of 50 recipients allowed per email message."}
        if not (message.get("HtmlBody") or message.get("TextBody")):
            return {"ErrorCode": 300, "Message": "Provide either email TextBody or HtmlBody or both."}
        if any(len(name) > 20 for name in message.get("Metadata", {})):
            return {"ErrorCode": 300, "Message": "Invalid metadata content. Field names are limited to 20 characters."}
        if any(not isinstance(h, dict) or set(h) != {"Name", "Value"} for h in message.get("Headers", [])):
            return {"ErrorCode": 300, "Message": "Headers must be a list of {Name, Value}."}
        inactive = [a.lower() for a in to if a.lower() in self.inactive]
        if inactive and len(inactive) == len(to):
            return {"ErrorCode": 406, "Message": INACTIVE.format(", ".join(inactive))}
        message_id = str(uuid.UUID(int=next(self._ids)))
        if not test:
            names = {a: n for n, a in email.utils.getaddresses([message.get("To", "")])}
            for address in (a for a in to if a.lower() not in self.inactive):
                self.deliver(
                    Delivered(
                        to=address,
                        subject=message.get("Subject", ""),
                        html=message.get("HtmlBody", ""),
                        text=message.get("TextBody", ""),
                        headers={h["Name"]: h["Value"] for h in message.get("Headers", [])},
                        tag=message.get("Tag"),
                        message_id=message_id,
                        name=names.get(address) or None,
                    )
                )
        submitted = dt.datetime.now(dt.UTC).isoformat()
        if not test:  # what the outbound message search finds (and `sync` asks for an interrupted send)
            self.messages.append(
                {
                    "MessageID": message_id,
                    "Recipients": [a for a in to if a.lower() not in self.inactive],
                    "Tag": message.get("Tag"),
                    "Metadata": message.get("Metadata", {}),
                    "MessageStream": message.get("MessageStream", "outbound"),
                    "ReceivedAt": submitted,
                    "Status": "Sent",
                }
            )
        result = {
            "ErrorCode": 0,
            "Message": "OK",
            "MessageID": message_id,
            "SubmittedAt": submitted,
            "To": message["To"],
        }
        if inactive:
            result["Message"] = (
                f"Message OK, but will not deliver to these inactive addresses: {', '.join(inactive)}. "
                "Inactive recipients are ones that have generated a hard bounce or a spam complaint."
            )
        return result

    # --- the pull endpoints ------------------------------------------------------------------------------------
    def _pull(self, request: Request) -> Response:
        """``GET /bounces`` and ``/messages/outbound`` (``count`` ≤ 500 and ``offset`` required, count + offset ≤
        10,000; ``fromdate``/``todate``, ``tag``, ``messagestream``), newest first with ``TotalCount``; and
        ``GET /message-streams/{stream}/suppressions/dump`` (``fromdate``/``todate``), all in one page."""
        query = {k: v[-1] for k, v in request.query.items()}
        found = re.fullmatch(r"/message-streams/([^/]+)/suppressions/dump", request.path)
        if found:
            stream = urllib.parse.unquote(found[1])
            if stream not in self.suppressions:
                return error(1226, "The message stream for the provided 'ID' was not found.", 422)
            entries = [e for e in self.suppressions[stream] if _within(e.get("CreatedAt"), query)]
            return Response(200, {"Suppressions": entries})
        if request.path not in ("/bounces", "/messages/outbound"):
            return Response(404, "")
        try:
            count, offset = int(query["count"]), int(query["offset"])
        except (KeyError, ValueError):
            return error(402, "The 'count' and 'offset' parameters are required.")
        if not 1 <= count <= 500 or count + offset > 10_000:
            return error(402, "count must be at most 500, and count + offset at most 10,000.")
        bounces = request.path == "/bounces"
        records = self.bounces if bounces else self.messages
        time_field = "BouncedAt" if bounces else "ReceivedAt"
        chosen = [
            r
            for r in records
            if _within(r.get(time_field), query)
            and query.get("tag", r.get("Tag")) == r.get("Tag")
            and query.get("messagestream", r.get("MessageStream")) == r.get("MessageStream")
        ]
        chosen.sort(key=lambda r: str(r.get(time_field)), reverse=True)
        key = "Bounces" if bounces else "Messages"
        return Response(200, {"TotalCount": len(chosen), key: chosen[offset : offset + count]})


def _within(value: Any, query: dict[str, str]) -> bool:
    """Whether an ISO time is within ``fromdate``…``todate`` (dates, inclusive: a whole day each)."""
    day = str(value)[:10]
    return query.get("fromdate", "0000") <= day <= query.get("todate", "9999")
