"""SMTP against a real SMTP server (aiosmtpd) on 127.0.0.1: STARTTLS and implicit TLS, AUTH, refusals, reconnects."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pydantic
import pytest
from aiosmtpd.controller import Controller

from actionmail.config.providers import SMTPSettings
from actionmail.providers import provider_class
from actionmail.providers.base import MissingCredentials, ProviderError, Recipient
from actionmail.providers.smtp import PASSWORD as VARIABLE
from actionmail.providers.smtp import SMTP
from tests.contract import DEFUSED, HOSTILE, batch, hostile_recipient, recipients
from tests.fakes.smtp import PASSWORD, USER, Certificates, SMTPServer, free_port, make_certificates, start

# aiosmtpd warns about AUTH without STARTTLS, which is what implicit TLS needs (aiosmtpd#281).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

Make = Callable[..., SMTP]


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(params=["starttls", "tls"])
def security(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(certificates: Certificates, security: str) -> Iterator[tuple[SMTPServer, Controller]]:
    handler = SMTPServer()
    controller = start(handler, certificates, implicit_tls=security == "tls")
    yield handler, controller
    controller.stop()


@pytest.fixture
def make(server: tuple[SMTPServer, Controller], certificates: Certificates, security: str) -> Iterator[Make]:
    made: list[SMTP] = []

    def make(password: str | None = PASSWORD, **settings: object) -> SMTP:
        fields: dict[str, object] = {
            "host": "127.0.0.1",
            "port": server[1].port,
            "security": security,
            "username": USER,
            "ca_file": str(certificates.ca),
            "timeout": 2.0,
            **settings,
        }
        environ = {VARIABLE: password} if password else {}
        provider = SMTP(SMTPSettings.model_validate(fields), environ=environ)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


def test_each_recipient_gets_their_own_message_over_one_connection(
    server: tuple[SMTPServer, Controller], make: Make
) -> None:
    handler = server[0]
    provider = make()
    people = recipients(5)
    for person in people:
        result = provider.send(batch([person]))
        assert list(result.accepted) == [person.key] and not result.rejected
        assert result.accepted[person.key].startswith("<") and result.accepted[person.key].endswith("@example.org>")
    assert handler.connections == 1  # reused across batches
    assert handler.logins == [(USER, PASSWORD)]  # logged in once, after TLS
    assert [d.rcpt_tos for d in handler.delivered] == [[p.email] for p in people]
    for person, got in zip(people, handler.delivered, strict=True):
        subject, html, text = batch([person]).content(person)
        assert got.mail_from == "action@example.org"
        assert [a.addr_spec for a in got.message["To"].addresses] == [person.email]
        assert got.message["Subject"] == subject
        assert got.message.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
        assert got.message.get_body(("html",)).get_content().replace("\r\n", "\n").rstrip("\n") == html
        assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert got.message["List-Unsubscribe"].startswith(f"<{person.values['unsubscribe_url']}>, <mailto:")
        assert got.message["X-Actionmail-Tag"] == "2019-08-01-no-police-facial-recognition"


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_a_name_cannot_add_a_header_or_a_recipient(
    server: tuple[SMTPServer, Controller], make: Make, hostile: str
) -> None:
    """What arrives, parsed: one recipient, the headers we set and no others, the name as the text it decodes to."""
    handler = server[0]
    person = hostile_recipient(hostile)
    assert list(make().send(batch([person])).accepted) == ["7"]
    (got,) = handler.delivered
    assert got.rcpt_tos == ["r7@example.org"]
    message = got.message
    assert [name.lower() for name in message] == [
        "from", "to", "reply-to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post",
        "list-id", "x-actionmail-tag", "x-actionmail-send", "mime-version", "content-type",
    ]  # fmt: skip
    assert [(a.display_name, a.addr_spec) for a in message["To"].addresses] == [(DEFUSED, "r7@example.org")]
    assert message["Subject"] == f"{DEFUSED}, call the mayor"
    assert not message.defects


def test_one_connection_per_sending_thread(server: tuple[SMTPServer, Controller], make: Make) -> None:
    handler, provider = server[0], make()
    people = recipients(24)
    failures: list[BaseException] = []

    def work(mine: list[Recipient]) -> None:
        try:
            for person in mine:
                provider.send(batch([person]))
        except BaseException as e:  # pragma: no cover - reported below
            failures.append(e)

    threads = [threading.Thread(target=work, args=(people[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert sorted(d.rcpt_tos[0] for d in handler.delivered) == sorted(p.email for p in people)
    assert handler.connections == 4
    provider.close()
    assert not provider._open


def test_a_refused_address_is_rejected_and_the_connection_kept(
    server: tuple[SMTPServer, Controller], make: Make
) -> None:
    handler, provider = server[0], make()
    bad, good = recipients(2)
    bad = dataclasses.replace(bad, email="bad-address@example.org")
    result = provider.send(batch([bad]))
    assert not result.accepted and result.rejected[bad.key].startswith("550 5.1.1")
    assert provider.send(batch([good])).accepted
    assert handler.connections == 1 and len(handler.delivered) == 1


@pytest.mark.parametrize(("address", "code"), [("later@example.org", "451 4.3.0"), ("slow@example.org", "451 4.4.2")])
def test_a_4xx_is_transient(server: tuple[SMTPServer, Controller], make: Make, address: str, code: str) -> None:
    provider = make()
    person = recipients(1)[0]
    with pytest.raises(ProviderError) as later:
        provider.send(batch([dataclasses.replace(person, email=address)]))
    assert (later.value.transient, later.value.maybe_sent) == (True, False)
    assert code in str(later.value)
    assert provider.send(batch([person])).accepted  # the connection is still good
    assert server[0].connections == 1


def test_a_message_refused_after_data_is_permanent(server: tuple[SMTPServer, Controller], make: Make) -> None:
    person = recipients(1)[0]
    with pytest.raises(ProviderError) as refused:
        make().send(batch([dataclasses.replace(person, email="spam@example.org")]))
    assert not refused.value.transient and "554 5.6.0 Message rejected" in str(refused.value)


def test_a_connection_lost_after_data_may_have_sent(server: tuple[SMTPServer, Controller], make: Make) -> None:
    handler, provider = server[0], make()
    person, other = recipients(2)
    with pytest.raises(ProviderError) as lost:
        provider.send(batch([dataclasses.replace(person, email="vanish@example.org")]))
    assert lost.value.transient and lost.value.maybe_sent
    assert len(handler.delivered) == 1  # it did arrive: that is why it may not be sent again blindly
    assert provider.send(batch([other])).accepted
    assert handler.connections == 2


@pytest.mark.parametrize("idle_check", [0.0, 60.0])
def test_a_connection_the_server_closed_is_replaced(
    server: tuple[SMTPServer, Controller], make: Make, idle_check: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by NOOP when idle long enough, or by MAIL FROM failing; either way nothing was sent, so it is sent."""
    handler, provider = server[0], make()
    monkeypatch.setattr(provider, "idle_check", idle_check)
    first, second = recipients(2)
    provider.send(batch([first]))
    handler.kick()
    assert provider.send(batch([second])).accepted
    assert [d.rcpt_tos for d in handler.delivered] == [[first.email], [second.email]]
    assert handler.connections == 2


