"""A real HTTP server on 127.0.0.1 that plays a mail provider's API, with faults on demand.

Each provider's fake subclasses :class:`FakeProvider` and implements :meth:`FakeProvider.handle`: check the
request the way the real API does (auth, required fields, batch limits) and, on success, record what each
recipient would receive in :attr:`FakeProvider.delivered`, with the provider's own placeholders expanded.
Tests then compare what reached the fake with what should have.

Faults are queued with :meth:`FakeProvider.fail`; each applies to the next call:

- ``Fault(status=429, headers={"Retry-After": "1"}, body=...)``: answer with that instead of handling;
- ``Fault(drop=True)``: read the request, then close the connection without answering (nothing delivered);
- ``Fault(drop=True, after_handling=True)``: handle it (deliver), then drop: the client can't know it worked;
- ``Fault(delay=2.0)``: handle, but answer only after that many seconds (client timeouts);
- ``Fault(drop=True, then=fn)``: as a drop, calling ``fn`` first (a test kills the sending process there);
- ``Fault(then=fn)``: handle and answer, then call ``fn``;
- ``Fault(status=200, body=..., after_handling=True)``: handle it (deliver), but answer with that instead.

:attr:`FakeProvider.chaos`, if set, is asked for a fault for every call that has none queued (or None).
"""

from __future__ import annotations

import collections
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lowercased
    body: bytes
    raw_query: str = ""  # the query string as sent (SigV4 signs it so)
    received: float = field(default_factory=time.monotonic)  # when its body was read (a test of the send's rate)

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        """urlencoded or multipart/form-data fields, repeated keys kept in order."""
        kind = self.headers.get("content-type", "")
        if kind.startswith("multipart/form-data"):
            import email.parser
            import email.policy

            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + kind.encode() + b"\r\n\r\n" + self.body
            )
            fields: dict[str, list[str]] = collections.defaultdict(list)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                raw = part.get_payload(decode=True)  # bytes: form-data text is UTF-8 (RFC 7578)
                fields[str(name)].append(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
            return dict(fields)
        return urllib.parse.parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class Response:
    status: int
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body, "application/octet-stream"


@dataclass
class Fault:
    status: int | None = None
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    after_handling: bool = False
    then: Callable[[], object] | None = None
    delay: float = 0.0


@dataclass
class Delivered:
    """One message as its recipient would get it."""

    to: str
    subject: str
    html: str
    text: str
    headers: dict[str, str]
    tag: str | None = None
    message_id: str | None = None
    name: str | None = None  # the display name the To address was given, if any


class FakeProvider:
    name = "fake"

    def __init__(self) -> None:
        self.delivered: list[Delivered] = []
        self.requests: list[Request] = []
        self._faults: collections.deque[Fault] = collections.deque()
        self.chaos: Callable[[], Fault | None] | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll: shutdown() waits for the serving loop to look, 0.5 s by default, on every test's teardown.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    # --- for tests ---------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- for subclasses -----------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def deliver(self, message: Delivered) -> None:
        with self._lock:
            self.delivered.append(message)

    # --- plumbing -----------------------------------------------------------------------------------------
    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
        return self.chaos() if self.chaos else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                url = urllib.parse.urlsplit(self.path)
                request = Request(
                    self.command, url.path, urllib.parse.parse_qs(url.query),
                    {k.lower(): v for k, v in self.headers.items()}, body, url.query,
                )  # fmt: skip
                with fake._lock:
                    fake.requests.append(request)
                fault = fake._next_fault()
                if fault and fault.drop and not fault.after_handling:
                    if fault.then:
                        fault.then()
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault and fault.status is not None:
                    response = Response(fault.status, fault.body, fault.headers)
                    if fault.after_handling:
                        fake.handle(request)
                else:
                    response = fake.handle(request)
                if fault and fault.drop:
                    if fault.then:
                        fault.then()
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault and fault.delay:
                    time.sleep(fault.delay)
                payload, content_type = response.encoded()
                headers = {"Content-Type": content_type, **response.headers, "Content-Length": str(len(payload))}
                try:
                    self.send_response(response.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped waiting (a timeout test): nothing to answer
                if fault and fault.then and not fault.drop:
                    fault.then()

        return Handler
