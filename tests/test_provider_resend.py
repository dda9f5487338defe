"""Resend against its fake: the shared contract, then what is Resend's own (idempotency keys, 409s, quotas)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pydantic
import pytest

from actionmail.config.providers import ResendSettings
from actionmail.providers import provider_class
from actionmail.providers.base import MissingCredentials, ProviderError
from actionmail.providers.resend import Resend, idempotency_key
from tests import contract
from tests.conftest import Clock
from tests.contract import Setup, batch, recipients
from tests.fakes.resend import ResendFake, rate_limited
from tests.fakes.server import Fault

SECRET = "re_test_key_not_secret"
VARIABLE = "ACTIONMAIL_RESEND_API_KEY"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[ResendFake]:
    with ResendFake(api_key=SECRET, clock=clock) as server:
        yield server


@pytest.fixture
def setup(fake: ResendFake) -> Iterator[Setup]:
    def build(api_key: str | None, settings: dict[str, object]) -> Resend:
        provider = Resend(
            ResendSettings.model_validate({"base_url": fake.url, **settings}), environ={VARIABLE: api_key or SECRET}
        )
        return provider

    with contract.setup_for(fake, build) as made:
        yield made


# --- the shared contract ---------------------------------------------------------------------------------------


class TestContract(contract.ContractTests):
    secret = SECRET


def test_batches_respect_the_provider_limit(setup: Setup) -> None:
    contract.check_batches_respect_the_provider_limit(setup)
    assert len(setup.fake.requests[-1].json()) == 101  # refused by the fake, not split by us


@pytest.mark.parametrize(("seconds", "retry_after"), [(3, 3.0), (1, 1.0)])
def test_rate_limited(setup: Setup, seconds: int, retry_after: float) -> None:
    contract.check_rate_limited(setup, rate_limited(seconds), retry_after)


def test_rate_limited_without_retry_after_uses_ratelimit_reset(setup: Setup) -> None:
    fault = rate_limited(4)
    del fault.headers["retry-after"]
    contract.check_rate_limited(setup, fault, 4.0)


def test_bad_request_carries_the_provider_message(setup: Setup) -> None:
    body = {"statusCode": 422, "message": "Invalid `from` field.", "name": "invalid_from_address"}
    contract.check_bad_request_carries_the_provider_message(
        setup, Fault(status=422, body=body), "Invalid `from` field. (invalid_from_address)"
    )


# --- Resend's own ----------------------------------------------------------------------------------------------


def test_one_call_with_the_batch_id_as_idempotency_key(setup: Setup) -> None:
    sent = batch(recipients(3), batch_id="send-1/variant-en/0")
    setup.make().send(sent)
    (request,) = setup.fake.requests
    assert request.path == "/emails/batch"
    assert request.headers["idempotency-key"] == "send-1/variant-en/0"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    first = request.json()[1]
    assert first["to"] == [sent.to(sent.recipients[1])]  # "Zoë <Q>" RFC 2047-encoded, a valid header value
    assert first["reply_to"] == "info@example.org"
    assert first["tags"] == [
        {"name": "tag", "value": "2019-08-01-no-police-facial-recognition"},
        {"name": "send_id", "value": "send-1"},
    ]
    assert first["headers"]["List-Id"] == "Daily action <daily-action.example.org>"
    assert "scheduled_at" not in first and "attachments" not in first


def test_a_long_batch_id_is_hashed_to_fit() -> None:
    assert idempotency_key("b" * 256) == "b" * 256
    assert len(idempotency_key("b" * 257)) == 64 and idempotency_key("b" * 257) == idempotency_key("b" * 257)


def test_tags_keep_only_what_resend_allows(setup: Setup) -> None:
    setup.make().send(batch(recipients(1), tag="2019-08-01 café/ñ", send_id="42"))
    assert setup.fake.requests[0].json()[0]["tags"][0] == {"name": "tag", "value": "2019-08-01_caf___"}


def test_a_repeated_batch_is_answered_not_sent_again(setup: Setup) -> None:
    """The call went through but the answer was lost: the engine repeats the same batch id, nothing is sent twice."""
    provider = setup.make()
    sent = batch(recipients(5))
    setup.fake.fail(Fault(drop=True, after_handling=True))
    with pytest.raises(ProviderError) as lost:
        provider.send(sent)
    assert lost.value.transient and lost.value.maybe_sent and Resend.idempotent
    assert len(setup.fake.delivered) == 5

    result = provider.send(sent)
    assert len(setup.fake.delivered) == 5  # nothing delivered again
    assert result.accepted == {str(i): d.message_id for i, d in enumerate(setup.fake.delivered)}


def test_a_batch_id_reused_for_other_recipients_is_refused(setup: Setup) -> None:
    provider = setup.make()
    provider.send(batch(recipients(2)))
    with pytest.raises(ProviderError) as reused:
        provider.send(batch(recipients(2, start=2)))  # same batch id, another body
    assert (reused.value.status, reused.value.transient) == (409, False)
    assert "invalid_idempotent_request" in str(reused.value)
    assert len(setup.fake.delivered) == 2


def test_keys_expire_after_a_day(setup: Setup, clock: Clock) -> None:
    provider = setup.make()
    provider.send(batch(recipients(1)))
    clock.now += 24 * 3600 + 1
    provider.send(batch(recipients(1)))
    assert len(setup.fake.delivered) == 2  # why the engine resends an uncertain batch within the day


def test_a_concurrent_request_with_the_same_key_is_retried(setup: Setup) -> None:
    body = {"statusCode": 409, "message": "Same key in progress", "name": "concurrent_idempotent_requests"}
    setup.fake.fail(Fault(status=409, body=body))
    with pytest.raises(ProviderError) as busy:
        setup.make().send(batch(recipients(1)))
    assert busy.value.transient and not busy.value.maybe_sent


@pytest.mark.parametrize("name", ["daily_quota_exceeded", "monthly_quota_exceeded"])
def test_a_spent_quota_stops_the_send(setup: Setup, name: str) -> None:
    setup.fake.fail(rate_limited(60, name=name))
    with pytest.raises(ProviderError) as spent:
        setup.make().send(batch(recipients(1)))
    assert spent.value.status == 429 and not spent.value.transient
    assert "once the quota renews" in str(spent.value)


def test_a_missing_key_names_the_variable(setup: Setup) -> None:
    with pytest.raises(MissingCredentials, match=f"resend needs its API key: set the environment variable {VARIABLE}"):
        Resend(ResendSettings(base_url=setup.fake.url), environ={}).send(batch(recipients(1)))
    assert setup.fake.requests == []


def test_the_key_is_checked_by_the_fake(setup: Setup) -> None:
    with pytest.raises(ProviderError, match=f"check {VARIABLE}") as refused:
        setup.make(api_key="re_wrong").send(batch(recipients(1)))
    assert refused.value.status == 403 and "invalid_api_key" in str(refused.value)


def test_scheduling_is_refused_before_anything_is_sent(setup: Setup) -> None:
    assert not Resend.can_schedule
    with pytest.raises(ProviderError, match="cannot schedule") as refused:
        setup.make().send(batch(recipients(2), send_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)))
    assert not refused.value.transient and setup.fake.requests == []


def test_settings() -> None:
    assert ResendSettings().base_url == "https://api.resend.com"
    with pytest.raises(pydantic.ValidationError, match="api_key"):
        ResendSettings.model_validate({"api_key": "re_x"})
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        ResendSettings.model_validate({"region": "eu"})


def test_registered() -> None:
    assert provider_class("resend") is Resend
