"""The contract every provider's pull passes against its fake server: one suite, each provider its own records.

A provider's :class:`Harness` knows its fake (what records it serves and how to fill it), how to make the provider
pointed at it, and which module constants are its page sizes (made small here, so that a few records take many
pages). The checks compare what :meth:`Provider.pull` returns with exactly what the fake holds.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actionmail.feedback.events import Kind
from actionmail.providers.base import Provider, ProviderError, Pull
from actionmail.providers.pull import Retry
from tests.fakes.server import FakeProvider, Fault

QUICK = Retry(attempts=4, backoff=0.001, max_wait=2.0)
NOW = dt.datetime.now(dt.UTC)
SINCE = NOW - dt.timedelta(days=2)

Expected = collections.Counter[tuple[Kind, str]]


@dataclasses.dataclass
class Harness:
    """One provider's side of the contract."""

    name: str
    fake: FakeProvider
    make: Callable[..., Provider]  # make(api_key=None) -> the provider, pointed at the fake, retrying QUICK-ly
    # seed(count) fills the fake with ``count`` records of each list and event stream it serves (some of them
    # before SINCE where the API filters by time, which must not come back) and returns what pull(SINCE) must give
    seed: Callable[[int], Expected]
    secret: str
    # A page body the provider's API could answer with, holding ``records`` as its list (for hostile records).
    page: Callable[[list[Any]], Any]
    loop: Callable[[], None] | None = None  # make the fake's paging go round in circles (token-paged APIs)


def everything(provider: Provider, since: dt.datetime | None = SINCE, pages: int = 1000) -> tuple[list[Pull], str]:
    """Pull until complete; the pulls and the last cursor."""
    pulls, cursor = [], None
    for _ in range(1000):
        pulled = provider.pull(since, cursor, pages=pages)
        pulls.append(pulled)
        cursor = pulled.cursor
        if pulled.complete:
            return pulls, cursor
    raise AssertionError("never complete")


def got(pulls: list[Pull]) -> Expected:
    return collections.Counter((e.kind, e.recipient or "") for p in pulls for e in p.events)


def check_reads_everything_across_pages(h: Harness) -> None:
    expected = h.seed(7)
    pulls, _ = everything(h.make())
    assert got(pulls) == expected
    keys = [e.dedupe_key for p in pulls for e in p.events]
    assert len(keys) == len(set(keys)), "a record came twice"
    assert all(e.provider == h.name for p in pulls for e in p.events)
    assert sum(1 for r in h.fake.requests if r.method == "GET") > 3  # several pages: small page sizes


def check_resumes_from_a_cursor_without_repeats_or_gaps(h: Harness) -> None:
    expected = h.seed(5)
    provider = h.make()
    pulls, _ = everything(provider, pages=1)  # one page a call: the cursor carries everything else
    assert len(pulls) > 3
    assert all(not p.complete for p in pulls[:-1]) and pulls[-1].complete
    assert got(pulls) == expected
    # The same through a new provider object for each call, as a sync run tomorrow would be.
    cursor, again = None, []
    for _ in range(1000):
        pulled = h.make().pull(SINCE, cursor, pages=2)
        again.append(pulled)
        cursor = pulled.cursor
        if pulled.complete:
            break
    assert got(again) == expected


def check_retries_through_faults(h: Harness) -> None:
    expected = h.seed(4)
    h.fake.fail(
        Fault(status=429, headers={"Retry-After": "0"}, body={"message": "slow down"}),
        Fault(status=503, body=""),
        Fault(drop=True),
    )
    pulls, _ = everything(h.make())
    assert got(pulls) == expected


def check_a_lasting_failure_raises_and_the_cursor_goes_on(h: Harness) -> None:
    expected = h.seed(4)
    provider = h.make()
    first = provider.pull(SINCE, None, pages=1)
    h.fake.fail(*[Fault(status=500, body="") for _ in range(QUICK.attempts)])
    with pytest.raises(ProviderError) as failed:
        provider.pull(None, first.cursor, pages=1)
    assert failed.value.transient and failed.value.status == 500
    pulls, _ = everything_from(provider, first.cursor)
    assert got([first, *pulls]) == expected


def everything_from(provider: Provider, cursor: str) -> tuple[list[Pull], str]:
    pulls = []
    for _ in range(1000):
        pulled = provider.pull(None, cursor, pages=1000)
        pulls.append(pulled)
        cursor = pulled.cursor
        if pulled.complete:
            return pulls, cursor
    raise AssertionError("never complete")


