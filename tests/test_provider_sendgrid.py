"""SendGrid against its fake: the shared contract, then what is SendGrid's own (personalizations, limits)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator

import pydantic
import pytest
import requests

from actionmail.config.providers import SendGridSettings
from actionmail.providers import provider_class
from actionmail.providers.base import MissingCredentials, ProviderError, Recipient
from actionmail.providers.sendgrid import SendGrid
from tests import contract
from tests.contract import Setup, batch, recipients
from tests.fakes.sendgrid import SendGridFake
from tests.fakes.server import Fault

SECRET = "test-key-not-secret"
VARIABLE = "ACTIONMAIL_SENDGRID_API_KEY"


@pytest.fixture
def fake() -> Iterator[SendGridFake]:
    with SendGridFake(api_key=SECRET) as server:
        yield server


@pytest.fixture
def setup(fake: SendGridFake) -> Iterator[Setup]:
    def build(api_key: str | None, settings: dict[str, object]) -> SendGrid:
        fields: dict[str, object] = {"base_url": fake.url, **settings}
        provider = SendGrid(SendGridSettings.model_validate(fields), environ={VARIABLE: api_key or SECRET})
        return provider

    with contract.setup_for(fake, build) as made:
        yield made


# --- the shared contract ---------------------------------------------------------------------------------------


class TestContract(contract.ContractTests):
    secret = SECRET


def test_batches_respect_the_provider_limit(setup: Setup) -> None:
    contract.check_batches_respect_the_provider_limit(setup)
    assert len(setup.fake.requests[-1].json()["personalizations"]) == 1001  # refused by the fake, not by us


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        ({"Retry-After": "12"}, 12.0),
        ({"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "+30"}, 30.0),
        ({}, None),  # mail/send may carry no rate-limit headers at all (sendgrid-go#105)
    ],
)
def test_rate_limited(setup: Setup, headers: dict[str, str], retry_after: float | None) -> None:
    if headers.get("X-RateLimit-Reset") == "+30":
        headers = {**headers, "X-RateLimit-Reset": str(int(time.time()) + 30)}
    fault = Fault(status=429, body={"errors": [{"message": "too many requests", "field": None}]}, headers=headers)
    contract.check_rate_limited(setup, fault, retry_after)


def test_bad_request_carries_the_provider_message(setup: Setup) -> None:
    words = "The from address does not match a verified Sender Identity."
    fault = Fault(status=403, body={"errors": [{"message": words, "field": "from", "help": None}]})
    contract.check_bad_request_carries_the_provider_message(setup, fault, f"{words} (field from)")


# --- SendGrid's own --------------------------------------------------------------------------------------------


def test_the_registry_finds_it() -> None:
    assert provider_class("sendgrid") is SendGrid
    assert (SendGrid.max_batch, SendGrid.can_schedule, SendGrid.idempotent) == (1000, True, False)


def test_one_personalization_per_recipient(setup: Setup) -> None:
    people = recipients(3)
    result = setup.make().send(batch(people))
    (request,) = setup.fake.requests
    assert request.path == "/v3/mail/send" and request.headers["content-type"] == "application/json"
    mail = request.json()
    assert mail["from"] == {"email": "action@example.org", "name": "Seattle Indivisible"}
    assert mail["reply_to"] == {"email": "info@example.org"}
    assert mail["categories"] == ["2019-08-01-no-police-facial-recognition"]
    assert mail["custom_args"] == {"send_id": "send-1"}
    assert "send_at" not in mail and "subject" not in mail
    assert [c["type"] for c in mail["content"]] == ["text/plain", "text/html"]
    assert mail["content"][0]["value"].startswith("Hi -am-t0-,\n")
    assert 'href="-am-h1-"' in mail["content"][1]["value"]
    first, second, _ = mail["personalizations"]
    assert first["to"] == [{"email": "r0@example.org"}] and second["to"] == [
        {"email": "r1@example.org", "name": "Zoë <Q>"}
    ]
    assert (first["subject"], second["subject"]) == ("Friend, call the mayor", "Zoë <Q>, call the mayor")
    assert second["substitutions"] == {
        "-am-h0-": "Zoë &lt;Q&gt;",
        "-am-h1-": "https://example.org/unsubscribe/1.tok1",
        "-am-t0-": "Zoë <Q>",
        "-am-t1-": "https://example.org/unsubscribe/1.tok1",
    }
    assert second["headers"] == batch(people).headers(people[1])
    assert set(result.accepted.values()) == {"fake0001SendGridId"}  # the X-Message-Id of the call
    assert SECRET not in request.body.decode()


def test_a_name_with_a_comma_is_quoted(setup: Setup) -> None:
    person = dataclasses.replace(recipients(1)[0], name="Pérez, Ana")
    setup.make().send(batch([person]))
    assert setup.fake.requests[0].json()["personalizations"][0]["to"] == [
        {"email": "r0@example.org", "name": '"Pérez, Ana"'}
    ]  # sendgrid-python#291


def test_scheduled_delivery_is_a_unix_time(setup: Setup) -> None:
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).replace(microsecond=500_000)
    setup.make().send(batch(recipients(2), send_at=at))
    assert setup.fake.requests[0].json()["send_at"] == int(at.timestamp())


def test_the_fake_refuses_a_send_at_too_far_ahead(setup: Setup) -> None:
    with pytest.raises(ProviderError, match="at most 72 hours ahead") as refused:
        setup.make().send(batch(recipients(1), send_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=73)))
    assert refused.value.status == 400 and not refused.value.transient


def test_merge_values_over_the_substitutions_limit_are_refused_for_that_recipient(setup: Setup) -> None:
    people = recipients(3)
    people[1] = dataclasses.replace(people[1], values={**people[1].values, "first_name": "x" * 6000})
    result = setup.make().send(batch(people))
    assert set(result.accepted) == {"0", "2"}
    assert result.rejected == {
        "1": "this recipient's merge values take 12,136 bytes, over SendGrid's 10,000 per message: shorten their "
        "custom fields"
    }
    assert [d.to for d in setup.fake.delivered] == ["r0@example.org", "r2@example.org"]


def test_when_nobody_is_left_nothing_is_sent(setup: Setup) -> None:
    [person] = recipients(1)
    person = dataclasses.replace(person, values={"first_name": "x" * 9000})
    result = setup.make().send(batch([person]))
    assert not result.accepted and set(result.rejected) == {"0"}
    assert setup.fake.requests == []


def test_the_fake_refuses_a_duplicate_address(setup: Setup) -> None:
    people = [*recipients(2), Recipient("9", "R1@example.org", None, {})]
    with pytest.raises(ProviderError, match=r"duplicate instance of \[R1@example.org\]") as refused:
        setup.make().send(batch(people))
    assert refused.value.status == 400 and not refused.value.transient
    assert setup.fake.delivered == []


def test_the_fake_counts_every_recipient(fake: SendGridFake) -> None:
    mail = {
        "from": {"email": "action@example.org"},
        "subject": "Hi",
        "content": [{"type": "text/plain", "value": "Hi"}],
        "personalizations": [
            {"to": [{"email": f"a{i}@example.org"}], "cc": [{"email": f"b{i}@example.org"}]} for i in range(501)
        ],
    }
    answer = requests.post(f"{fake.url}/v3/mail/send", json=mail, headers={"Authorization": f"Bearer {SECRET}"})
    assert answer.status_code == 400
    assert (
        answer.json()["errors"][0]["message"]
        == "There is a limit of 1000 total recipients (to + cc + bcc) per request."
    )
    mail["mail_settings"] = {"sandbox_mode": {"enable": True}}
    mail["personalizations"] = mail["personalizations"][:2]
    answer = requests.post(f"{fake.url}/v3/mail/send", json=mail, headers={"Authorization": f"Bearer {SECRET}"})
    assert answer.status_code == 200 and fake.delivered == []  # sandbox: validated, not sent


def test_wrong_key_names_the_variable(setup: Setup) -> None:
    with pytest.raises(ProviderError) as refused:
        setup.make(api_key="wrong-key-value").send(batch(recipients(1)))
    assert str(refused.value).startswith(
        "sendgrid (HTTP 401): authorization required: check the API key in ACTIONMAIL_SENDGRID_API_KEY: "
    )


def test_missing_secret_names_the_variable(fake: SendGridFake) -> None:
    provider = SendGrid(SendGridSettings(base_url=fake.url), environ={})  # a dry run needs no key
    with pytest.raises(MissingCredentials, match=f"set the environment variable {VARIABLE}$"):
        provider.send(batch(recipients(1)))
    assert fake.requests == []


def test_settings() -> None:
    assert SendGridSettings().base_url == "https://api.sendgrid.com"
    with pytest.raises(pydantic.ValidationError, match="api_key"):
        SendGridSettings.model_validate({"api_key": SECRET})  # secrets never in settings


def test_a_2xx_without_a_message_id_may_have_sent(setup: Setup) -> None:
    setup.fake.fail(Fault(status=202, body=b""))  # not SendGrid's answer: no X-Message-Id
    with pytest.raises(ProviderError, match="without X-Message-Id") as odd:
        setup.make().send(batch(recipients(2)))
    assert odd.value.maybe_sent and not odd.value.transient
