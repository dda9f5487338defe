"""Every provider's pull against its fake server: the shared contract (tests/pull_contract.py), one harness each."""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import email.utils
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actionmail.config.providers import (
    BrevoSettings,
    MailgunSettings,
    PostmarkSettings,
    ResendSettings,
    SendGridSettings,
    SESSettings,
)
from actionmail.feedback.events import Kind
from actionmail.providers import brevo, mailgun, postmark, provider_class, resend, sendgrid, ses
from actionmail.providers.base import Provider, ProviderError, Pullable, PullNotSupported
from tests import pull_contract as contract
from tests.fakes.brevo import BrevoFake
from tests.fakes.mailgun import MailgunFake
from tests.fakes.postmark import PostmarkFake
from tests.fakes.resend import ResendFake
from tests.fakes.sendgrid import SendGridFake
from tests.fakes.server import Fault
from tests.fakes.ses import SESFake
from tests.pull_contract import NOW, QUICK, SINCE, Expected, Harness

SECRET = "test-key-not-secret"
EXAMPLES = int(os.environ.get("ACTIONMAIL_FUZZ_EXAMPLES", "60"))  # per provider; a large run: docs/feedback.md
OLD = SINCE - dt.timedelta(days=3)  # before the window (and its margin of a day): these must not come back


def when(i: int, old: bool = False) -> dt.datetime:
    return (OLD if old else NOW - dt.timedelta(hours=1)) - dt.timedelta(minutes=i)


def retrying_quickly(provider: Provider) -> Provider:
    provider.pull_retry = QUICK
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


# --- Postmark --------------------------------------------------------------------------------------------------


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@contextlib.contextmanager
def postmark_harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setattr(postmark, "PAGE", 3)
    variable = "ACTIONMAIL_POSTMARK_API_KEY"
    with PostmarkFake(token=SECRET) as fake:
        fake.suppressions["broadcast"] = []

        def make(api_key: str | None = None) -> Provider:
            settings_ = PostmarkSettings.model_validate({"base_url": fake.url})
            return retrying_quickly(postmark.Postmark(settings_, environ={variable: api_key or SECRET}))

        def seed(count: int) -> Expected:
            expected: Expected = collections.Counter()
            kinds = {"HardBounce": Kind.HARD_BOUNCE, "SoftBounce": Kind.SOFT_BOUNCE, "SpamComplaint": Kind.COMPLAINT}
            reasons = {
                "HardBounce": Kind.HARD_BOUNCE,
                "SpamComplaint": Kind.COMPLAINT,
                "ManualSuppression": Kind.UNSUBSCRIBE,
            }
            for i in range(count):
                for old in (False, True):
                    for n, (kind_name, kind) in enumerate(kinds.items()):
                        fake.bounces.append(
                            {
                                "ID": 1000 * i + 10 * n + old,
                                "Type": kind_name,
                                "TypeCode": 1,
                                "MessageID": f"m{i}",
                                "Email": f"{kind_name}{i}@example.org",
                                "BouncedAt": iso(when(i, old)),
                                "Details": "550 no such user",
                                "Tag": "2019-08-01-tag",
                                "MessageStream": "broadcast",
                            }
                        )
                        if not old:
                            expected[(kind, f"{kind_name}{i}@example.org")] += 1
                    for reason, kind in reasons.items():
                        fake.suppressions["broadcast"].append(
                            {
                                "EmailAddress": f"s{reason}{i}@example.org",
                                "SuppressionReason": reason,
                                "Origin": "Recipient",
                                "CreatedAt": iso(when(i, old)),
                            }
                        )
                        if not old:
                            expected[(kind, f"s{reason}{i}@example.org")] += 1
            return expected

        yield Harness(
            "postmark", fake, make, seed, SECRET, page=lambda records: {"TotalCount": 10**6, "Bounces": records}
        )


# --- SES -------------------------------------------------------------------------------------------------------

KEY_ID, AWS_SECRET = "AKIATESTNOTAREALKEY0", "test/secret/not+a+real+one+0000000000000"


