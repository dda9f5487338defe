"""Every provider's pull against its fake server: the shared contract (tests/pull_contract.py), one harness each."""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import email.utils
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actionmail.config.providers import MailgunSettings, SendGridSettings
from actionmail.feedback.events import Kind
from actionmail.providers import mailgun, sendgrid
from actionmail.providers.base import Provider
from tests import pull_contract as contract
from tests.fakes.mailgun import MailgunFake
from tests.fakes.sendgrid import SendGridFake
from tests.pull_contract import NOW, QUICK, SINCE, Expected, Harness

SECRET = "test-key-not-secret"
OLD = SINCE - dt.timedelta(days=1)  # before the window: events this old must not come back


def when(i: int, old: bool = False) -> dt.datetime:
    return (OLD if old else NOW - dt.timedelta(hours=1)) - dt.timedelta(minutes=i)


def retrying_quickly(provider: Provider) -> Provider:
    provider.pull_retry = QUICK  # type: ignore[attr-defined]
    return provider


# --- Mailgun ---------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def mailgun_harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setattr(mailgun, "SUPPRESSION_PAGE", 3)
    monkeypatch.setattr(mailgun, "EVENTS_PAGE", 4)
    variable = "ACTIONMAIL_MAILGUN_API_KEY"
    with MailgunFake(api_key=SECRET) as fake:

        def make(api_key: str | None = None) -> Provider:
            fields = {"base_url": fake.url, "domain": fake.domain}
            settings_ = MailgunSettings.model_validate(fields)
            return retrying_quickly(mailgun.Mailgun(settings_, environ={variable: api_key or SECRET}))

        def seed(count: int) -> Expected:
            expected: Expected = collections.Counter()
            for i in range(count):
                created = email.utils.format_datetime(when(i), usegmt=True)
                fake.lists["bounces"].append(
                    {"address": f"b{i}@example.org", "code": "550", "error": "No such mailbox", "created_at": created}
                )
                fake.lists["complaints"].append({"address": f"c{i}@example.org", "created_at": created, "count": 1})
                fake.lists["unsubscribes"].append(
                    {"address": f"u{i}@example.org", "tags": ["*"], "created_at": created, "id": f"u{i}"}
                )
                expected.update(
                    [
                        (Kind.HARD_BOUNCE, f"b{i}@example.org"),
                        (Kind.COMPLAINT, f"c{i}@example.org"),
                        (Kind.UNSUBSCRIBE, f"u{i}@example.org"),
                    ]
                )
                for name, severity, kind in (
                    ("delivered", None, Kind.DELIVERED),
                    ("failed", "temporary", Kind.DEFERRED),
                    ("failed", "permanent", Kind.HARD_BOUNCE),
                ):
                    for old in (False, True):
                        event: dict[str, Any] = {
                            "id": f"ev{i}{name}{severity}{old}",
                            "event": name,
                            "timestamp": when(i, old).timestamp(),
                            "recipient": f"e{i}@example.org",
                            "tags": ["2019-08-01-tag"],
                            "user-variables": {"send_id": "send-1"},
                            "message": {"headers": {"message-id": f"{i}@mg.example.org"}},
                        }
                        if severity:
                            event["severity"] = severity
                        fake.events.append(event)
                        if not old:
                            expected[(kind, f"e{i}@example.org")] += 1
            return expected

        def loop() -> None:
            fake.loop_after = 2

        def page(records: list[Any]) -> Any:  # with a next link, as every page but the last has
            return {"items": records, "paging": {"next": f"{fake.url}/v3/{fake.domain}/bounces?page=next&address=z"}}

        yield Harness("mailgun", fake, make, seed, SECRET, page=page, loop=loop)


