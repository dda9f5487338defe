"""SES against its fake (botocore signing real SigV4 requests): the shared contract, then what is SES's own."""

from __future__ import annotations

import base64
import datetime as dt
import email.parser
import email.policy
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest

from actionmail.config.providers import SESSettings
from actionmail.providers import provider_class
from actionmail.providers.base import MissingCredentials, ProviderError
from actionmail.providers.ses import SES
from tests import contract
from tests.contract import Setup, batch, recipients
from tests.fakes.server import Fault
from tests.fakes.ses import SESFake, fault
from tests.fakes.smtp import free_port

KEY_ID, SECRET = "AKIATESTNOTAREALKEY0", "test/secret/not+a+real+one+0000000000000"


@pytest.fixture(autouse=True)
def no_aws_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No real credentials, config files or instance metadata: botocore must find only what a test gives it."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask 169.254.169.254
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)


@pytest.fixture
def fake() -> Iterator[SESFake]:
    with SESFake(KEY_ID, SECRET, verified=("example.org",)) as server:
        yield server


@pytest.fixture
def setup(fake: SESFake) -> Iterator[Setup]:
    def build(api_key: str | None, settings: dict[str, object]) -> SES:
        fields = {"region": "us-east-1", "base_url": fake.url, "timeout": 5.0, **settings}
        environ = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": api_key or SECRET}
        provider = SES(SESSettings.model_validate(fields), environ=environ)
        return provider

    with contract.setup_for(fake, build) as made:
        yield made


# --- the shared contract ---------------------------------------------------------------------------------------


class TestContract(contract.ContractTests):
    secret = SECRET


def test_batches_respect_the_provider_limit(setup: Setup) -> None:
    contract.check_batches_respect_the_provider_limit(setup)
    assert len(setup.fake.requests) == 1  # the batch of two was refused before any call


@pytest.mark.parametrize(
    ("kind", "message"),
    [("TooManyRequestsException", "Maximum sending rate exceeded."), ("LimitExceededException", "Too many")],
)
def test_throttled(setup: Setup, kind: str, message: str) -> None:
    status = 429 if kind == "TooManyRequestsException" else 400
    setup.fake.fail(fault(status, kind, message))
    with pytest.raises(ProviderError) as limited:
        setup.make().send(batch(recipients(1)))
    assert (limited.value.status, limited.value.transient, limited.value.maybe_sent) == (status, True, False)
    assert limited.value.retry_after is None  # SES sends no rate-limit headers (§4)
    assert setup.fake.delivered == []


def test_rate_limited(setup: Setup) -> None:
    contract.check_rate_limited(setup, fault(429, "TooManyRequestsException", "Maximum sending rate exceeded."), None)


def test_bad_request_carries_the_provider_message(setup: Setup) -> None:
    contract.check_bad_request_carries_the_provider_message(
        setup,
        fault(400, "MessageRejected", "Email address is not verified."),
        "Email address is not verified (MessageRejected)",
    )


# --- SES's own --------------------------------------------------------------------------------------------------


