"""The preview's HTTP server: the page, the emails it frames, a JSON API, and Server-Sent Events when files change.

The pattern is mkdocs' ``serve``: render into memory, watch the inputs, and tell the browser to reload. The
live-reload script is added only to what this server sends a browser — never to what ``render`` writes or a send
sends (the workspace's renderings stay untouched; :func:`inject_live_reload` works on a copy on the way out).

The standard library's ThreadingHTTPServer is enough for one organizer's browser on 127.0.0.1 and keeps the
dependencies light; each connection, and each open event stream, has its own thread. What http.server leaves open
is closed here (:mod:`actionmail.preview.guard` holds the parts that don't depend on it): every request needs the
per-run secret the command printed; a request must arrive in full within :attr:`PreviewServer.request_seconds`
(slowly or not); at most :attr:`PreviewServer.max_connections` connections, so threads, at once; Content-Length
strictly parsed and a body of at most 64 KB; and no traceback ever goes to a browser, only to the log.
(uvicorn, which a later ``actionmail serve`` may use, has no deadline for a request's arrival either: its
keep-alive timer restarts on every byte.)
"""

from __future__ import annotations

import collections
import html
import io
import json
import logging
import math
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import watchfiles

from actionmail.errors import ActionmailError, InvalidInput, UsageError
from actionmail.httpguard import is_loopback
from actionmail.preview.guard import (
    FORBIDDEN_MESSAGE,
    FORBIDDEN_PAGE,
    Access,
    DeadlineReader,
    Refused,
    body_length,
)
from actionmail.preview.workspace import Change, NotFound, Workspace, problem_json

logger = logging.getLogger(__name__)

STATIC = Path(str(resources.files("actionmail.preview") / "static"))
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}
# An email's dark styles sit behind @media (prefers-color-scheme: dark), which a parent page cannot switch on for
# an iframe. The dark view is an emulation: the email served with that condition rewritten to one that always
# holds (and a light-only condition to one that never does), so it is exactly the email's own dark CSS that shows.
# What real mail apps do in dark mode varies more than this (some invert colours of their own accord).
_DARK = re.compile(r"\(\s*prefers-color-scheme\s*:\s*dark\s*\)")
_LIGHT = re.compile(r"\(\s*prefers-color-scheme\s*:\s*light\s*\)")
KEEPALIVE_SECONDS = 15.0
# watchfiles says nothing when its watch is set up; it does yield an empty set after this many milliseconds
# without a change, which can only come once it is watching.
WATCH_TIMEOUT_MS = 100
_BUSY = b"the preview has too many connections open: try again in a moment\n"


def emulate_dark(page: str) -> str:
    return _LIGHT.sub("(max-width: 0px)", _DARK.sub("(min-width: 0px)", page))


def inject_live_reload(page: str, entry_id: str) -> str:
    """A served email page that reloads itself when its newsletter (or a shared input) changes."""
    script = f'<script src="/static/live.js" data-newsletter="{html.escape(entry_id)}"></script>'
    end = page.rfind("</body>")
    return page + script if end < 0 else page[:end] + script + page[end:]


