"""Fuzz: requests of every shape, sent to the real `actionmail serve` over a raw HTTP connection — methods, paths
under and beside the unsubscribe path (a member's valid token, altered ones, any text), bodies (one-click, the
page's forms, multipart with broken boundaries, any bytes) and headers. Never a 500 (nor a traceback, nor a hang);
only the one member whose valid token is used may ever change; and the server goes on answering.

A bounded run in the suite (``SERVE_FUZZ_EXAMPLES``, default 150); a large one on demand, e.g.
``SERVE_FUZZ_EXAMPLES=5000 pytest tests/serve/test_serve_fuzz.py`` (docs/serve.md has a run's result).
"""

from __future__ import annotations

import http.client
import os
import urllib.parse
from dataclasses import dataclass

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serve.conftest import MEMBERS, Served, status, token_for

EXAMPLES = int(os.environ.get("SERVE_FUZZ_EXAMPLES", "150"))


@dataclass
class Request:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


def _token_text(valid: str) -> st.SearchStrategy[str]:
    mac = valid.split(".")[1]
    return st.one_of(
        st.just(valid),
        st.builds(lambda i, m: f"{i}.{m}", st.integers(-5, 10**20), st.just(mac)),
        st.builds(lambda cut: valid[:cut], st.integers(0, len(valid))),
        st.builds(lambda extra: valid + extra, st.text(max_size=20)),
        st.text(max_size=80),
        st.text(alphabet="0123456789.-_ABCxyz/%", max_size=60),
    )


def _bodies() -> st.SearchStrategy[tuple[bytes, str | None]]:
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


@st.composite
def requests_(draw: st.DrawFn, valid: str) -> Request:
    method = draw(st.sampled_from(["GET", "HEAD", "POST", "POST", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]))
    where = draw(st.sampled_from(["token", "token", "healthz", "anywhere"]))
    if where == "token":
        path = "/unsubscribe/" + urllib.parse.quote(draw(_token_text(valid)), safe="/.")
    elif where == "healthz":
        path = "/healthz" + draw(st.sampled_from(["", "/", "?x=1", "/../healthz"]))
    else:
        path = "/" + urllib.parse.quote(draw(st.text(max_size=60)), safe="/%?=&")
    body, kind = draw(_bodies())
    headers = {"Content-Type": kind} if kind is not None else {}
    headers.update(
        draw(
            st.dictionaries(
                st.sampled_from(["Origin", "Sec-Fetch-Site", "Host", "Cookie", "X-Forwarded-For", "Accept", "X-Junk"]),
                header_text,
                max_size=3,
            )
        )
    )
    return Request(method, path, body, headers)


def send(served: Served, request: Request) -> tuple[int, str]:
    host, port = served.base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        connection.request(request.method, request.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_no_request_gets_a_500_or_changes_anyone_else(served: Served) -> None:
    valid = token_for(served.project, MEMBERS[0])
    seen: dict[int, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(requests_(valid))
    def one(request: Request) -> None:
        code, text = send(served, request)
        seen[code] = seen.get(code, 0) + 1
        assert code < 500, (request, code, text[:300])
        assert "Traceback" not in text and 'File "' not in text

    one()
    assert [status(served, email) for email in MEMBERS[1:]] == ["active", "active"]
    assert requests.get(served.base + "/healthz", timeout=10).status_code == 200
    assert "Traceback" not in served.log
    print(f"statuses over {EXAMPLES} requests: {dict(sorted(seen.items()))}")