def test_421_opens_a_new_connection(server: tuple[SMTPServer, Controller], make: Make) -> None:
    handler, provider = server[0], make()
    first, second = recipients(2)
    provider.send(batch([first]))
    handler.busy = 1
    assert provider.send(batch([second])).accepted
    assert handler.connections == 2 and len(handler.delivered) == 2


def test_a_wrong_password_is_permanent_and_never_shown(make: Make) -> None:
    with pytest.raises(ProviderError) as refused:
        make(password="hunter2-wrong").send(batch(recipients(1)))
    assert not refused.value.transient
    assert "535" in str(refused.value) and VARIABLE in str(refused.value)
    assert "hunter2-wrong" not in str(refused.value) and PASSWORD not in str(refused.value)


def test_a_missing_password_names_the_variable(make: Make) -> None:
    with pytest.raises(
        MissingCredentials, match=f"smtp needs its SMTP password: set the environment variable {VARIABLE}"
    ):
        make(password=None).send(batch(recipients(1)))


def test_an_untrusted_certificate_is_refused(server: tuple[SMTPServer, Controller], make: Make) -> None:
    with pytest.raises(ProviderError) as untrusted:
        make(ca_file=None).send(batch(recipients(1)))  # only the system's CAs: ours is not among them
    assert not untrusted.value.transient
    assert "certificate is not trusted" in str(untrusted.value) and "ca_file" in str(untrusted.value)
    assert server[0].delivered == [] and server[0].logins == []  # the password never left


# --- without the TLS server -------------------------------------------------------------------------------------


def test_no_starttls_means_no_send(certificates: Certificates) -> None:
    plain = SMTPServer()
    controller = Controller(plain, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = {"host": "127.0.0.1", "port": controller.port, "ca_file": str(certificates.ca), "timeout": 2}
        provider = SMTP(SMTPSettings.model_validate(settings), environ={})
        with pytest.raises(ProviderError, match="does not offer STARTTLS") as refused:
            provider.send(batch(recipients(1)))
        assert not refused.value.transient and plain.delivered == []

        local = SMTP(SMTPSettings.model_validate({**settings, "security": "none"}), environ={})
        assert local.send(batch(recipients(1))).accepted  # a local relay without TLS or login, on purpose
        assert len(plain.delivered) == 1
        local.close()
    finally:
        controller.stop()


def test_nothing_listening_is_transient() -> None:
    provider = SMTP(SMTPSettings(host="127.0.0.1", port=free_port(), timeout=1), environ={})
    with pytest.raises(ProviderError, match="could not connect") as refused:
        provider.send(batch(recipients(1)))
    assert refused.value.transient and not refused.value.maybe_sent


# --- settings and guards ----------------------------------------------------------------------------------------


def test_security_none_only_for_this_machine() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"unencrypted to smtp\.example\.org"):
        SMTPSettings.model_validate({"host": "smtp.example.org", "security": "none"})
    for host in ("localhost", "127.0.0.1", "::1"):
        assert SMTPSettings.model_validate({"host": host, "security": "none"}).security == "none"


def test_settings_are_checked() -> None:
    with pytest.raises(pydantic.ValidationError, match="password"):
        SMTPSettings.model_validate({"host": "smtp.example.org", "password": "x"})
    with pytest.raises(pydantic.ValidationError, match="security"):
        SMTPSettings.model_validate({"host": "smtp.example.org", "security": "ssl"})
    assert SMTPSettings.model_validate({"host": "h", "ca_file": "ca.pem"}, context={"root": Path("/p")}).ca_file == (
        "/p/ca.pem"
    )


def test_one_recipient_a_batch_and_no_scheduling() -> None:
    provider = SMTP(SMTPSettings(host="127.0.0.1", port=free_port()), environ={})
    assert (SMTP.max_batch, SMTP.idempotent, SMTP.can_schedule) == (1, False, False)
    with pytest.raises(ProviderError, match="at most 1"):
        provider.send(batch(recipients(2)))
    with pytest.raises(ProviderError, match="cannot schedule"):
        provider.send(batch(recipients(1), send_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)))


def test_registered() -> None:
    assert provider_class("smtp") is SMTP