class Events:
    """Change notices for the event streams: each has a number, so a stream sends every one after its last."""

    def __init__(self, keep: int = 100) -> None:
        self._condition = threading.Condition()
        self._recent: collections.deque[tuple[int, dict[str, Any]]] = collections.deque(maxlen=keep)
        self.number = 0
        self.closed = False

    def publish(self, message: dict[str, Any]) -> None:
        with self._condition:
            self.number += 1
            self._recent.append((self.number, {**message, "number": self.number}))
            self._condition.notify_all()

    def after(self, number: int, timeout: float) -> list[tuple[int, dict[str, Any]]]:
        """The notices after ``number``, waiting up to ``timeout`` seconds for one; [] on timeout or close."""
        with self._condition:
            self._condition.wait_for(lambda: self.number > number or self.closed, timeout=timeout)
            return [(n, m) for n, m in self._recent if n > number]

    def close(self) -> None:
        with self._condition:
            self.closed = True
            self._condition.notify_all()


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 is fewer than a browser opens at once
    # A request (its line, headers and body) must arrive within this many seconds of when the server starts
    # waiting for it; a connection idle that long between requests is closed too (the browser opens another).
    request_seconds = 10.0
    # A browser that stops reading what the preview sends is let go after this long.
    write_seconds = 30.0
    # Connections served at once, each a thread: a browser opens at most 6 to a host, plus an event stream per
    # tab. More are turned away (503) rather than each given a thread.
    max_connections = 64

    def __init__(
        self,
        workspace: Workspace,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        debounce_ms: int = 50,
        step_ms: int = 10,
    ) -> None:
        self.workspace = workspace
        self.events = Events()
        self.debounce_ms, self.step_ms = debounce_ms, step_ms
        self._stop = threading.Event()
        self.watching = threading.Event()
        self._workers: list[threading.Thread] = []
        self._slots = threading.BoundedSemaphore(self.max_connections)
        self._turned_away_at = -math.inf
        if ":" in host:  # an IPv6 address such as ::1
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        self.host = host
        self.port = self.server_address[1]
        self.access = Access(self.port)
        # Only the names this server answers to: a web page elsewhere can't reach it through a DNS name of its own
        # that it points at 127.0.0.1 (DNS rebinding). With --host the organizer chose to expose it; any name goes.
        names = {host if ":" not in host else f"[{host}]", "127.0.0.1", "localhost", "[::1]"}
        self.allowed_hosts = {f"{name}:{self.port}" for name in names} if is_loopback(host) else None

    @property
    def address(self) -> str:
        host = "localhost" if self.host in ("127.0.0.1", "localhost") else self.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    @property
    def url(self) -> str:
        """The address to open: with the secret that lets the browser in."""
        return f"{self.address}?{urlencode({'token': self.access.token})}"

    def serve(self) -> None:
        """Serve and watch until interrupted (Ctrl-C), then stop both."""
        self._background(self._watch, "preview-watch")
        try:
            self.serve_forever()
        finally:
            self._stop_watching()
            self.server_close()

    def start(self) -> None:
        """Serve and watch in background threads, once the watch is set up; :meth:`close` stops both."""
        self._background(self._watch, "preview-watch")
        self._background(self.serve_forever, "preview-serve")
        self.watching.wait(timeout=5)

    def close(self) -> None:
        self.shutdown()  # serve_forever returns; only call this after start()
        self._stop_watching()
        self.server_close()

    def _background(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._workers.append(thread)

    def _stop_watching(self) -> None:
        self._stop.set()
        self.events.close()  # ends the event streams, so their threads finish
        for thread in self._workers:
            if thread is not threading.current_thread():
                thread.join(timeout=10)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Each connection in a thread of its own, as ThreadingMixIn does, but only so many at once."""
        if not self._slots.acquire(blocking=False):
            self._turn_away(request)
            return
        thread = threading.Thread(target=self._serve_connection, args=(request, client_address), daemon=True)
        try:
            thread.start()
        except RuntimeError:  # the system won't give another thread
            self._slots.release()
            self._turn_away(request)

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _turn_away(self, request: socket.socket) -> None:
        if time.monotonic() - self._turned_away_at > 60:  # once a minute, not for each of a flood of connections
            self._turned_away_at = time.monotonic()
            logger.warning("%d connections open at once: turning new ones away until one closes", self.max_connections)
        try:
            request.settimeout(1.0)
            request.sendall(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                b"Retry-After: 1\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY), _BUSY)
            )
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that closed its connection is not an error; anything else is logged, and serving goes on."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            logger.exception("serving %s failed", client_address)

    def _watch(self) -> None:
        """Re-render on every save, until closed; a failing watch is logged and started again."""
        default = watchfiles.DefaultFilter()

        def relevant(change: watchfiles.Change, path: str) -> bool:
            # Sources, and directories (a templates/ made while the preview runs); not the subscriber database.
            return default(change, path) and Path(path).suffix in ("", ".yaml", ".yml", ".toml", ".mjml", ".txt", ".po")

        watched = self.workspace.watched()
        added: list[Path] = []
        while not self._stop.is_set():
            try:
                for changes in watchfiles.watch(
                    *watched,
                    watch_filter=relevant,
                    debounce=self.debounce_ms,
                    step=self.step_ms,
                    stop_event=self._stop,
                    rust_timeout=WATCH_TIMEOUT_MS,
                    yield_on_timeout=True,
                    recursive=False,
                    raise_interrupt=False,
                ):
                    # Anything yielded (a change, or the empty set of a quiet while) comes once the watch is set up.
                    if added:
                        # A directory that came while the watch restarted: what was saved in it before now counts
                        # as changed, and anything saved from now on is seen by the watch. (Counting it before the
                        # watch was set up lost a save made in between.)
                        self.saved(sorted(added))
                        added = []
                    if not changes:
                        self.watching.set()
                        continue
                    self.saved([Path(path) for _, path in changes])
                    if self.workspace.watched() != watched:
                        break  # a directory to watch came or went (templates/, a folder of partials)
            except Exception:
                logger.exception("watching for changes failed; watching again in a second")
                self._stop.wait(1.0)
            added = sorted({*added, *(set(self.workspace.watched()) - set(watched))})
            watched = self.workspace.watched()

    def saved(self, paths: list[Path]) -> Change:
        """Files were saved: forget what they make stale and tell the pages which views to reload."""
        change = self.workspace.changed(paths)
        if change:
            self.events.publish({"ids": sorted(change.ids), "shared": change.shared, "listing": change.listing})
            names = "every newsletter" if change.shared else ", ".join(sorted(change.ids)) or "the list"
            logger.info("changed: %s; reloading %s", ", ".join(p.name for p in paths), names)
        return change


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the body's last packet waited for the
    # browser's delayed ACK of the headers, 40 ms on Linux, on every response.
    disable_nagle_algorithm = True
    _reader: DeadlineReader
    _set_cookie = False  # this response lets the browser in: it carries the cookie
    _length = 0  # the request's body, in bytes
    _body_read = False

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.write_seconds)
        buffered = self.rfile
        self._reader = DeadlineReader(self.connection, self.server.write_seconds)
        self.rfile = io.BufferedReader(self._reader)
        buffered.close()  # else the socket stays open after the connection is done with

    def handle_one_request(self) -> None:
        # http.server turns the TimeoutError into closing the connection.
        self._reader.deadline = time.monotonic() + self.server.request_seconds
        self._set_cookie = False
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug((format % args).replace(self.server.access.token, "…"))

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            lengths = self.headers.get_all("Content-Length", [])
            self._length = body_length(lengths, self.headers.get("Transfer-Encoding"))
        except Refused as e:
            self.close_connection = True  # what follows the headers can't be told from the next request
            self._json({"error": str(e)}, e.status)
            return
        self._body_read = False
        try:
            self._answer(method)
        finally:
            if self._length and not self._body_read and not self.close_connection:
                # A body the answer didn't need (a refused request's, say): read past it to the next request.
                self._read_body()

    def _read_body(self) -> bytes | None:
        """The request's body; None (and the connection closed) if it doesn't arrive in time."""
        self._body_read = True
        try:
            return self.rfile.read(self._length)
        except (TimeoutError, OSError):
            self.close_connection = True
            return None

    def _answer(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        allowed = self.server.allowed_hosts
        if allowed is not None and self.headers.get("Host") not in allowed:
            self._send(HTTPStatus.FORBIDDEN, "text/plain", b"unknown Host")
            return
        if not self._let_in(method, url.path, query):
            return
        workspace = self.server.workspace
        try:
            if method == "POST" and url.path == "/api/send-test":
                self._send_test()
            elif method != "GET":
                self._json({"error": f"{method} {url.path}: not allowed"}, HTTPStatus.METHOD_NOT_ALLOWED)
            elif url.path == "/":
                self._static("index.html")
            elif url.path.startswith("/static/"):
                self._static(url.path.removeprefix("/static/"))
            elif url.path == "/events":
                self._event_stream()
            elif url.path == "/email":
                self._email(query)
            elif url.path == "/api/newsletters":
                self._json({"newsletters": workspace.listing(), "number": self.server.events.number})
            elif url.path == "/api/view":
                self._json(workspace.view(query.get("id", ""), query.get("variant"), query.get("member")))
            elif url.path == "/api/check":
                self._json({"problems": workspace.check(query.get("id", ""))})
            elif url.path == "/api/sheet":
                self._json(workspace.sheet(query.get("id", "")))
            else:
                self._json({"error": f"{url.path}: no such page"}, HTTPStatus.NOT_FOUND)
        except InvalidInput as e:
            # The newsletter (or a template, the settings, the officials) has mistakes: the page shows them.
            self._json({"problems": [problem_json(p) for p in e.problems]}, HTTPStatus.UNPROCESSABLE_ENTITY)
        except NotFound as e:
            self._json({"error": str(e)}, HTTPStatus.NOT_FOUND)
        except ActionmailError as e:
            self._json({"error": str(e)}, HTTPStatus.BAD_REQUEST)
        except ConnectionError:
            self.close_connection = True  # the browser went away
        except Exception:
            # A bug of ours, not the organizer's: logged with its traceback for the terminal, never sent to a
            # browser (it would show the preview's insides to whoever asked); serving goes on.
            logger.exception("%s %s failed", method, url.path)
            message = "internal error in actionmail (the terminal running the preview shows it): please report it"
            self._json({"error": message}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def _let_in(self, method: str, path: str, query: dict[str, str]) -> bool:
        """Does the request carry the secret, in its address or in the cookie? If not, it is answered here."""
        access = self.server.access
        if "token" in query and access.matches(query["token"]):
            # Served at once, with the cookie: not redirected to the address without the secret, since a redirect
            # of a navigation another page started (the file the command opens) would not carry a SameSite=Strict
            # cookie. The page's script takes the secret out of the address bar.
            self._set_cookie = True
            return True
        if access.matches(access.from_cookies(self.headers.get("Cookie"))):
            return True
        if path.startswith("/api/") or path == "/events":
            self._json({"error": FORBIDDEN_MESSAGE}, HTTPStatus.FORBIDDEN)
        else:
            self._send(HTTPStatus.FORBIDDEN, "text/html; charset=utf-8", FORBIDDEN_PAGE.encode())
        return False

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self._common_headers()
        self.end_headers()
        self.wfile.write(body)

    def _common_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        if self._set_cookie:
            self.send_header("Set-Cookie", self.server.access.cookie())

    def _json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, "application/json", json.dumps(data).encode())

    def _static(self, name: str) -> None:
        root = STATIC.resolve()
        resource = (root / name).resolve()  # a link that leads out of static/ is not one of the page's files
        if "/" in name or name.startswith(".") or not resource.is_relative_to(root) or not resource.is_file():
            self._json({"error": f"/static/{name}: no such file"}, HTTPStatus.NOT_FOUND)
            return
        self._send(HTTPStatus.OK, _TYPES.get(Path(name).suffix, "application/octet-stream"), resource.read_bytes())

    def _email(self, query: dict[str, str]) -> None:
        entry_id = query.get("id", "")
        try:
            page = self.server.workspace.email_html(entry_id, query.get("variant"), query.get("member"))
        except InvalidInput as e:
            items = "".join(f"<li>{html.escape(str(p))}</li>" for p in e.problems)
            page = f"<!doctype html><title>Problems</title><body><h1>Problems</h1><ul>{items}</ul></body>"
            status = HTTPStatus.UNPROCESSABLE_ENTITY
        else:
            status = HTTPStatus.OK
        if query.get("dark") == "1":
            page = emulate_dark(page)
        if query.get("frame") != "1":  # framed, the preview page reloads it; alone in a tab, it reloads itself
            page = inject_live_reload(page, entry_id)
        self._send(status, "text/html; charset=utf-8", page.encode())

    def _send_test(self) -> None:
        # A JSON body from our own page only: another site's form can't send JSON without a CORS preflight,
        # which this server never grants, so it can't make the preview send mail.
        origin = self.headers.get("Origin")
        if self.headers.get_content_type() != "application/json" or (
            origin is not None and self.server.allowed_hosts is not None and urlsplit(origin).netloc not in
            self.server.allowed_hosts
        ):  # fmt: skip
            self._json({"error": "send-test takes JSON from the preview page"}, HTTPStatus.FORBIDDEN)
            return
        data = self._read_body()
        if data is None:
            return  # the body never came: nobody is waiting for an answer
        try:
            body = json.loads(data or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise UsageError('send-test takes a JSON object: {"id": …, "variant": …, "member": …, "to": …}')
        message = self.server.workspace.send_test(
            str(body.get("id", "")), body.get("variant"), body.get("member"), str(body.get("to", ""))
        )
        self._json({"message": message})

    def _event_stream(self) -> None:
        events = self.server.events
        last_id = self.headers.get("Last-Event-ID", "")
        last = int(last_id) if last_id.isdigit() else events.number
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self._common_headers()
        self.end_headers()
        self.close_connection = True
        self.wfile.write(b"retry: 500\n: connected\n\n")
        self.wfile.flush()
        while not events.closed:
            notices = events.after(last, KEEPALIVE_SECONDS)
            chunk = "".join(f"id: {n}\nevent: change\ndata: {json.dumps(m)}\n\n" for n, m in notices) or ": alive\n\n"
            self.wfile.write(chunk.encode())
            self.wfile.flush()
            if notices:
                last = notices[-1][0]
