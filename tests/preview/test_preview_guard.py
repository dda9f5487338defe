"""What keeps the preview to its organizer, over real sockets: the secret in the address the command prints, strict
request framing, a deadline for a request to arrive, a cap on connections, no traceback to a browser, and no
file served from outside the page's own.

The secret in Chromium (the cookie the page's scripts, frames and event stream carry): test_preview_browser.py.
"""

from __future__ import annotations

import http.client
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from actionmail.cli.preview import HOOKS
from actionmail.preview import Hooks, PreviewServer, Workspace
from actionmail.preview.server import STATIC
from tests.preview.conftest import SEED_ID, base, eventually, get, opening

# --- the secret ---------------------------------------------------------------------------------------------------


def test_without_the_secret_nothing_is_shown_and_nothing_sent(server: PreviewServer) -> None:
    """Any local user could otherwise read members' data and live unsubscribe links, and relay mail."""
    for path in ("/api/newsletters", f"/api/view?id={SEED_ID}&member=ana@example.org", "/events", "/api/check"):
        answer = requests.get(base(server) + path, timeout=5)
        assert answer.status_code == 403, path
        assert "?token=" in answer.json()["error"]
    for path in ("/", f"/email?id={SEED_ID}", "/static/preview.js"):
        answer = requests.get(base(server) + path, timeout=5)
        assert answer.status_code == 403, path
        assert "Open the address the preview printed" in answer.text and "No police" not in answer.text
    sent = requests.post(base(server) + "/api/send-test", json={"id": SEED_ID, "to": "x@example.org"}, timeout=5)
    assert sent.status_code == 403
    wrong = "x" * len(server.access.token)
    assert requests.get(f"{base(server)}/?token={wrong}", timeout=5).status_code == 403
    assert requests.get(base(server) + "/", cookies={server.access.cookie_name: wrong}, timeout=5).status_code == 403
    other_port = {f"actionmail-preview-{server.port + 1}": server.access.token}  # another preview's name
    assert requests.get(base(server) + "/", cookies=other_port, timeout=5).status_code == 403


def test_the_address_printed_lets_a_browser_in_with_a_cookie(server: PreviewServer) -> None:
    assert server.url == f"http://localhost:{server.port}/?token={server.access.token}"
    opened = requests.get(opening(server), allow_redirects=False, timeout=5)
    assert opened.status_code == 200 and "<title>actionmail preview</title>" in opened.text
    cookie = opened.headers["Set-Cookie"]
    assert cookie.startswith(f"{server.access.cookie_name}={server.access.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    with requests.Session() as browser:
        assert "<title>actionmail preview</title>" in browser.get(opening(server), timeout=5).text
        assert browser.get(base(server) + "/api/newsletters", timeout=5).status_code == 200
    # A script may put the secret in the address of any request instead.
    assert requests.get(f"{base(server)}/api/newsletters?token={server.access.token}", timeout=5).status_code == 200


# --- what a request may send, and how slowly ----------------------------------------------------------------------


def exchange(server: PreviewServer, head: str, body: bytes = b"", wait: float = 5.0) -> bytes:
    """Send a request as raw bytes (with the Host and the cookie a browser would send); what the server answers
    before it closes the connection. Fails if it neither answers nor closes within ``wait`` seconds."""
    cookie = f"{server.access.cookie_name}={server.access.token}"
    request = f"{head}\r\nHost: 127.0.0.1:{server.port}\r\nCookie: {cookie}\r\n\r\n".encode() + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as connection:
        connection.sendall(request)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except TimeoutError:
            pytest.fail(f"no answer within {wait} s; so far {answer[:200]!r}")
        except ConnectionResetError:
            pass
        return answer


@pytest.mark.parametrize(
    ("length", "status"),
    [("-1", 400), ("abc", 400), ("1e3", 400), ("+2", 400), ("2, 2", 400), ("300000000", 413)],
)
def test_a_body_is_read_only_when_its_length_is_a_number_within_the_limit(
    server: PreviewServer, length: str, status: int
) -> None:
    head = f"POST /api/send-test HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {length}"
    answer = exchange(server, head, b"{}")
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:300]
    assert b"Traceback" not in answer and b'File "' not in answer
    assert get(server, "/api/newsletters").status_code == 200


def test_a_chunked_body_is_refused_not_read_as_the_next_request(server: PreviewServer) -> None:
    head = "POST /api/send-test HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
    answer = exchange(server, head, b"2\r\n{}\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 501 "), answer[:300]
    assert answer.count(b"HTTP/1.1") == 1