def check_bad_credentials(h: Harness) -> None:
    h.seed(1)
    with pytest.raises(ProviderError) as refused:
        h.make(api_key="wrong-key-value").pull(SINCE)
    assert refused.value.status in (401, 403) and not refused.value.transient
    assert "wrong-key-value" not in str(refused.value) and h.secret not in str(refused.value)


def check_a_paging_circle_stops(h: Harness) -> None:
    assert h.loop is not None
    h.seed(6)
    h.loop()
    with pytest.raises(ProviderError) as looped:
        everything(h.make())
    assert "circle" in str(looped.value) or "same page" in str(looped.value)
    assert not looped.value.transient


def check_the_same_page_again_stops(h: Harness) -> None:
    """An API that ignores the page asked for and answers the first page again, for ever."""
    h.seed(6)
    first = h.make().pull(SINCE, None, pages=1)
    body = h.page([{"junk": 1}, {"junk": 2}, {"junk": 3}])  # a full page (harnesses page by 3)
    h.fake.chaos = lambda: Fault(status=200, body=body)
    with pytest.raises(ProviderError) as looped:
        everything_from(h.make(), first.cursor)
    assert "circle" in str(looped.value) or "same page" in str(looped.value)


HOSTILE: list[Any] = [
    None,
    17,
    "text",
    [],
    {},
    {"email": None, "address": 5, "EmailAddress": [], "Email": {}, "recipient": True},
    {"email": "x" * 100_000, "address": "y" * 100_000, "EmailAddress": "z" * 100_000},
    {"event": ["failed"], "timestamp": "soon", "created_at": 1e308, "CreatedAt": {}, "created": "x"},
    {"reason": {"code": ["hardBounce"]}, "Reason": 5, "SuppressionReason": None, "origin": 3, "Type": []},
]


def check_hostile_records_are_skipped(h: Harness) -> None:
    """Records of the wrong shape or size on a page: read as events where they name someone, else skipped and
    said so; never an exception other than ProviderError, and every field of every event bounded."""
    h.seed(2)
    body = h.page(HOSTILE)
    h.fake.chaos = lambda: Fault(status=200, body=body)
    try:
        pulled = h.make().pull(SINCE, None, pages=5)
    except ProviderError as e:  # the page again and again (a loop), or a page botocore would not read (SES)
        assert not e.transient and ("same page" in str(e) or "circle" in str(e) or "not SES's" in str(e))
        return
    for event in pulled.events:
        assert len(event.recipient or "") <= 320 and len(event.dedupe_key) <= 250
        assert len(event.reason or "") <= 200
    assert pulled.skipped


def check_page_bodies_that_are_not_pages(h: Harness, body: Any) -> None:
    """Whatever JSON comes back as a page: a Pull or a ProviderError, never anything else."""
    h.fake.chaos = lambda: Fault(status=200, body=json.dumps(body).encode())
    with contextlib.suppress(ProviderError):
        h.make().pull(SINCE, None, pages=3)


def check_a_cursor_that_is_not_one(h: Harness) -> None:
    provider = h.make()
    good = provider.pull(SINCE, None, pages=1).cursor
    data = json.loads(good)
    for bad in (
        "",
        "not json",
        "[]",
        json.dumps({**data, "v": 2}),
        json.dumps({**data, "provider": "other"}),
        json.dumps({**data, "stage": -1}),
        json.dumps({**data, "stage": 99}),
        json.dumps({**data, "since": "yesterday"}),
        json.dumps({**data, "token": ["x"]}),
        json.dumps({**data, "seen": "x"}),
        "x" * 100_000,
    ):
        with pytest.raises(ProviderError) as refused:
            provider.pull(None, bad)
        assert "sync position" in str(refused.value) and "--since" in str(refused.value)


def check_the_next_pass_starts_before_the_last_ended(h: Harness) -> None:
    """A complete pull's cursor starts the next pass at the end of this one less the provider's event delay."""
    h.seed(2)
    provider = h.make()
    _, cursor = everything(provider)
    state = json.loads(cursor)
    since = dt.datetime.fromisoformat(state["since"])
    assert state["stage"] == 0 and state["token"] is None and state["until"] is None
    assert dt.datetime.now(dt.UTC) - provider.event_delay - dt.timedelta(minutes=1) < since
    assert since <= dt.datetime.now(dt.UTC) - provider.event_delay


@contextlib.contextmanager
def small_pages(monkeypatch: pytest.MonkeyPatch, module: object, names: dict[str, int]) -> Iterator[None]:
    for name, value in names.items():
        monkeypatch.setattr(module, name, value)
    yield
