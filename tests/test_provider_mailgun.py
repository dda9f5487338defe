"""Mailgun against its fake: the shared contract, then what is Mailgun's own (recipient-variables, 420, region)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import json
from collections.abc import Iterator

import pydantic
import pytest

from actionmail.config.providers import MailgunSettings
from actionmail.providers import provider_class
from actionmail.providers.base import MissingCredentials, ProviderError
from actionmail.providers.mailgun import Mailgun
from tests import contract
from tests.contract import Setup, batch, recipients
from tests.fakes.mailgun import MailgunFake
from tests.fakes.server import Fault

SECRET = "test-key-not-secret"
VARIABLE = "ACTIONMAIL_MAILGUN_API_KEY"
DOMAIN = "mg.example.org"


@pytest.fixture
def fake() -> Iterator[MailgunFake]:
    with MailgunFake(api_key=SECRET, domain=DOMAIN) as server:
        yield server


@pytest.fixture
def setup(fake: MailgunFake) -> Iterator[Setup]:
    def build(api_key: str | None, settings: dict[str, object]) -> Mailgun:
        fields: dict[str, object] = {"base_url": fake.url, "domain": DOMAIN, **settings}
        provider = Mailgun(MailgunSettings.model_validate(fields), environ={VARIABLE: api_key or SECRET})
        return provider

    with contract.setup_for(fake, build) as made:
        yield made


# --- the shared contract ---------------------------------------------------------------------------------------


class TestContract(contract.ContractTests):
    secret = SECRET


def test_batches_respect_the_provider_limit(setup: Setup) -> None:
    contract.check_batches_respect_the_provider_limit(setup)
    assert len(email.utils.getaddresses(setup.fake.requests[-1].form()["to"])) == 1001  # refused, not split


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [({"Retry-After": "7"}, 7.0), ({}, None)],  # Mailgun documents no header for a 429; honour one if sent
)
def test_rate_limited(setup: Setup, headers: dict[str, str], retry_after: float | None) -> None:
    fault = Fault(status=429, body={"message": "Too Many Requests"}, headers=headers)
    contract.check_rate_limited(setup, fault, retry_after)


def test_bad_request_carries_the_provider_message(setup: Setup) -> None:
    words = "'to' parameter is not a valid address. please check documentation"
    contract.check_bad_request_carries_the_provider_message(setup, Fault(status=400, body={"message": words}), words)


# --- Mailgun's own ---------------------------------------------------------------------------------------------


def test_the_registry_finds_it() -> None:
    assert provider_class("mailgun") is Mailgun
    assert (Mailgun.max_batch, Mailgun.can_schedule, Mailgun.idempotent) == (1000, True, False)


def test_one_call_carries_every_recipients_values(setup: Setup) -> None:
    people = recipients(3)
    setup.make().send(batch(people))
    (request,) = setup.fake.requests
    assert request.path == f"/v3/{DOMAIN}/messages"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")  # the documented body
    form = request.form()
    assert form["subject"] == ["%recipient.s0%, call the mayor"]
    # The link is the same escaped or not for everyone: the HTML uses the text's key for it; not so the name.
    assert "Hi %recipient.h0% &amp; co," in form["html"][0] and 'href="%recipient.t1%"' in form["html"][0]
    assert form["text"][0].startswith("Hi %recipient.t0%,\n")
    assert form["h:List-Unsubscribe"] == ["%recipient.h:List-Unsubscribe%"]
    assert form["h:List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]
    assert form["h:List-Id"] == ["Daily action <daily-action.example.org>"]
    assert form["h:Reply-To"] == ["info@example.org"]
    assert form["from"] == ["Seattle Indivisible <action@example.org>"]
    assert form["o:tag"] == ["2019-08-01-no-police-facial-recognition"] and form["v:send_id"] == ["send-1"]
    assert "o:deliverytime" not in form
    variables = json.loads(form["recipient-variables"][0])
    assert list(variables) == [p.email for p in people]
    assert {frozenset(v) for v in variables.values()} == {frozenset({"s0", "h0", "t0", "t1", "h:List-Unsubscribe"})}
    # Fallbacks and HTML escaping are done before Mailgun sees the values.
    assert variables["r0@example.org"]["s0"] == "Friend" and variables["r0@example.org"]["h0"] == "friend"
    assert variables["r1@example.org"]["h0"] == "Zoë &lt;Q&gt;" and variables["r1@example.org"]["t0"] == "Zoë <Q>"
    assert SECRET not in request.body.decode()


def test_a_link_that_escaping_changes_for_anyone_keeps_its_own_html_key(setup: Setup) -> None:
    people = recipients(3)
    link = "https://example.org/u?id=2&t=x"  # "&amp;" in HTML
    people[2] = dataclasses.replace(people[2], values={**people[2].values, "unsubscribe_url": link})
    setup.make().send(batch(people))
    form = setup.fake.requests[0].form()
    assert 'href="%recipient.h1%"' in form["html"][0]
    variables = json.loads(form["recipient-variables"][0])
    assert variables["r2@example.org"]["h1"] == "https://example.org/u?id=2&amp;t=x"
    assert variables["r1@example.org"]["h1"] == variables["r1@example.org"]["t1"]
    delivered = {d.to: d for d in setup.fake.delivered}
    assert 'href="https://example.org/u?id=2&amp;t=x"' in delivered["r2@example.org"].html
    assert "Unsubscribe: https://example.org/u?id=2&t=x\n" in delivered["r2@example.org"].text
    assert 'href="https://example.org/unsubscribe/1.tok1"' in delivered["r1@example.org"].html


def test_one_recipient_gets_plain_headers(setup: Setup) -> None:
    [person] = recipients(1)
    setup.make().send(batch([person]))
    form = setup.fake.requests[0].form()
    assert form["h:List-Unsubscribe"] == [batch([person]).headers(person)["List-Unsubscribe"]]
    assert setup.fake.delivered[0].headers["List-Unsubscribe"] == form["h:List-Unsubscribe"][0]


def test_scheduled_delivery_is_an_rfc_2822_date(setup: Setup, fake: MailgunFake) -> None:
    at = dt.datetime(2030, 8, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    fake.schedule_days = 365 * 20  # the fake checks "at most 3 days ahead" against today
    setup.make().send(batch(recipients(2), send_at=at))
    [when] = setup.fake.requests[0].form()["o:deliverytime"]
    assert when == "Thu, 01 Aug 2030 14:00:00 GMT"
    assert email.utils.parsedate_to_datetime(when) == at


def test_the_fake_refuses_a_delivery_time_too_far_ahead(setup: Setup) -> None:
    at = dt.datetime.now(dt.UTC) + dt.timedelta(days=4)
    with pytest.raises(ProviderError, match="at most 3 days ahead") as refused:
        setup.make().send(batch(recipients(1), send_at=at))
    assert refused.value.status == 400 and not refused.value.transient


def test_sending_limit_420_waits_until_the_stated_time(setup: Setup) -> None:
    then = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90), usegmt=True)
    words = f"Domain {DOMAIN} is not allowed to send: recipient limit exceeded, try again after {then[:-3]}UTC"
    setup.fake.fail(Fault(status=420, body={"message": words}))
    with pytest.raises(ProviderError) as limited:
        setup.make().send(batch(recipients(2)))
    assert (limited.value.status, limited.value.transient, limited.value.maybe_sent) == (420, True, False)
    assert limited.value.retry_after == pytest.approx(90, abs=2)
    assert "recipient limit exceeded" in str(limited.value)


def test_unknown_domain_says_what_to_check(setup: Setup) -> None:
    with pytest.raises(ProviderError) as missing:
        setup.make(domain="mg.example.net").send(batch(recipients(1)))
    assert missing.value.status == 404 and not missing.value.transient
    assert str(missing.value).startswith(
        "mailgun (HTTP 404): Domain not found: mg.example.net: check domain = 'mg.example.net' in "
        "[providers.mailgun], and base_url (a domain in Mailgun's EU region needs https://api.eu.mailgun.net)"
    )


def test_wrong_key_names_the_variable(setup: Setup) -> None:
    with pytest.raises(ProviderError) as refused:
        setup.make(api_key="wrong-key-value").send(batch(recipients(1)))
    assert str(refused.value) == (
        "mailgun (HTTP 401): Mailgun refused the API key: check ACTIONMAIL_MAILGUN_API_KEY, and that base_url is "
        "the domain's region: Forbidden"
    )


def test_a_200_without_an_id_is_not_taken_for_success(setup: Setup) -> None:
    setup.fake.fail(Fault(status=200, body="Mailgun Magnificent API"))  # what a bad endpoint gets (anymail)
    with pytest.raises(ProviderError, match="without a message id") as odd:
        setup.make().send(batch(recipients(1)))
    assert odd.value.maybe_sent and not odd.value.transient


def test_a_redirect_is_not_followed(setup: Setup) -> None:
    setup.fake.fail(Fault(status=307, headers={"Location": "https://elsewhere.example/v3/x/messages"}))
    with pytest.raises(ProviderError, match=r"redirect to https://elsewhere\.example/") as moved:
        setup.make().send(batch(recipients(1)))
    assert moved.value.status == 307 and not moved.value.transient
    assert len(setup.fake.requests) == 1


def test_missing_secret_names_the_variable(fake: MailgunFake) -> None:
    provider = Mailgun(MailgunSettings(domain=DOMAIN, base_url=fake.url), environ={})  # a dry run needs no key
    with pytest.raises(MissingCredentials, match=f"set the environment variable {VARIABLE}$"):
        provider.send(batch(recipients(1)))
    assert fake.requests == []


def test_settings() -> None:
    assert MailgunSettings(domain=DOMAIN).base_url == "https://api.mailgun.net"
    eu = Mailgun(MailgunSettings(domain=DOMAIN, base_url="https://api.eu.mailgun.net"), environ={VARIABLE: SECRET})
    assert eu.url(f"v3/{DOMAIN}/messages") == f"https://api.eu.mailgun.net/v3/{DOMAIN}/messages"
    eu.close()
    with pytest.raises(pydantic.ValidationError, match="api_key"):
        MailgunSettings.model_validate({"domain": DOMAIN, "api_key": SECRET})  # secrets never in settings
    with pytest.raises(pydantic.ValidationError, match="domain"):
        MailgunSettings.model_validate({})
    with pytest.raises(pydantic.ValidationError, match="not a sending domain"):
        MailgunSettings(domain="https://mg.example.org/")