def test_a_refused_body_is_not_read_as_the_next_request(server: PreviewServer) -> None:
    """A form post refused without reading it, then the page's next request on the same connection."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    cookie = {"Cookie": f"{server.access.cookie_name}={server.access.token}"}
    try:
        form = {"Content-Type": "application/x-www-form-urlencoded", **cookie}
        connection.request("POST", "/api/send-test", body=b"to=x%40example.org&id=GET%20/", headers=form)
        refused = connection.getresponse()
        assert refused.status == 403
        refused.read()
        connection.request("GET", "/api/newsletters", headers=cookie)
        after = connection.getresponse()
        assert after.status == 200 and SEED_ID in after.read().decode()
    finally:
        connection.close()


def closed_by_server(connection: socket.socket, trickle: bytes, seconds: float) -> bool:
    """Send ``trickle`` four times a second for up to ``seconds``: did the server close the connection?"""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if trickle:
                connection.sendall(trickle)
            if select.select([connection], [], [], 0.25)[0] and connection.recv(65536) == b"":
                return True
        except (BrokenPipeError, ConnectionResetError):
            return True
    return False


def test_a_request_that_trickles_in_is_cut_off(server: PreviewServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slowloris: a header line every quarter second would keep a connection (and its thread) forever."""
    monkeypatch.setattr(PreviewServer, "request_seconds", 1.0, raising=False)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(f"GET /api/newsletters HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode())
        assert closed_by_server(connection, b"X-Slow: 1\r\n", 8.0)
    assert get(server, "/api/newsletters").status_code == 200


@pytest.fixture
def small_server(newsletters: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PreviewServer]:
    monkeypatch.setattr(PreviewServer, "max_connections", 8, raising=False)
    monkeypatch.setattr(PreviewServer, "request_seconds", 2.0, raising=False)
    preview = PreviewServer(Workspace([Path("newsletters")], HOOKS), "127.0.0.1", 0)
    preview.start()
    yield preview
    preview.close()


def test_idle_connections_get_only_so_many_threads_and_not_for_long(small_server: PreviewServer) -> None:
    server = small_server
    threads = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(100)]
    try:

        def answered() -> list[socket.socket]:
            return select.select(idle, [], [], 0.1)[0]

        turned_away = eventually(lambda: len(answered()) >= 92, timeout=5)
        assert turned_away, f"{len(answered())} of 100 connections answered"
        assert threading.active_count() - threads <= 8  # a thread for each connection served, no more
        busy = next(c for c in answered()).recv(4096)
        assert busy.startswith(b"HTTP/1.1 503 ") and b"too many connections" in busy
        # The ones served said nothing for the 2 s a request may take to arrive: closed, and their threads done.
        assert eventually(lambda: len(answered()) == 100, timeout=8)
        assert eventually(lambda: threading.active_count() <= threads, timeout=5)
        assert get(server, "/api/newsletters").status_code == 200
    finally:
        for connection in idle:
            connection.close()


# --- what is never sent -------------------------------------------------------------------------------------------


def test_a_bug_is_logged_not_shown_to_the_browser(newsletters: Path, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any) -> dict[str, str]:
        raise RuntimeError("the preview's insides")

    preview = PreviewServer(Workspace([Path("newsletters")], Hooks(headers=broken)), "127.0.0.1", 0)
    preview.start()
    try:
        with caplog.at_level(logging.ERROR, logger="actionmail.preview"):
            answer = get(preview, "/api/view", id=SEED_ID)
        assert answer.status_code == 500
        assert "internal error" in answer.json()["error"]
        assert "Traceback" not in answer.text and "insides" not in answer.text and 'File "' not in answer.text
        (record,) = [r for r in caplog.records if r.exc_info]
        assert "insides" in str(record.exc_info[1]) and preview.access.token not in record.getMessage()
        assert get(preview, "/api/newsletters").status_code == 200
    finally:
        preview.close()


def test_a_link_out_of_the_pages_own_files_is_not_served(server: PreviewServer, tmp_path: Path) -> None:
    private = tmp_path / "private.css"
    private.write_text("the organizer's private file", encoding="utf-8")
    link = STATIC / f"test-link-{os.getpid()}.css"
    link.symlink_to(private)
    try:
        answer = get(server, f"/static/{link.name}")
        assert answer.status_code == 404 and "private" not in answer.text
    finally:
        link.unlink()
    assert get(server, "/static/preview.css").status_code == 200