def test_the_raw_message_and_tags(setup: Setup) -> None:
    person = recipients(2)[1]
    result = setup.make(configuration_set="actionmail-events").send(batch([person]))
    (request,) = setup.fake.requests
    assert request.path == "/v2/email/outbound-emails"
    assert request.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={KEY_ID}/")
    body = request.json()
    assert "FromEmailAddress" not in body  # taken from the raw message's From
    assert body["Destination"] == {"ToAddresses": ["r1@example.org"]}
    assert body["ConfigurationSetName"] == "actionmail-events"
    assert body["EmailTags"] == [
        {"Name": "tag", "Value": "2019-08-01-no-police-facial-recognition"},
        {"Name": "send_id", "Value": "send-1"},
    ]
    raw = base64.b64decode(body["Content"]["Raw"]["Data"])
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF throughout
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    assert [a.display_name for a in message["To"].addresses] == ["Zoë <Q>"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert result.accepted == {"1": setup.fake.delivered[0].message_id}


def test_an_unverified_sender_is_refused_for_good(setup: Setup) -> None:
    with pytest.raises(ProviderError, match="Email address is not verified") as refused:
        setup.make().send(batch(recipients(1), from_="Someone <someone@elsewhere.example>"))
    assert (refused.value.status, refused.value.transient) == (400, False)
    assert "(MessageRejected)" in str(refused.value)


def test_an_unknown_configuration_set_is_refused(setup: Setup) -> None:
    with pytest.raises(ProviderError, match="does not exist") as refused:
        setup.make(configuration_set="nope").send(batch(recipients(1)))
    assert (refused.value.status, refused.value.transient) == (404, False)


@pytest.mark.parametrize(
    "kind", ["AccountSuspendedException", "SendingPausedException", "MailFromDomainNotVerifiedException"]
)
def test_account_problems_are_permanent(setup: Setup, kind: str) -> None:
    setup.fake.fail(fault(400, kind, "Not now, not ever"))
    with pytest.raises(ProviderError, match=kind) as refused:
        setup.make().send(batch(recipients(1)))
    assert not refused.value.transient


def test_the_daily_quota_stops_the_send(setup: Setup) -> None:
    setup.fake.fail(fault(400, "LimitExceededException", "Daily message quota exceeded."))
    with pytest.raises(ProviderError, match="once the quota renews") as spent:
        setup.make().send(batch(recipients(1)))
    assert not spent.value.transient


def test_missing_permission_says_which(setup: Setup) -> None:
    setup.fake.fail(fault(403, "AccessDeniedException", "User is not authorized to perform ses:SendEmail"))
    with pytest.raises(ProviderError, match="need permission for ses:SendEmail") as denied:
        setup.make().send(batch(recipients(1)))
    assert not denied.value.transient


def test_an_unknown_key_id(setup: Setup, fake: SESFake) -> None:
    provider = SES(
        SESSettings(region="us-east-1", base_url=fake.url),
        environ={"AWS_ACCESS_KEY_ID": "AKIAOTHER", "AWS_SECRET_ACCESS_KEY": SECRET},
    )
    with pytest.raises(ProviderError, match="check AWS_ACCESS_KEY_ID") as refused:
        provider.send(batch(recipients(1)))
    assert refused.value.status == 403 and not refused.value.transient
    provider.close()


def test_credentials_from_the_process_environment(fake: SESFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    provider = SES(SESSettings(region="us-east-1", base_url=fake.url))
    assert provider.send(batch(recipients(1))).accepted
    provider.close()


def test_no_credentials_anywhere(fake: SESFake) -> None:
    provider = SES(SESSettings(region="us-east-1", base_url=fake.url), environ={})
    with pytest.raises(MissingCredentials, match="set the environment variables AWS_ACCESS_KEY_ID and"):
        provider.send(batch(recipients(1)))
    only_id = SES(SESSettings(region="us-east-1", base_url=fake.url), environ={"AWS_ACCESS_KEY_ID": KEY_ID})
    with pytest.raises(MissingCredentials, match="set the environment variable AWS_SECRET_ACCESS_KEY"):
        only_id.send(batch(recipients(1)))
    assert fake.requests == []


def test_nothing_listening_is_transient_and_not_sent() -> None:
    provider = SES(
        SESSettings(region="us-east-1", base_url=f"http://127.0.0.1:{free_port()}", timeout=1),
        environ={"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET},
    )
    with pytest.raises(ProviderError, match="could not connect") as refused:
        provider.send(batch(recipients(1)))
    assert refused.value.transient and not refused.value.maybe_sent


def test_one_recipient_a_batch_and_no_scheduling(setup: Setup) -> None:
    assert (SES.max_batch, SES.idempotent, SES.can_schedule) == (1, False, False)
    with pytest.raises(ProviderError, match="cannot schedule"):
        setup.make().send(batch(recipients(1), send_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)))
    assert setup.fake.requests == []


def test_a_drop_after_sending_leaves_it_delivered(setup: Setup) -> None:
    """Without an idempotency key, the engine must not resend this on its own: it may have gone out."""
    setup.fake.fail(Fault(drop=True, after_handling=True))
    with pytest.raises(ProviderError) as lost:
        setup.make().send(batch(recipients(1)))
    assert lost.value.maybe_sent and not SES.idempotent
    assert len(setup.fake.delivered) == 1


def test_settings() -> None:
    with pytest.raises(pydantic.ValidationError, match="region"):
        SESSettings.model_validate({})
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        SESSettings.model_validate({"region": "us-east-1", "access_key_id": "AKIA"})


def test_registered() -> None:
    assert provider_class("ses") is SES


def test_a_2xx_without_a_message_id_may_have_sent(setup: Setup) -> None:
    setup.fake.fail(Fault(status=200, body={}))
    with pytest.raises(ProviderError, match="without a MessageId") as odd:
        setup.make().send(batch(recipients(1)))
    assert odd.value.maybe_sent and not odd.value.transient