@contextlib.contextmanager
def ses_harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setattr(ses, "SUPPRESSION_PAGE", 3)
    with tempfile.TemporaryDirectory() as home:  # no real AWS credentials or config: only what the test gives
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", f"{home}/no-config")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{home}/no-credentials")
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        with SESFake(KEY_ID, AWS_SECRET) as fake:

            def make(api_key: str | None = None) -> Provider:
                settings_ = SESSettings.model_validate({"region": "us-east-1", "base_url": fake.url, "timeout": 5.0})
                environ = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": api_key or AWS_SECRET}
                return retrying_quickly(ses.SES(settings_, environ=environ))

            def seed(count: int) -> Expected:
                expected: Expected = collections.Counter()
                for i in range(count):
                    for reason, kind in (("BOUNCE", Kind.HARD_BOUNCE), ("COMPLAINT", Kind.COMPLAINT)):
                        for old in (False, True):
                            address = f"{reason.lower()}{i}{'old' if old else ''}@example.org"
                            fake.suppressed.append(
                                {"EmailAddress": address, "Reason": reason, "LastUpdateTime": when(i, old)}
                            )
                            if not old:
                                expected[(kind, address)] += 1
                return expected

            def loop() -> None:
                fake.loop_after = 2

            def page(records: list[Any]) -> Any:
                return {"SuppressedDestinationSummaries": records, "NextToken": "tok-again"}

            yield Harness("ses", fake, make, seed, AWS_SECRET, page=page, loop=loop)


# --- Brevo -----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def brevo_harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setattr(brevo, "BLOCKED_PAGE", 3)
    monkeypatch.setattr(brevo, "EVENTS_PAGE", 3)
    variable = "ACTIONMAIL_BREVO_API_KEY"
    with BrevoFake(api_key=SECRET) as fake:

        def make(api_key: str | None = None) -> Provider:
            settings_ = BrevoSettings.model_validate({"base_url": fake.url})
            return retrying_quickly(brevo.Brevo(settings_, environ={variable: api_key or SECRET}))

        def seed(count: int) -> Expected:
            expected: Expected = collections.Counter()
            reasons = {
                "unsubscribedViaEmail": Kind.UNSUBSCRIBE,
                "hardBounce": Kind.HARD_BOUNCE,
                "contactFlaggedAsSpam": Kind.COMPLAINT,
                "adminBlocked": Kind.UNSUBSCRIBE,
            }
            events = {
                "delivered": Kind.DELIVERED,
                "hardBounces": Kind.HARD_BOUNCE,
                "softBounces": Kind.SOFT_BOUNCE,
                "spam": Kind.COMPLAINT,
                "requests": Kind.ACCEPTED,
            }
            for i in range(count):
                for old in (False, True):
                    for code, kind in reasons.items():
                        address = f"{code}{i}@example.org"
                        fake.blocked.append(
                            {
                                "email": address,
                                "senderEmail": "action@example.org",
                                "reason": {"code": code, "message": "Because"},
                                "blockedAt": iso(when(i, old)),
                            }
                        )
                        if not old:
                            expected[(kind, address)] += 1
                    for name, kind in events.items():
                        address = f"{name}{i}@example.org"
                        fake.events.append(
                            {
                                "email": address,
                                "date": iso(when(i, old)),
                                "messageId": f"<{i}@smtp-relay.mailin.fr>",
                                "event": name,
                                "tag": "2019-08-01-tag",
                                "subject": "Call the mayor",
                            }
                        )
                        if not old:
                            expected[(kind, address)] += 1
            return expected

        yield Harness("brevo", fake, make, seed, SECRET, page=lambda records: {"contacts": records, "count": 10**6})


# --- Resend ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def resend_harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setattr(resend, "PAGE", 3)
    variable = "ACTIONMAIL_RESEND_API_KEY"
    with ResendFake(api_key=SECRET) as fake:

        def make(api_key: str | None = None) -> Provider:
            settings_ = ResendSettings.model_validate({"base_url": fake.url})
            return retrying_quickly(resend.Resend(settings_, environ={variable: api_key or SECRET}))

        def seed(count: int) -> Expected:
            expected: Expected = collections.Counter()
            origins = {"bounce": Kind.HARD_BOUNCE, "complaint": Kind.COMPLAINT, "manual": Kind.UNSUBSCRIBE}
            last_events = {
                "delivered": Kind.DELIVERED,
                "bounced": Kind.HARD_BOUNCE,
                "complained": Kind.COMPLAINT,
                "sent": Kind.ACCEPTED,
                "queued": Kind.ACCEPTED,
                "delivery_delayed": Kind.DEFERRED,
            }
            for i in range(count):
                for old in (False, True):
                    for origin, kind in origins.items():  # the whole list, old entries too: it has no date filter
                        address = f"{origin}{i}{old}@example.org"
                        fake.suppressions.append(
                            {"id": f"s-{origin}{i}{old}", "email": address, "origin": origin,
                             "source_id": f"e-{i}", "created_at": iso(when(i, old))}
                        )  # fmt: skip
                        expected[(kind, address)] += 1
                    for name, kind in last_events.items():
                        address = f"{name}{i}@example.org"
                        fake.emails.append(
                            {"id": f"e-{name}{i}{old}", "to": [address], "created_at": iso(when(i, old)),
                             "last_event": name, "subject": "Call the mayor"}
                        )  # fmt: skip
                        if not old:
                            expected[(kind, address)] += 1
            return expected

        def page(records: list[Any]) -> Any:
            return {"object": "list", "has_more": True, "data": [*records, {"id": "same-last"}]}

        yield Harness("resend", fake, make, seed, SECRET, page=page)


