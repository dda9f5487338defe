"""The contract every HTTP provider passes against its fake server (tests/fakes/): one suite, many providers.

A provider's test module builds a :class:`Setup` (its fake, and a function making the provider pointed at
it) and calls each ``check_*`` function below, usually through ``pytest.mark.parametrize``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import ClassVar

import pytest

from actionmail.merge import Merge
from actionmail.providers.base import Batch, Envelope, Provider, ProviderError, Recipient
from tests.fakes.server import FakeProvider, Fault

SUBJECT = "{first_name|Friend}, call the mayor"
HTML = (
    "<html><body><p>Hi {first_name|friend} &amp; co,</p><p>Call &lt;now&gt;.</p>"
    '<a href="{unsubscribe_url}">Unsubscribe</a></body></html>'
)
TEXT = "Hi {first_name|friend},\nCall now.\nUnsubscribe: {unsubscribe_url}\n"

# A member's name (and so their {first_name}) that tries to add a Bcc header, in the ways a header can be
# broken: an RFC 2047 encoded word holding CR LF (quoted-printable, base64, one inside another, an unknown
# charset, which the email package reads as ASCII), a raw line break, and Unicode's line separator.
_WORD = "=?utf-8?q?Ev=0D=0ABcc:_a@evil.example?="
HOSTILE = [
    _WORD,
    "=?utf-8?b?" + base64.b64encode(b"Ev\r\nBcc: a@evil.example").decode() + "?=",
    "=?utf-8?q?" + _WORD.replace("=", "=3D").replace("?", "=3F") + "?=",
    _WORD.replace("utf-8", "x-unknown"),
    "Ev\r\nBcc: a@evil.example",
    "Ev\u2028Bcc: a@evil.example",
]
DEFUSED = "Ev Bcc: a@evil.example"  # what each of them becomes: the decoded text, the line break a space


# Retry-After values a server might send that are not a wait we can use: the engine backs off on its own.
NO_WAIT = ["soon", "-5", "99999999999999999999", "1e400", "nan", "0x10", "Tue, 32 Foo 2019 99:99:99 GMT", " "]
PAST = "Wed, 21 Oct 2015 07:28:00 -0000"  # a date with -0000 ("zone unknown"): the email package gives it no zone


@dataclasses.dataclass
class Setup:
    fake: FakeProvider
    # make(api_key=None, **settings) -> a provider pointed at fake.url; api_key overrides the (fake) secret it
    # finds in its environment, settings override its [providers.NAME] settings (e.g. timeout=0.5).
    make: Callable[..., Provider]


@contextlib.contextmanager
def setup_for(fake: FakeProvider, build: Callable[[str | None, dict[str, object]], Provider]) -> Iterator[Setup]:
    """A Setup whose ``make`` calls ``build(api_key, settings)``; every provider it made is closed afterwards."""
    made: list[Provider] = []

    def make(api_key: str | None = None, **settings: object) -> Provider:
        made.append(build(api_key, settings))
        return made[-1]

    try:
        yield Setup(fake, make)
    finally:
        for provider in made:
            provider.close()


class ContractTests:
    """The checks whose arguments are the same for every provider. A provider's test module subclasses this as
    ``TestContract``, sets :attr:`secret`, and has a ``setup`` fixture; the checks that take the provider's own
    fault bodies (rate limits, bad requests, batch limits) it calls itself."""

    secret: ClassVar[str]

    def test_batch_reaches_everyone_personalized(self, setup: Setup) -> None:
        check_batch_reaches_everyone_personalized(setup)

    @pytest.mark.parametrize("status", [500, 502, 503])
    def test_server_error_is_transient(self, setup: Setup, status: int) -> None:
        check_server_error_is_transient(setup, status)

    def test_dropped_connection_may_have_sent(self, setup: Setup) -> None:
        check_dropped_connection_may_have_sent(setup)

    def test_slow_reply_times_out(self, setup: Setup) -> None:
        check_slow_reply_times_out(setup)

    def test_bad_credentials_are_permanent(self, setup: Setup) -> None:
        check_bad_credentials_are_permanent(setup, self.secret)

    @pytest.mark.parametrize("value", NO_WAIT, ids=range(len(NO_WAIT)))
    def test_a_retry_after_that_is_no_wait_means_backing_off(self, setup: Setup, value: str) -> None:
        check_a_retry_after_that_is_no_wait(setup, value)

    @pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
    def test_a_name_cannot_add_a_header(self, setup: Setup, hostile: str) -> None:
        check_a_name_cannot_add_a_header(setup, hostile)

    def test_a_message_of_our_own_carries_no_list_headers(self, setup: Setup) -> None:
        check_a_message_of_our_own_carries_no_list_headers(setup)


def hostile_recipient(value: str) -> Recipient:
    return Recipient("7", "r7@example.org", value, {"first_name": value, "unsubscribe_url": "https://example.org/u/7"})


def recipients(count: int, start: int = 0) -> list[Recipient]:
    people = []
    for i in range(start, start + count):
        name = None if i % 3 == 0 else ("Zoë <Q>" if i % 3 == 1 else f"Person {i}")
        people.append(
            Recipient(
                key=str(i),
                email=f"r{i}@example.org",
                name=name,
                values={"first_name": name, "unsubscribe_url": f"https://example.org/unsubscribe/{i}.tok{i}"},
            )
        )
    return people


def batch(people: list[Recipient], batch_id: str = "batch-1", **envelope: object) -> Batch:
    fields: dict[str, object] = dict(
        from_="Seattle Indivisible <action@example.org>",
        reply_to="info@example.org",
        list_id="Daily action <daily-action.example.org>",
        tag="2019-08-01-no-police-facial-recognition",
        send_id="send-1",
        unsubscribe_mailto="unsubscribe@example.org",
    )
    fields.update(envelope)
    return Batch(
        id=batch_id,
        envelope=Envelope(**fields),  # type: ignore[arg-type]
        subject=Merge.parse(SUBJECT, escape=False),
        html=Merge.parse(HTML, escape=True),
        text=Merge.parse(TEXT, escape=False),
        recipients=people,
    )


def check_batch_reaches_everyone_personalized(setup: Setup) -> None:
    """One call for a full batch; each recipient gets exactly their own subject, body and headers."""
    provider = setup.make()
    people = recipients(min(provider.max_batch, 120))
    result = provider.send(batch(people))
    assert set(result.accepted) == {p.key for p in people} and not result.rejected
    assert all(result.accepted.values())
    assert len(setup.fake.requests) == 1 or provider.max_batch == 1
    by_address = {d.to.lower(): d for d in setup.fake.delivered}
    assert len(setup.fake.delivered) == len(people) == len(by_address)
    for person in people:
        got = by_address[person.email]
        subject, html, text = batch([person]).content(person)
        assert got.subject == subject
        # Bodies that travel as MIME (SES) end with a line break, as MIME text does: compare without it.
        assert (got.html.rstrip("\n"), got.text.rstrip("\n")) == (html.rstrip("\n"), text.rstrip("\n"))
        assert got.headers["List-Unsubscribe"] == (
            f"<{person.values['unsubscribe_url']}>, <mailto:unsubscribe@example.org?subject=unsubscribe%20"
            f"{person.key}.tok{person.key}>"
        )
        assert got.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert got.tag == "2019-08-01-no-police-facial-recognition"


def check_a_message_of_our_own_carries_no_list_headers(setup: Setup) -> None:
    """A sign-up's confirmation (Envelope.transactional) is to someone who is not a member: it offers no
    unsubscribe and names no list, and says a program sent it (RFC 3834)."""
    person = Recipient("signup-1", "r1@example.org", None, {})
    result = setup.make().send(batch([person], transactional=True, unsubscribe_mailto=None))
    assert list(result.accepted) == ["signup-1"]
    (got,) = setup.fake.delivered
    headers = {name.lower(): value for name, value in got.headers.items()}
    assert not {"list-unsubscribe", "list-unsubscribe-post", "list-id"} & set(headers)
    assert headers["auto-submitted"] == "auto-generated"


def check_batches_respect_the_provider_limit(setup: Setup) -> None:
    """The fake refuses more than the real API allows; max_batch stays within it."""
    provider = setup.make()
    provider.send(batch(recipients(provider.max_batch)))
    with pytest.raises(ProviderError) as too_many:
        provider.send(batch(recipients(provider.max_batch + 1)))
    assert not too_many.value.transient


def check_rate_limited(setup: Setup, fault: Fault, retry_after: float | None) -> None:
    """429: transient, with the wait the provider asked for; nothing delivered."""
    setup.fake.fail(fault)
    with pytest.raises(ProviderError) as limited:
        _send_some(setup.make(), 3)
    assert (limited.value.status, limited.value.transient, limited.value.maybe_sent) == (429, True, False)
    # Within a second: a wait computed from an epoch (SendGrid's X-RateLimit-Reset) depends on the clock.
    assert limited.value.retry_after == pytest.approx(retry_after, abs=1)
    assert setup.fake.delivered == []


def check_server_error_is_transient(setup: Setup, status: int) -> None:
    setup.fake.fail(Fault(status=status, body=""))
    with pytest.raises(ProviderError) as failed:
        _send_some(setup.make(), 3)
    assert (failed.value.status, failed.value.transient, failed.value.maybe_sent) == (status, True, False)


def check_dropped_connection_may_have_sent(setup: Setup) -> None:
    setup.fake.fail(Fault(drop=True))
    with pytest.raises(ProviderError) as dropped:
        _send_some(setup.make(), 3)
    assert dropped.value.transient and dropped.value.maybe_sent


def check_slow_reply_times_out(setup: Setup) -> None:
    setup.fake.fail(Fault(delay=1.5))
    with pytest.raises(ProviderError) as slow:
        _send_some(setup.make(timeout=0.5), 2)
    assert slow.value.transient and slow.value.maybe_sent


def check_bad_credentials_are_permanent(setup: Setup, secret: str) -> None:
    """401 with the provider's body: permanent, the provider's message shown, the secret never shown."""
    with pytest.raises(ProviderError) as refused:
        setup.make(api_key="wrong-key-value").send(batch(recipients(1)))
    assert refused.value.status in (401, 403) and not refused.value.transient
    assert "wrong-key-value" not in str(refused.value) and secret not in str(refused.value)


def check_bad_request_carries_the_provider_message(setup: Setup, fault: Fault, words: str) -> None:
    setup.fake.fail(fault)
    with pytest.raises(ProviderError) as bad:
        _send_some(setup.make(), 2)
    assert bad.value.status == fault.status and not bad.value.transient
    assert words in str(bad.value)


def _send_some(provider: Provider, count: int) -> None:
    """A batch of ``count`` recipients, or of as many as the provider takes (SES and SMTP: one)."""
    provider.send(batch(recipients(min(count, provider.max_batch))))


def check_a_name_cannot_add_a_header(setup: Setup, hostile: str) -> None:
    """A name and a merge value in the subject arrive as the text they decode to, on one line, in the fields the
    provider builds headers from (the To name, the subject, the headers); no Bcc, no second recipient."""
    provider = setup.make()
    person = hostile_recipient(hostile)
    result = provider.send(batch([person]))
    assert list(result.accepted) == ["7"]
    (got,) = setup.fake.delivered
    assert got.to == "r7@example.org"
    assert got.name == DEFUSED
    assert got.subject == f"{DEFUSED}, call the mayor"
    assert "bcc" not in {name.lower() for name in got.headers}
    for value in (got.name, got.subject, *got.headers.values()):
        assert not re.search(r"[\r\n\u2028]|=\?", value), value


def check_a_retry_after_that_is_no_wait(setup: Setup, value: str) -> None:
    """A 429 whose Retry-After can't be read is still a 429: transient, nothing sent, no wait asked (never a
    crash); and a date in the past with the zone -0000 is no wait at all."""
    for header, asked in ((value, None), (PAST, 0.0)):
        setup.fake.fail(Fault(status=429, headers={"Retry-After": header}, body={"message": "Too many requests"}))
        with pytest.raises(ProviderError) as limited:
            _send_some(setup.make(), 3)
        assert (limited.value.status, limited.value.transient, limited.value.maybe_sent) == (429, True, False)
        assert limited.value.retry_after in (asked, None)  # None: SES reads no Retry-After
    assert setup.fake.delivered == []
