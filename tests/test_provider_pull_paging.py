"""The paging every pull shares (providers/pull.py), against stages that behave as hostile APIs do; and every
provider's readers of pulled records (actionmail.feedback) over arbitrary JSON.

Large run of the fuzz tests (docs/feedback.md):

    ACTIONMAIL_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest -q tests/test_provider_pull_paging.py -k fuzz
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actionmail.config.providers import MailgunSettings
from actionmail.feedback import brevo, mailgun, postmark, resend, sendgrid, ses
from actionmail.feedback.events import FeedbackEvent, Kind
from actionmail.providers import http
from actionmail.providers import pull as paging
from actionmail.providers.base import ProviderError
from actionmail.providers.mailgun import Mailgun
from tests.fakes.mailgun import MailgunFake
from tests.pull_contract import QUICK, SINCE

EXAMPLES = int(os.environ.get("ACTIONMAIL_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def event(n: int) -> FeedbackEvent:
    return FeedbackEvent("test", Kind.HARD_BOUNCE, "bounce", f"r{n}@example.org", None, None, None, None, f"k{n}", None)


def pages_of(pages: list[paging.Page]) -> Callable[[str | None], paging.Page]:
    """A stage whose page ``token`` (None: 0) is ``pages[int(token)]``."""
    return lambda token: pages[int(token or 0)]


def run(stage: Callable[[str | None], paging.Page], pages: int = 100_000, cursor: str | None = None) -> Any:
    return paging.run("test", "all", lambda s, u: [paging.Stage("list", stage)], SINCE, cursor, pages,
                      dt.timedelta(minutes=30), QUICK)  # fmt: skip


def test_a_circle_longer_than_one_page_stops() -> None:
    ring = [paging.Page([event(i)], next=str((i + 1) % 5), size=1, digest=str(i)) for i in range(5)]
    with pytest.raises(ProviderError, match="circle"):
        run(pages_of(ring))


def test_a_circle_is_noticed_across_calls() -> None:
    """The cursor remembers the tokens seen, so a circle is noticed even one page a call."""
    ring = [paging.Page([event(i)], next=str((i + 1) % 3), size=1, digest=str(i)) for i in range(3)]
    cursor = None
    with pytest.raises(ProviderError, match="circle"):
        for _ in range(10):
            cursor = run(pages_of(ring), pages=1, cursor=cursor).cursor


def test_endless_empty_pages_stop() -> None:
    with pytest.raises(ProviderError, match="empty pages in a row"):
        run(lambda token: paging.Page(next=str(int(token or 0) + 1)))


def test_some_empty_pages_are_fine() -> None:
    """SES may answer an empty page with a NextToken; a few in a row are not a loop."""
    pages = [paging.Page(next=str(i + 1)) for i in range(10)] + [paging.Page([event(1)], size=1)]
    assert [e.recipient for e in run(pages_of(pages)).events] == ["r1@example.org"]


def test_a_paging_that_never_ends_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "MAX_PAGES", 50)
    counter = itertools.count()

    def endless(token: str | None) -> paging.Page:
        n = next(counter)
        return paging.Page([event(n)], next=str(n + 1), size=1, digest=str(n))

    with pytest.raises(ProviderError, match="more than 50 pages"):
        run(endless)


def test_a_page_larger_than_asked_stops() -> None:
    with pytest.raises(ProviderError, match="more than asked"):
        run(lambda token: paging.Page(size=paging.MAX_RECORDS + 1))


def test_a_next_token_too_long_stops() -> None:
    with pytest.raises(ProviderError, match="characters long"):
        run(lambda token: paging.Page([event(1)], next="x" * 5000, size=1))


def test_since_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        paging.run("test", "all", lambda s, u: [], dt.datetime(2019, 8, 1), None, 1, dt.timedelta(0))


def test_the_records_of_a_page() -> None:
    assert paging.records("test", "list", {"items": [1, 2]}, "items") == [1, 2]
    assert paging.records("test", "list", [1, 2], None) == [1, 2]
    assert paging.records("test", "list", {}, "items") == []  # "no items" written as a missing key
    assert paging.records("test", "list", {"items": None}, "items") == []
    for body, key in (([1, 2], "items"), ({"items": {"a": 1}}, "items"), ({"items": [1]}, None), ("text", None)):
        with pytest.raises(ProviderError, match=r"is not a list of records: check base_url$"):
            paging.records("test", "list", body, key)


# --- Mailgun's next links: only on its own host; pages of a bounded size --------------------------------------


@pytest.fixture
def mailgun_fake() -> Any:
    with MailgunFake(api_key="k") as fake:
        fake.lists["bounces"] = [{"address": f"b{i}@example.org", "code": "550"} for i in range(3)]
        yield fake


def make(fake: MailgunFake) -> Mailgun:
    provider = Mailgun(MailgunSettings(base_url=fake.url, domain=fake.domain), {"ACTIONMAIL_MAILGUN_API_KEY": "k"})
    provider.pull_retry = QUICK
    return provider


def test_a_next_link_on_another_host_is_not_followed(mailgun_fake: MailgunFake) -> None:
    """The API key goes with each page: a next link elsewhere would hand it over."""
    mailgun_fake.foreign_next = True
    with pytest.raises(ProviderError, match="another host") as refused:
        make(mailgun_fake).pull(SINCE)
    assert not refused.value.transient
    assert {r.path for r in mailgun_fake.requests} == {f"/v3/{mailgun_fake.domain}/bounces"}


def test_a_page_too_large_is_not_read(mailgun_fake: MailgunFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MAX_PAGE_BYTES", 100)
    with pytest.raises(ProviderError, match="over"):
        make(mailgun_fake).pull(SINCE)


# --- every provider's readers of pulled records, over arbitrary JSON --------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
FIELDS = [
    "address", "code", "error", "created_at", "tags", "email", "created", "reason", "status", "ID", "Type",
    "MessageID", "Email", "BouncedAt", "Details", "Metadata", "EmailAddress", "SuppressionReason", "CreatedAt",
    "Origin", "Recipients", "To", "Status", "ReceivedAt", "Tag", "Reason", "LastUpdateTime", "id", "origin",
    "source_id", "last_event", "to", "event", "date", "messageId", "tag", "blockedAt", "timestamp", "severity",
    "recipient", "message", "user-variables", "delivery-status",
]  # fmt: skip
RECORD = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=10)
READERS: list[Callable[[Any], Any]] = [
    *(lambda r, n=n: mailgun.suppression(n, r) for n in mailgun.SUPPRESSION_LISTS),
    mailgun.pulled,
    *(lambda r, n=n: sendgrid.suppression(n, r) for n in sendgrid.SUPPRESSION_LISTS),
    postmark.bounce,
    lambda r: postmark.suppression("broadcast", r),
    postmark.messages,
    ses.suppressed,
    resend.suppression,
    resend.email_state,
    brevo.pulled,
    brevo.blocked,
]


@FUZZ
@given(record=RECORD, which=st.integers(0, len(READERS) - 1))
def test_fuzz_pulled_records(record: dict[str, Any], which: int) -> None:
    """Any record: an event (or events, or None), every field bounded and of its type; never an exception."""
    found = READERS[which](record)
    for e in found if isinstance(found, list) else [found] if found else []:
        assert isinstance(e, FeedbackEvent) and isinstance(e.kind, Kind)
        assert e.recipient is None or (isinstance(e.recipient, str) and len(e.recipient) <= 320)
        assert isinstance(e.dedupe_key, str) and len(e.dedupe_key) <= 250 and e.dedupe_key.isprintable()
        assert e.reason is None or len(e.reason) <= 200
        assert e.at is None or e.at.tzinfo is not None
        for value in (e.message_id, e.send_id, e.tag, e.event):
            assert value is None or (isinstance(value, str) and len(value) <= 1000)