# --- SendGrid --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def sendgrid_harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setattr(sendgrid, "SUPPRESSION_PAGE", 3)
    variable = "ACTIONMAIL_SENDGRID_API_KEY"
    with SendGridFake(api_key=SECRET) as fake:

        def make(api_key: str | None = None) -> Provider:
            settings_ = SendGridSettings.model_validate({"base_url": fake.url})
            return retrying_quickly(sendgrid.SendGrid(settings_, environ={variable: api_key or SECRET}))

        def seed(count: int) -> Expected:
            expected: Expected = collections.Counter()
            kinds = {
                "bounces": Kind.HARD_BOUNCE,
                "blocks": Kind.SOFT_BOUNCE,
                "spam_reports": Kind.COMPLAINT,
                "invalid_emails": Kind.HARD_BOUNCE,
                "unsubscribes": Kind.UNSUBSCRIBE,
            }
            for i in range(count):
                for name, kind in kinds.items():
                    for old in (False, True):
                        entry: dict[str, Any] = {
                            "email": f"{name}{i}@example.org",
                            "created": int(when(i, old).timestamp()),
                        }
                        if name in ("bounces", "blocks"):
                            entry |= {"reason": "550 5.1.1 no such user", "status": "5.1.1"}
                        if name == "spam_reports":
                            entry["ip"] = "10.0.0.1"
                        fake.lists[name].append(entry)
                        if not old:
                            expected[(kind, f"{name}{i}@example.org")] += 1
            # A bounce for a temporary failure (4.x.x) is a soft one.
            fake.lists["bounces"].append(
                {"email": "t@example.org", "created": int(NOW.timestamp()) - 60, "status": "4.2.2"}
            )
            expected[(Kind.SOFT_BOUNCE, "t@example.org")] += 1
            return expected

        yield Harness("sendgrid", fake, make, seed, SECRET, page=lambda records: records)


HARNESSES: dict[str, Callable[[pytest.MonkeyPatch], contextlib.AbstractContextManager[Harness]]] = {
    "mailgun": mailgun_harness,
    "sendgrid": sendgrid_harness,
}
LOOPING = [name for name in HARNESSES if name in ("mailgun",)]


@pytest.fixture(params=list(HARNESSES))
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    with HARNESSES[request.param](monkeypatch) as made:
        yield made


def test_reads_everything_across_pages(harness: Harness) -> None:
    contract.check_reads_everything_across_pages(harness)


def test_resumes_from_a_cursor_without_repeats_or_gaps(harness: Harness) -> None:
    contract.check_resumes_from_a_cursor_without_repeats_or_gaps(harness)


def test_retries_through_faults(harness: Harness) -> None:
    contract.check_retries_through_faults(harness)


def test_a_lasting_failure_raises_and_the_cursor_goes_on(harness: Harness) -> None:
    contract.check_a_lasting_failure_raises_and_the_cursor_goes_on(harness)


def test_bad_credentials(harness: Harness) -> None:
    contract.check_bad_credentials(harness)


def test_the_same_page_again_stops(harness: Harness) -> None:
    contract.check_the_same_page_again_stops(harness)


def test_hostile_records_are_skipped(harness: Harness) -> None:
    contract.check_hostile_records_are_skipped(harness)


def test_a_cursor_that_is_not_one(harness: Harness) -> None:
    contract.check_a_cursor_that_is_not_one(harness)


def test_the_next_pass_starts_before_the_last_ended(harness: Harness) -> None:
    contract.check_the_next_pass_starts_before_the_last_ended(harness)


@pytest.mark.parametrize("name", LOOPING)
def test_a_paging_circle_stops(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with HARNESSES[name](monkeypatch) as made:
        contract.check_a_paging_circle_stops(made)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
RECORD = st.dictionaries(
    st.sampled_from(
        ["address", "email", "EmailAddress", "Email", "event", "timestamp", "created_at", "created", "code",
         "reason", "Reason", "status", "Type", "ID", "origin", "id", "paging", "items", "date", "messageId"]
    ),
    JSON,
    max_size=8,
)  # fmt: skip
PAGE = st.one_of(
    JSON,
    st.fixed_dictionaries({"items": st.lists(RECORD | JSON, max_size=6), "paging": JSON}),
    st.lists(RECORD | JSON, max_size=6),
)


@pytest.mark.parametrize("name", list(HARNESSES))
def test_fuzz_page_bodies(name: str) -> None:
    """Any JSON as a page: a Pull or a clear ProviderError (one fake per provider, many bodies)."""
    with pytest.MonkeyPatch.context() as monkeypatch, HARNESSES[name](monkeypatch) as made:

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(body=PAGE)
        def run(body: Any) -> None:
            made.fake.chaos = None
            contract.check_page_bodies_that_are_not_pages(made, body)

        run()
