"""Hypothesis against the real `actionmail serve`: requests of any shape sent over a raw HTTP connection, and the
checks every fuzz test of the service makes of each answer and of the server after — never a 500, nor a
traceback, and the server goes on answering.

Shared by test_serve_fuzz.py (the unsubscribe links), test_reports_fuzz.py (report links) and test_signup.py (the
sign-up form and its links).
"""

from __future__ import annotations

import http.client
import os
import urllib.parse
from dataclasses import dataclass

import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.serve.conftest import Served

# The examples of a bounded run in the suite; a large one on demand, e.g.
# ``SERVE_FUZZ_EXAMPLES=5000 pytest tests/serve/test_serve_fuzz.py`` (docs/serve.md has a run's result).
EXAMPLES = int(os.environ.get("SERVE_FUZZ_EXAMPLES", "150"))


def against_the_server(examples: int = EXAMPLES) -> settings:
    """Hypothesis's settings for requests to a running server: no deadline (a request takes the server's time), no
    health checks (the strategies draw much to make one request), and the same examples on every run."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@dataclass
class Request:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


def bodies() -> st.SearchStrategy[tuple[bytes, str | None]]:
    """A body and its Content-Type (None: no header): forms of the pages' fields, multipart with broken
    boundaries, any bytes, and one-click's own."""
    form_values = st.sampled_from(["One-Click", "one-click", "", "Two", "unsubscribe", "undo", "x" * 600])
    form_names = st.sampled_from(["List-Unsubscribe", "action", "reason", "list-unsubscribe", "", "a[b]"])
    form = st.lists(st.tuples(form_names, form_values), max_size=6).map(
        lambda pairs: urllib.parse.urlencode(pairs).encode()
    )
    boundary = st.text(alphabet="abc-123", min_size=0, max_size=12)
    multipart = st.builds(
        lambda b, name, value, tail: (
            f'--{b}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n--{b}{tail}'.encode(),
            f"multipart/form-data; boundary={b}",
        ),
        boundary,
        form_names,
        form_values,
        st.sampled_from(["--\r\n", "", "\r\n", "--"]),
    )
    kinds = st.sampled_from(
        [None, "application/x-www-form-urlencoded", "multipart/form-data", "text/plain", "application/json", "x/y; a"]
    )
    return st.one_of(
        st.tuples(form, kinds),
        multipart,
        st.tuples(st.binary(max_size=300), kinds),
        st.just((b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded")),
    )


header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40)


def send(served: Served, request: Request) -> tuple[int, str]:
    host, port = served.base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        connection.request(request.method, request.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def answered_safely(served: Served, request: Request, seen: dict[int, int]) -> None:
    """Send ``request`` (its status counted in ``seen``): never a 500, and nothing of a traceback in the answer."""
    code, text = send(served, request)
    seen[code] = seen.get(code, 0) + 1
    assert code < 500, (request, code, text[:300])
    assert "Traceback" not in text and 'File "' not in text


def still_answering(served: Served) -> None:
    """After the fuzzing: the server answers, and has logged no traceback."""
    assert requests.get(served.base + "/healthz", timeout=10).status_code == 200
    assert "Traceback" not in served.log