HARNESSES: dict[str, Callable[[pytest.MonkeyPatch], contextlib.AbstractContextManager[Harness]]] = {
    "mailgun": mailgun_harness,
    "sendgrid": sendgrid_harness,
    "postmark": postmark_harness,
    "ses": ses_harness,
    "brevo": brevo_harness,
    "resend": resend_harness,
}
LOOPING = [name for name in HARNESSES if name in ("mailgun", "ses")]


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

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        @given(body=PAGE)
        def run(body: Any) -> None:
            made.fake.chaos = None
            contract.check_page_bodies_that_are_not_pages(made, body)

        run()


# --- a send's messages (pull_send), where the provider keeps them ------------------------------------------------


def test_mailgun_pull_send_reads_the_events_of_the_send_s_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    with mailgun_harness(monkeypatch) as h:
        fake = h.fake
        assert isinstance(fake, MailgunFake)
        for i in range(10):
            for tag, name in (("today", "accepted"), ("today", "delivered"), ("other", "delivered")):
                fake.events.append(
                    {
                        "id": f"{tag}{name}{i}",
                        "event": name,
                        "timestamp": when(i).timestamp(),
                        "recipient": f"r{i}@example.org",
                        "tags": [tag],
                        "user-variables": {"send_id": "send-7"},
                        "message": {"headers": {"message-id": "1@mg.example.org"}},
                    }
                )
        provider = h.make()
        cursor, events = None, []
        for _ in range(100):
            pulled = provider.pull_send("today", ["<1@mg.example.org>"], SINCE, cursor, pages=2)
            events += pulled.events
            cursor = pulled.cursor
            if pulled.complete:
                break
        assert sorted((e.kind, e.recipient) for e in events) == sorted(
            [(Kind.ACCEPTED, f"r{i}@example.org") for i in range(10)]
            + [(Kind.DELIVERED, f"r{i}@example.org") for i in range(10)]
        )
        assert {(e.tag, e.send_id, e.message_id) for e in events} == {("today", "send-7", "1@mg.example.org")}
        # A cursor of pull() is not one of pull_send()'s, nor one of another send's.
        with pytest.raises(ProviderError, match="another question"):
            provider.pull(None, cursor)
        with pytest.raises(ProviderError, match="another question"):
            provider.pull_send("tomorrow", [], SINCE, cursor)


def test_postmark_pull_send_finds_the_send_s_messages_and_bounces(monkeypatch: pytest.MonkeyPatch) -> None:
    with postmark_harness(monkeypatch) as h:
        fake = h.fake
        assert isinstance(fake, PostmarkFake)
        for i in range(8):
            for tag in ("today", "other"):
                fake.messages.append(
                    {
                        "MessageID": f"{tag}-{i}",
                        "Recipients": [f"r{i}@example.org"],
                        "To": [{"Email": f"r{i}@example.org", "Name": None}],
                        "Status": "Sent",
                        "ReceivedAt": iso(when(i)),
                        "Tag": tag,
                        "Metadata": {"send_id": f"send-{tag}"},
                        "MessageStream": "broadcast",
                    }
                )
        fake.bounces.append(
            {"ID": 77, "Type": "HardBounce", "MessageID": "today-3", "Email": "r3@example.org",
             "BouncedAt": iso(when(1)), "Tag": "today", "MessageStream": "broadcast"}
        )  # fmt: skip
        pulled = h.make().pull_send("today", [], SINCE, pages=100)
        assert pulled.complete
        accepted = sorted(e.recipient or "" for e in pulled.events if e.kind is Kind.ACCEPTED)
        assert accepted == sorted(f"r{i}@example.org" for i in range(8))
        assert {e.send_id for e in pulled.events if e.kind is Kind.ACCEPTED} == {"send-today"}
        assert [(e.kind, e.recipient, e.dedupe_key) for e in pulled.events if e.kind is not Kind.ACCEPTED] == [
            (Kind.HARD_BOUNCE, "r3@example.org", "postmark:Bounce-77")  # the webhook's key for the same bounce
        ]


