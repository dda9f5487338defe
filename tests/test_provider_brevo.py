"""Brevo against its fake: the shared contract, then what is Brevo's own (template params, idempotency, scheduling)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator

import pydantic
import pytest

from actionmail.config.providers import BrevoSettings
from actionmail.merge import Merge
from actionmail.providers import provider_class
from actionmail.providers.base import MissingCredentials, ProviderError
from actionmail.providers.brevo import NAMESPACE, Brevo, template
from tests import contract
from tests.conftest import Clock
from tests.contract import Setup, batch, recipients
from tests.fakes.brevo import BrevoFake, rate_limited, render
from tests.fakes.server import Fault

SECRET = "xkeysib-test-not-secret"
VARIABLE = "ACTIONMAIL_BREVO_API_KEY"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[BrevoFake]:
    with BrevoFake(api_key=SECRET, clock=clock) as server:
        yield server


@pytest.fixture
def setup(fake: BrevoFake) -> Iterator[Setup]:
    def build(api_key: str | None, settings: dict[str, object]) -> Brevo:
        provider = Brevo(
            BrevoSettings.model_validate({"base_url": fake.url, **settings}), environ={VARIABLE: api_key or SECRET}
        )
        return provider

    with contract.setup_for(fake, build) as made:
        yield made


# --- the shared contract ---------------------------------------------------------------------------------------


class TestContract(contract.ContractTests):
    secret = SECRET


def test_batches_respect_the_provider_limit(setup: Setup) -> None:
    contract.check_batches_respect_the_provider_limit(setup)
    assert len(setup.fake.requests[-1].json()["messageVersions"]) == 1001  # refused by the fake, not split by us


def test_rate_limited(setup: Setup) -> None:
    contract.check_rate_limited(setup, rate_limited(reset=9), 9.0)


def test_bad_request_carries_the_provider_message(setup: Setup) -> None:
    body = {"code": "invalid_parameter", "message": "valid sender email required"}
    contract.check_bad_request_carries_the_provider_message(
        setup, Fault(status=400, body=body), "valid sender email required (invalid_parameter)"
    )


# --- Brevo's own ------------------------------------------------------------------------------------------------


def test_one_template_and_a_version_per_recipient(setup: Setup) -> None:
    sent = batch(recipients(3))
    setup.make().send(sent)
    (request,) = setup.fake.requests
    assert request.path == "/v3/smtp/email" and request.headers["api-key"] == SECRET
    body = request.json()
    assert body["sender"] == {"email": "action@example.org", "name": "Seattle Indivisible"}
    assert body["replyTo"] == {"email": "info@example.org"}
    assert body["subject"] == "{% autoescape off %}{{ params.s0 }}, call the mayor{% endautoescape %}"
    assert "<p>Hi {{ params.h0 }} &amp; co,</p>" in body["htmlContent"]
    assert '<a href="{{ params.h1 }}">' in body["htmlContent"]
    assert body["textContent"].startswith("{% autoescape off %}Hi {{ params.t0 }},\n")
    assert body["tags"] == ["2019-08-01-no-police-facial-recognition"]
    assert body["headers"]["idempotencyKey"] == str(uuid.uuid5(NAMESPACE, "batch-1"))
    assert "params" not in body and "scheduledAt" not in body
    zoe = body["messageVersions"][1]
    assert zoe["to"] == [{"email": "r1@example.org", "name": "Zoë <Q>"}]
    assert zoe["params"] == {
        "s0": "Zoë <Q>",  # the subject is not HTML
        "h0": "Zoë &lt;Q&gt;",  # the body is, and Brevo's own escaping is off
        "h1": "https://example.org/unsubscribe/1.tok1",
        "t0": "Zoë <Q>",
        "t1": "https://example.org/unsubscribe/1.tok1",
    }
    assert zoe["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert '"send_id": "send-1"' in zoe["headers"]["X-Mailin-custom"]
    assert body["messageVersions"][0]["to"] == [{"email": "r0@example.org"}]  # no name, none sent


def test_text_that_looks_like_template_syntax_arrives_as_written(setup: Setup) -> None:
    people = recipients(2)
    odd = "<p>{{ not ours }} {% if x %} {# x #} {{first_name}}</p>"
    sent = dataclasses.replace(batch(people), html=Merge.parse(odd, escape=True))
    setup.make().send(sent)
    for person, got in zip(people, setup.fake.delivered, strict=True):
        assert got.html == sent.html.fill(person.values)


def test_the_template_language_subset() -> None:
    assert render("{{ params.a }}|{% autoescape off %}{{params.a}}{% endautoescape %}", {"a": "<b>"}) == (
        "&lt;b&gt;|<b>"
    )
    text, constants = template(Merge.parse("x {{ y {first_name} {", escape=False), "t")
    assert render(text, {**constants, "t0": "Ana"}) == "x {{ y Ana {"


def test_non_ascii_header_values_are_encoded(setup: Setup) -> None:
    setup.make().send(batch(recipients(1), list_id="Acción diaria <daily-action.example.org>"))
    headers = setup.fake.requests[0].json()["messageVersions"][0]["headers"]
    assert headers["List-Id"] == "=?utf-8?q?Acci=C3=B3n?= diaria <daily-action.example.org>"


def test_a_repeated_batch_is_answered_not_sent_again(setup: Setup) -> None:
    provider = setup.make()
    sent = batch(recipients(4))
    setup.fake.fail(Fault(drop=True, after_handling=True))
    with pytest.raises(ProviderError) as lost:
        provider.send(sent)
    assert lost.value.transient and lost.value.maybe_sent and Brevo.idempotent
    assert len(setup.fake.delivered) == 4

    result = provider.send(sent)
    assert len(setup.fake.delivered) == 4  # processed once
    assert result.accepted == {str(i): d.message_id for i, d in enumerate(setup.fake.delivered)}


def test_the_idempotency_key_lasts_30_minutes(setup: Setup, clock: Clock) -> None:
    provider = setup.make()
    provider.send(batch(recipients(1)))
    clock.now += 30 * 60 + 1
    provider.send(batch(recipients(1)))
    assert len(setup.fake.delivered) == 2


def test_scheduled_with_a_batch_id(setup: Setup) -> None:
    when = dt.datetime(2030, 1, 2, 9, 30, 15, 250000, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    result = setup.make().send(batch(recipients(2), send_at=when))
    body = setup.fake.requests[0].json()
    assert body["scheduledAt"] == "2030-01-02T17:30:15.250Z"
    assert uuid.UUID(body["batchId"]) and Brevo.can_schedule
    assert result.accepted == {"0": body["batchId"], "1": body["batchId"]}  # the 202 has no message ids


def test_an_answer_without_ids_may_have_sent(setup: Setup) -> None:
    setup.fake.fail(Fault(status=201, body={}))
    with pytest.raises(ProviderError, match="without a message id") as odd:
        setup.make().send(batch(recipients(2)))
    assert odd.value.maybe_sent and not odd.value.transient


def test_a_wrong_key_is_named(setup: Setup) -> None:
    with pytest.raises(ProviderError, match=f"check {VARIABLE}") as refused:
        setup.make(api_key="xkeysib-wrong").send(batch(recipients(1)))
    assert refused.value.status == 401 and not refused.value.transient


def test_a_missing_key_names_the_variable(setup: Setup) -> None:
    with pytest.raises(MissingCredentials, match=f"brevo needs its API key: set the environment variable {VARIABLE}"):
        Brevo(BrevoSettings(base_url=setup.fake.url), environ={}).send(batch(recipients(1)))
    assert setup.fake.requests == []


@pytest.mark.parametrize("status", [400, 402, 403])
def test_client_errors_are_permanent(setup: Setup, status: int) -> None:
    setup.fake.fail(Fault(status=status, body={"code": "not_enough_credits", "message": "Not enough credits"}))
    with pytest.raises(ProviderError, match=r"Not enough credits \(not_enough_credits\)") as refused:
        setup.make().send(batch(recipients(1)))
    assert not refused.value.transient


def test_settings() -> None:
    assert BrevoSettings().base_url == "https://api.brevo.com"
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        BrevoSettings.model_validate({"sandbox": True})


def test_registered() -> None:
    assert provider_class("brevo") is Brevo
