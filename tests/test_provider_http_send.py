"""``actionmail send`` of the seed to the 1,000 sample members through Mailgun, SendGrid and Postmark's fakes.

The providers' own tests use the contract's small batches; this one sends real rendered variants through the
real engine and checks what each member would receive once the provider has filled in its placeholders.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail.audience import Store
from actionmail.cli import main
from tests.conftest import ROOT, SEED, summary, write
from tests.fakes.mailgun import MailgunFake
from tests.fakes.postmark import PostmarkFake
from tests.fakes.sendgrid import SendGridFake
from tests.fakes.server import FakeProvider

SECRET = "test-key-not-secret"
FAKES: dict[str, tuple[Callable[[], FakeProvider], str]] = {
    "mailgun": (lambda: MailgunFake(SECRET, "mg.seattleindivisible.com"), 'domain = "mg.seattleindivisible.com"\n'),
    "sendgrid": (lambda: SendGridFake(SECRET), ""),
    "postmark": (lambda: PostmarkFake(SECRET, ("action@seattleindivisible.com",)), ""),
}


@pytest.mark.parametrize("name", FAKES)
def test_send_reaches_every_member_once_filled_in(project: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    shutil.copy(ROOT / "sample" / "members.csv", project / "members.csv")
    assert CliRunner().invoke(main, ["subscribers", "import", "members.csv"]).exit_code == 0
    write(project / "newsletters", SEED.name, SEED.read_text())
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", "k" * 32)
    monkeypatch.setenv(f"ACTIONMAIL_{name.upper()}_API_KEY", SECRET)
    make, settings = FAKES[name]
    with make() as fake:
        with (project / "actionmail.toml").open("a", encoding="utf-8") as toml:
            toml.write(f'\n[providers.{name}]\nbase_url = "{fake.url}"\n{settings}')
        result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes", "--provider", name])
        assert result.exit_code == 0, result.output
        assert summary(result.output) == f"Send 1 of {SEED.stem} through {name}: accepted 1,000", result.output

        with Store.open(project / "actionmail.db") as store:
            emails = {m.email for m in store.subscribers()}
        assert sorted(d.to for d in fake.delivered) == sorted(emails)
        sends = [r for r in fake.requests if r.method == "POST"]  # the GETs read back its lists first (sync)
        assert len(sends) == 8  # one call per variant: seven districts and the fallback
        for got in fake.delivered:
            url = got.headers["List-Unsubscribe"].split(",")[0].strip("<> ")
            assert re.fullmatch(r"https://www\.seattleindivisible\.com/unsubscribe/[\w.-]+", url)
            assert url in got.html and url in got.text
            assert got.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert got.headers["List-Id"] == "Seattle Indivisible <daily-action.seattleindivisible.com>"
            assert got.tag == SEED.stem
            for part in (got.subject, got.html, got.text):
                assert not re.search(r"%recipient\.|-am-[ht]\d+-|\{(first_name|unsubscribe_url)", part)

        again = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes", "--provider", name])
        assert again.exit_code == 0  # a second run sends nothing
        assert [r for r in fake.requests if r.method == "POST"] == sends
