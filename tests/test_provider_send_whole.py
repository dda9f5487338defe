"""``actionmail send`` of the seed through Resend, Brevo and SES's fakes and a real SMTP server.

The providers' own tests use the contract's small templates; here real rendered variants (MJML output, CSS
braces and all) go through the real engine, and each member's message is checked as they would get it.
SES and SMTP send one message a call, so they get the first 60 members rather than all 1,000.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from actionmail.audience import Store
from actionmail.cli import main
from tests.conftest import ROOT, SEED, write
from tests.fakes.brevo import BrevoFake
from tests.fakes.resend import ResendFake
from tests.fakes.server import Delivered, FakeProvider
from tests.fakes.ses import SESFake
from tests.fakes.smtp import PASSWORD, USER, SMTPServer, make_certificates, start

SECRET = "test-key-not-secret"
KEY_ID = "AKIATESTNOTAREALKEY0"
FAKES: dict[str, tuple[Callable[[], FakeProvider], str, int]] = {
    "resend": (lambda: ResendFake(SECRET), "", 1000),
    "brevo": (lambda: BrevoFake(SECRET), "", 1000),
    "ses": (lambda: SESFake(KEY_ID, SECRET, verified=("seattleindivisible.com",)), 'region = "us-east-1"\n', 60),
}


def members(project: Path, count: int) -> set[str]:
    lines = (ROOT / "sample" / "members.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (project / "members.csv").write_text("".join(lines[: count + 1]), encoding="utf-8")
    assert CliRunner().invoke(main, ["subscribers", "import", "members.csv"]).exit_code == 0
    write(project / "newsletters", SEED.name, SEED.read_text())
    with Store.open(project / "actionmail.db") as store:
        return {m.email for m in store.subscribers()}


def send(name: str) -> str:
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes", "--provider", name])
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if line.startswith(("Send ", "Nothing to send"))]
    return said[-1]  # the send's summary, or that it had nothing to do


def check(subject: str, html: str, text: str, headers: dict[str, str], tag: str | None) -> None:
    url = headers["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert re.fullmatch(r"https://www\.seattleindivisible\.com/unsubscribe/[\w.-]+", url)
    assert url in html and url in text
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Id"] == "Seattle Indivisible <daily-action.seattleindivisible.com>"
    assert tag == SEED.stem
    for part in (subject, html, text):
        assert not re.search(r"params\.|\{%|\{(first_name|unsubscribe_url)", part)
    assert "<style" in html and "}" in html  # the CSS came through Brevo's template engine intact


@pytest.mark.parametrize("name", FAKES)
def test_send_reaches_every_member_once_filled_in(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    make, settings, count = FAKES[name]
    emails = members(project, count)
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", "k" * 32)
    monkeypatch.setenv(f"ACTIONMAIL_{name.upper()}_API_KEY", SECRET)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with make() as fake:
        with (project / "actionmail.toml").open("a", encoding="utf-8") as toml:
            toml.write(f'\n[providers.{name}]\nbase_url = "{fake.url}"\n{settings}')
        assert send(name) == f"Send 1 of {SEED.stem} through {name}: accepted {len(emails):,}"
        assert sorted(d.to for d in fake.delivered) == sorted(emails)
        for got in fake.delivered:
            assert isinstance(got, Delivered)
            check(got.subject, got.html, got.text, got.headers, got.tag)
        calls = [r for r in fake.requests if r.method == "POST"]
        send(name)  # it reads back the provider's lists again first (`sync`), with GETs …
        assert [r for r in fake.requests if r.method == "POST"] == calls  # … and sends nothing


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_send_through_smtp(project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    emails = members(project, 60)
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", "k" * 32)
    monkeypatch.setenv("ACTIONMAIL_SMTP_PASSWORD", PASSWORD)
    certificates = make_certificates(tmp_path)
    handler = SMTPServer()
    controller: Controller = start(handler, certificates, implicit_tls=False)
    try:
        with (project / "actionmail.toml").open("a", encoding="utf-8") as toml:
            toml.write(
                f'\n[providers.smtp]\nhost = "127.0.0.1"\nport = {controller.port}\nusername = "{USER}"\n'
                f'ca_file = "{certificates.ca}"\n'
            )
        assert send("smtp") == f"Send 1 of {SEED.stem} through smtp: accepted {len(emails):,}"
    finally:
        controller.stop()
    assert sorted(d.rcpt_tos[0] for d in handler.delivered) == sorted(emails)
    assert handler.connections <= 4  # one per sending thread, reused for every message
    for got in handler.delivered:
        message = got.message
        html = message.get_body(("html",)).get_content()
        text = message.get_body(("plain",)).get_content()
        headers = {k: str(v) for k, v in message.items()}
        check(str(message["Subject"]), html, text, headers, headers.get("X-Actionmail-Tag"))
