"""Fuzz: requests of every shape, sent to the real `actionmail serve` over a raw HTTP connection — methods, paths
under and beside the unsubscribe path (a member's valid token, altered ones, any text), bodies (one-click, the
page's forms, multipart with broken boundaries, any bytes) and headers. Never a 500 (nor a traceback, nor a hang);
only the one member whose valid token is used may ever change; and the server goes on answering.

A bounded run in the suite (``SERVE_FUZZ_EXAMPLES``, default 150); a large one on demand, e.g.
``SERVE_FUZZ_EXAMPLES=5000 pytest tests/serve/test_serve_fuzz.py`` (docs/serve.md has a run's result). The
requests and the checks of each answer are tests/serve/fuzzing.py's.
"""

from __future__ import annotations

import urllib.parse

from hypothesis import given
from hypothesis import strategies as st

from tests.serve.conftest import MEMBERS, Served, status, token_for
from tests.serve.fuzzing import (
    EXAMPLES,
    Request,
    against_the_server,
    answered_safely,
    bodies,
    header_text,
    still_answering,
)


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
    body, kind = draw(bodies())
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


def test_no_request_gets_a_500_or_changes_anyone_else(served: Served) -> None:
    valid = token_for(served.project, MEMBERS[0])
    seen: dict[int, int] = {}

    @against_the_server()
    @given(requests_(valid))
    def one(request: Request) -> None:
        answered_safely(served, request, seen)

    one()
    assert [status(served, email) for email in MEMBERS[1:]] == ["active", "active"]
    still_answering(served)
    print(f"statuses over {EXAMPLES} requests: {dict(sorted(seen.items()))}")
