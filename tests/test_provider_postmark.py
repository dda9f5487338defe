"""Postmark against its fake: the shared contract, then what is Postmark's own (per-message results, streams)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pydantic
import pytest

from actionmail.config.providers import PostmarkSettings
from actionmail.providers import provider_class
from actionmail.providers.base import MissingCredentials, ProviderError
from actionmail.providers.postmark import Postmark
from tests import contract
from tests.contract import Setup, batch, recipients
from tests.fakes.postmark import INACTIVE, NOT_A_SENDER, TEST_TOKEN, PostmarkFake
from tests.fakes.server import Fault

SECRET = "test-key-not-secret"
VARIABLE = "ACTIONMAIL_POSTMARK_API_KEY"


@pytest.fixture
def fake() -> Iterator[PostmarkFake]:
    with PostmarkFake(token=SECRET) as server:
        yield server


@pytest.fixture
def setup(fake: PostmarkFake) -> Iterator[Setup]:
    def build(api_key: str | None, settings: dict[str, object]) -> Postmark:
        fields: dict[str, object] = {"base_url": fake.url, **settings}
        provider = Postmark(PostmarkSettings.model_validate(fields), environ={VARIABLE: api_key or SECRET})
        return provider

    with contract.setup_for(fake, build) as made:
        yield made


def ok(to: str, message: str = "OK") -> dict[str, object]:
    return {
        "ErrorCode": 0,
        "Message": message,
        "MessageID": f"id-{to}",
        "SubmittedAt": "2019-08-01T07:00:00Z",
        "To": to,
    }


# --- the shared contract ---------------------------------------------------------------------------------------


class TestContract(contract.ContractTests):
    secret = SECRET


def test_batches_respect_the_provider_limit(setup: Setup) -> None:
    contract.check_batches_respect_the_provider_limit(setup)
    assert len(setup.fake.requests[-1].json()) == 501  # refused by the fake, not by us


@pytest.mark.parametrize(("headers", "retry_after"), [({}, None), ({"Retry-After": "5"}, 5.0)])
def test_rate_limited(setup: Setup, headers: dict[str, str], retry_after: float | None) -> None:
    # Postmark documents no rate-limit header; a Retry-After is honoured if one comes.
    fault = Fault(status=429, body={"ErrorCode": 429, "Message": "Rate limit exceeded."}, headers=headers)
    contract.check_rate_limited(setup, fault, retry_after)


def test_bad_request_carries_the_provider_message(setup: Setup) -> None:
    fault = Fault(status=422, body={"ErrorCode": 402, "Message": "Received invalid JSON input."})
    contract.check_bad_request_carries_the_provider_message(
        setup, fault, "Received invalid JSON input. (ErrorCode 402)"
    )


# --- Postmark's own --------------------------------------------------------------------------------------------


def test_the_registry_finds_it() -> None:
    assert provider_class("postmark") is Postmark
    assert (Postmark.max_batch, Postmark.can_schedule, Postmark.idempotent) == (500, False, False)


def test_one_complete_message_per_recipient(setup: Setup) -> None:
    people = recipients(2)
    result = setup.make().send(batch(people))
    (request,) = setup.fake.requests
    assert request.path == "/email/batch" and request.headers["accept"] == "application/json"
    first, second = request.json()
    subject, html, text = batch(people).content(people[1])
    assert second == {
        "From": "Seattle Indivisible <action@example.org>",
        "To": '"Zoë <Q>" <r1@example.org>',
        "ReplyTo": "info@example.org",
        "Subject": subject,
        "HtmlBody": html,
        "TextBody": text,
        "Headers": [{"Name": n, "Value": v} for n, v in batch(people).headers(people[1]).items()],
        "Tag": "2019-08-01-no-police-facial-recognition",
        "Metadata": {"send_id": "send-1"},
        "MessageStream": "broadcast",
    }
    assert first["To"] == "r0@example.org" and first["Subject"] == "Friend, call the mayor"
    assert result.accepted == {"0": "00000000-0000-0000-0000-000000000001", "1": "00000000-0000-0000-0000-000000000002"}
    assert SECRET not in request.body.decode()


def test_another_message_stream(setup: Setup) -> None:
    setup.make(message_stream="daily-action").send(batch(recipients(1)))
    assert setup.fake.requests[0].json()[0]["MessageStream"] == "daily-action"


def test_an_inactive_recipient_is_rejected_and_the_rest_sent(setup: Setup, fake: PostmarkFake) -> None:
    fake.inactive.add("r1@example.org")
    result = setup.make().send(batch(recipients(3)))
    assert set(result.accepted) == {"0", "2"}
    assert result.rejected == {"1": INACTIVE.format("r1@example.org") + " (ErrorCode 406)"}
    assert [d.to for d in fake.delivered] == ["r0@example.org", "r2@example.org"]


def test_an_invalid_address_is_rejected(setup: Setup) -> None:
    people = recipients(2)
    people[0] = dataclasses.replace(people[0], email="not-an-address")
    result = setup.make().send(batch(people))
    assert set(result.accepted) == {"1"}
    assert result.rejected == {"0": "Invalid 'To' address: 'not-an-address'. (ErrorCode 300)"}


def test_ok_but_inactive_is_rejected(setup: Setup) -> None:
    # ErrorCode 0 whose message names the address it won't deliver to (anymail's Postmark tests).
    inactive = (
        "Message OK, but will not deliver to these inactive addresses: r1@example.org. Inactive recipients are ones "
        "that have generated a hard bounce or a spam complaint."
    )
    setup.fake.fail(Fault(status=200, body=[ok("r0@example.org"), ok("r1@example.org", inactive)]))
    result = setup.make().send(batch(recipients(2)))
    assert result.accepted == {"0": "id-r0@example.org"} and result.rejected == {"1": inactive}


def test_delayed_is_accepted(setup: Setup) -> None:
    delayed = {"Message": "Message accepted, but delivery may be delayed.", "MessageID": "id-1", "To": "r0@example.org"}
    setup.fake.fail(Fault(status=200, body=[delayed]))  # no ErrorCode at all (anymail#392)
    assert setup.make().send(batch(recipients(1))).accepted == {"0": "id-1"}


def test_every_message_refused_for_the_account_raises(setup: Setup) -> None:
    with pytest.raises(ProviderError) as refused:
        setup.make().send(batch(recipients(3), from_="Seattle Indivisible <news@example.org>"))
    assert (refused.value.status, refused.value.transient, refused.value.maybe_sent) == (200, False, False)
    assert str(refused.value) == (
        "postmark (HTTP 200): every message was refused: "
        + NOT_A_SENDER.format("Seattle Indivisible <news@example.org>")
        + " (ErrorCode 400)"
    )
    assert setup.fake.delivered == []


def test_every_message_rate_limited_is_transient(setup: Setup) -> None:
    limited = {"ErrorCode": 429, "Message": "Rate limit exceeded."}
    setup.fake.fail(Fault(status=200, body=[limited, limited]))
    with pytest.raises(ProviderError, match="Rate limit exceeded") as refused:
        setup.make().send(batch(recipients(2)))
    assert refused.value.transient and not refused.value.maybe_sent


def test_some_messages_refused_for_the_account_are_rejected(setup: Setup) -> None:
    setup.fake.fail(
        Fault(status=200, body=[ok("r0@example.org"), {"ErrorCode": 405, "Message": "Not allowed to send"}])
    )
    result = setup.make().send(batch(recipients(2)))
    assert result.accepted == {"0": "id-r0@example.org"}
    assert result.rejected == {"1": "Not allowed to send (ErrorCode 405)"}


def test_an_answer_that_does_not_match_the_batch_is_an_error(setup: Setup) -> None:
    setup.fake.fail(Fault(status=200, body=[ok("r0@example.org")]))
    with pytest.raises(ProviderError, match="without one result per message") as odd:
        setup.make().send(batch(recipients(2)))
    assert odd.value.maybe_sent and not odd.value.transient


def test_the_test_token_validates_and_delivers_nothing(setup: Setup) -> None:
    result = setup.make(api_key=TEST_TOKEN).send(batch(recipients(2)))
    assert set(result.accepted) == {"0", "1"} and setup.fake.delivered == []


def test_wrong_token_names_the_variable(setup: Setup) -> None:
    with pytest.raises(ProviderError) as refused:
        setup.make(api_key="wrong-key-value").send(batch(recipients(1)))
    assert str(refused.value).startswith(
        "postmark (HTTP 401): The Server Token you provided in the X-Postmark-Server-Token request header was "
        "invalid. Please verify that you are using a valid token. (ErrorCode 10): put the server's API token in "
        "ACTIONMAIL_POSTMARK_API_KEY: "
    )


def test_missing_secret_names_the_variable(fake: PostmarkFake) -> None:
    provider = Postmark(PostmarkSettings(base_url=fake.url), environ={})  # a dry run needs no token
    with pytest.raises(MissingCredentials, match=f"set the environment variable {VARIABLE}$"):
        provider.send(batch(recipients(1)))
    assert fake.requests == []


def test_settings() -> None:
    settings = PostmarkSettings()
    assert (settings.base_url, settings.message_stream) == ("https://api.postmarkapp.com", "broadcast")
    with pytest.raises(pydantic.ValidationError, match="server_token"):
        PostmarkSettings.model_validate({"server_token": SECRET})  # secrets never in settings
    with pytest.raises(pydantic.ValidationError, match="message_stream"):
        PostmarkSettings(message_stream="")
