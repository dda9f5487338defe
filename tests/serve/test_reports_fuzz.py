"""Fuzz: report links of every shape, sent to the real `actionmail serve` — a member's genuine link, its parts
altered, swapped and percent-encoded, any text in their place, any method, body and headers. Never a 500 (nor a
traceback); only the member whose genuine token is used may ever be counted, and only for what the newsletter
asks; and the server goes on answering.

A bounded run in the suite (``SERVE_FUZZ_EXAMPLES``, default 150), like test_serve_fuzz.py.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests import sql
from tests.serve.conftest import Served
from tests.serve.fuzzing import (
    EXAMPLES,
    Request,
    against_the_server,
    answered_safely,
    bodies,
    header_text,
    still_answering,
)
from tests.serve.reporting import ANA, links_of, reporting

__all__ = ["reporting"]


def _part(valid: str, others: list[str]) -> st.SearchStrategy[str]:
    """Mostly the genuine part (so that whole genuine links, and links one part off, come up often), else not."""
    return st.sampled_from([True, True, True, False]).flatmap(
        lambda keep: st.just(valid) if keep else _other(valid, others)
    )


def _other(valid: str, others: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(others),
        st.builds(lambda cut: valid[:cut], st.integers(0, len(valid))),
        st.builds(lambda extra: valid + extra, st.text(max_size=10)),
        st.text(max_size=30),
        st.text(alphabet="0123456789.-_ABCxyz/%", max_size=30),
        st.sampled_from(["..", ".", "%2e%2e", "..%2F..%2Factionmail", "%00", "\u202e", "a" * 300]),
    )


@st.composite
def report_requests(draw: st.DrawFn, link: str) -> Request:
    token, issue, question, answer = link.split("/act/")[1].split("/")
    parts = [
        draw(_part(token, ["1.abc", token.replace(".", "")])),
        draw(_part(issue, ["2019-08-01-ring", issue.upper(), f"{issue}.yaml"])),
        draw(_part(question, ["2", "bonus-1", "bonus-2", "0", "-1"])),
        draw(_part(answer, ["yes", "maybe", "no", "done", "DONE"])),
    ]
    cut = draw(st.sampled_from([4, 4, 4, 1, 2, 3, 5]))  # too few or too many parts, now and then
    path = "/act/" + "/".join(urllib.parse.quote(p, safe=draw(st.sampled_from(["", "/.%"]))) for p in parts[:cut])
    method = draw(st.sampled_from(["GET", "HEAD", "POST", "POST", "POST", "PUT", "DELETE"]))
    form = (b"action=report", "application/x-www-form-urlencoded")  # the page's button, mostly
    body, kind = draw(st.sampled_from([True, True, False]).flatmap(lambda ok: st.just(form) if ok else bodies()))
    headers = {"Content-Type": kind} if kind is not None else {}
    names = st.sampled_from(["Origin", "Sec-Fetch-Site", "Host", "X-Junk"])
    headers.update(draw(st.dictionaries(names, header_text, max_size=draw(st.sampled_from([0, 0, 1, 2])))))
    return Request(method, path, body, headers)


def test_no_report_link_gets_a_500_or_counts_anyone_else(reporting: tuple[Served, Path]) -> None:
    served, issue = reporting
    links = links_of(served, issue, ANA)
    seen: dict[int, int] = {}

    @against_the_server()
    @given(st.sampled_from(links).flatmap(report_requests))
    def one(request: Request) -> None:
        answered_safely(served, request, seen)

    one()
    db = sql.connect(served.project / "actionmail.db")
    counted = db.execute(
        "SELECT s.email, r.question, r.answer FROM reports r LEFT JOIN subscribers s ON s.id = r.subscriber_id"
    ).fetchall()
    db.close()
    asked = {("1", "done"), ("bonus-1", "yes"), ("bonus-1", "maybe"), ("bonus-1", "no")}
    assert all(email == ANA and (question, answer) in asked for email, question, answer in counted), counted
    still_answering(served)
    print(f"statuses over {EXAMPLES} requests: {dict(sorted(seen.items()))}; counted: {counted}")