@pytest.mark.parametrize("name", ["sendgrid", "ses"])
def test_pull_send_where_the_provider_keeps_no_events(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with HARNESSES[name](monkeypatch) as h:
        provider = h.make()
        assert Pullable.MESSAGES not in provider.pulls
        with pytest.raises(PullNotSupported, match="actionmail serve"):
            provider.pull_send("today", ["x"], SINCE)


@pytest.mark.parametrize("name", ["outbox", "smtp"])
def test_providers_that_keep_nothing_say_so(name: str, tmp_path: Any) -> None:
    cls = provider_class(name)
    settings_ = {"outbox": {"directory": str(tmp_path)}, "smtp": {"host": "127.0.0.1"}}[name]
    provider = cls(cls.settings_model.model_validate(settings_), environ={})
    assert provider.pulls == frozenset()
    with pytest.raises(PullNotSupported, match=f"{name} keeps no"):
        provider.pull(SINCE)
    with pytest.raises(PullNotSupported, match=f"{name} keeps no"):
        provider.pull_send("today", [], SINCE)


def test_brevo_pull_send_reads_the_events_of_the_send_s_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    with brevo_harness(monkeypatch) as h:
        fake = h.fake
        assert isinstance(fake, BrevoFake)
        for i in range(7):
            for tag in ("today", "other"):
                fake.events.append(
                    {"email": f"r{i}@example.org", "date": iso(when(i)), "messageId": f"<{tag}{i}@relay>",
                     "event": "requests", "tag": tag}
                )  # fmt: skip
        pulled = h.make().pull_send("today", [], SINCE, pages=100)
        assert pulled.complete
        assert sorted((e.kind, e.recipient, e.message_id) for e in pulled.events) == [
            (Kind.ACCEPTED, f"r{i}@example.org", f"<today{i}@relay>") for i in range(7)
        ]


def test_a_brevo_event_pulled_and_posted_has_one_key() -> None:
    """The events API names and dates an event unlike the webhook; both are read to the same dedupe key."""
    from actionmail.feedback import brevo as feedback_brevo

    at = dt.datetime(2019, 8, 1, 9, 0, tzinfo=dt.UTC)
    posted = feedback_brevo.event(
        {"event": "hard_bounce", "email": "ana@example.org", "message-id": "<1@relay>",
         "ts_epoch": int(at.timestamp() * 1000), "reason": "no such user"}
    )  # fmt: skip
    pulled = feedback_brevo.pulled(
        {"event": "hardBounces", "email": "ana@example.org", "messageId": "<1@relay>",
         "date": "2019-08-01T11:00:00.000+02:00", "reason": "no such user"}
    )  # fmt: skip
    assert (pulled.kind, pulled.dedupe_key) == (posted.kind, posted.dedupe_key) == (Kind.HARD_BOUNCE, posted.dedupe_key)


def test_resend_pull_send_looks_up_each_email(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each id's last event; an id Resend does not know gives no event, only a line in skipped: no trace of it."""
    with resend_harness(monkeypatch) as h:
        fake = h.fake
        assert isinstance(fake, ResendFake)
        for i, last in enumerate(["delivered", "sent", "bounced"]):
            fake.emails.append(
                {"id": f"e{i}", "to": [f"r{i}@example.org"], "created_at": iso(when(i)), "last_event": last,
                 "tags": [{"name": "send_id", "value": "send-9"}, {"name": "tag", "value": "today"}]}
            )  # fmt: skip
        fake.fail(Fault(status=429, headers={"retry-after": "0"}, body={"name": "rate_limit_exceeded"}))
        provider = h.make()
        cursor, pulls = None, []
        for _ in range(10):
            pulled = provider.pull_send("today", ["e0", "e1", "unknown", "e2"], SINCE, cursor, pages=1)
            pulls.append(pulled)
            cursor = pulled.cursor
            if pulled.complete:
                break
        events = [e for p in pulls for e in p.events]
        assert [(e.kind, e.recipient, e.message_id, e.send_id) for e in events] == [
            (Kind.DELIVERED, "r0@example.org", "e0", "send-9"),
            (Kind.ACCEPTED, "r1@example.org", "e1", "send-9"),
            (Kind.HARD_BOUNCE, "r2@example.org", "e2", "send-9"),
        ]
        assert [s for p in pulls for s in p.skipped] == ["emails: Resend has no email unknown"]


def test_ses_pull_without_permission_names_the_action(monkeypatch: pytest.MonkeyPatch) -> None:
    with ses_harness(monkeypatch) as h:
        h.fake.fail(
            Fault(
                status=403,
                body={"message": "User is not authorized to perform: ses:ListSuppressedDestinations"},
                headers={"x-amzn-ErrorType": "AccessDeniedException"},
            )
        )
        with pytest.raises(ProviderError, match="need permission for ses:ListSuppressedDestinations") as refused:
            h.make().pull(SINCE)
        assert not refused.value.transient


def test_postmark_reads_a_search_as_far_as_it_shows_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """A search shows its first MAX_OFFSET records (count + offset ≤ 10,000): the rest is said, not asked for."""
    with postmark_harness(monkeypatch) as h:
        monkeypatch.setattr(postmark, "MAX_OFFSET", 6)  # two pages of 3
        h.seed(4)  # 12 bounces in the window
        pulls, _ = contract.everything(h.make())
        bounces = [e for p in pulls for e in p.events if e.event.startswith(("Bounce", "SpamComplaint"))]
        assert len(bounces) == 6
        assert [s for p in pulls for s in p.skipped] == [
            "bounces: Postmark shows only the first 6 of a search; the rest of this window is not read: sync more "
            "often, or from a later date (--since)"
        ]


def test_a_postmark_complaint_pulled_and_posted_has_one_key() -> None:
    """The Bounces API files a spam complaint as a bounce of Type SpamComplaint, with the ID its webhook carries."""
    from actionmail.feedback import postmark as feedback_postmark

    posted = feedback_postmark.event(
        {"RecordType": "SpamComplaint", "ID": 42, "Type": "SpamComplaint", "TypeCode": 512, "MessageID": "m1",
         "Email": "ana@example.org", "BouncedAt": "2019-08-01T09:00:00Z"}
    )  # fmt: skip
    pulled = feedback_postmark.bounce(
        {"ID": 42, "Type": "SpamComplaint", "TypeCode": 512, "MessageID": "m1", "Email": "ana@example.org",
         "BouncedAt": "2019-08-01T09:00:00Z", "Inactive": True}
    )  # fmt: skip
    assert (
        (pulled.kind, pulled.dedupe_key)
        == (posted.kind, posted.dedupe_key)
        == (Kind.COMPLAINT, "postmark:SpamComplaint-42")
    )


@pytest.mark.parametrize(
    ("name", "fault", "message"),
    [
        (
            "mailgun",
            Fault(status=401, body="Forbidden"),
            "mailgun (HTTP 401): Mailgun refused the API key: check ACTIONMAIL_MAILGUN_API_KEY, and that base_url is "
            "the domain's region; reading back needs the account's primary API key: a domain sending key only sends: "
            "Forbidden",
        ),
        (
            "sendgrid",
            Fault(status=403, body={"errors": [{"field": None, "message": "access forbidden"}]}),
            "sendgrid (HTTP 403): access forbidden: reading back needs the key in ACTIONMAIL_SENDGRID_API_KEY to have "
            'read access to Suppressions: {"errors": [{"field": null, "message": "access forbidden"}]}',
        ),
        (
            "resend",
            Fault(
                status=401,
                body={
                    "statusCode": 401,
                    "message": "This API key is restricted to only send emails",
                    "name": "restricted_api_key",
                },
            ),
            "resend (HTTP 401): This API key is restricted to only send emails (restricted_api_key): reading back "
            "needs a key with Full access in ACTIONMAIL_RESEND_API_KEY: "
            '{"statusCode": 401, "message": "This API key is restricted to only send emails", '
            '"name": "restricted_api_key"}',
        ),
    ],
)
def test_a_key_that_may_only_send_says_what_reading_back_needs(
    name: str, fault: Fault, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with HARNESSES[name](monkeypatch) as h:
        h.fake.fail(fault)
        with pytest.raises(ProviderError) as refused:
            h.make().pull(SINCE)
    assert str(refused.value) == message
    assert not refused.value.transient
