"""DMARC alignment: the From domain and the domain that signs the mail share their organizational domain, found
with the public suffix list — siblings such as news.example.org and mail.example.org align (DMARC's relaxed mode),
example.co.uk and other.co.uk don't."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest

from actionmail import check
from actionmail.check import deliverability
from tests.conftest import write
from tests.test_checks import CLEAN

FROM = 'from = "Seattle Indivisible <action@seattleindivisible.com>"'


def problems(project: Path, from_address: str, sending_domain: str) -> list[str]:
    settings = project / "actionmail.toml"
    text = settings.read_text()
    assert FROM in text
    text = text.replace(FROM, f'from = "Seattle Indivisible <{from_address}>"')
    settings.write_text(text.replace("[colors]\n", f'[check]\nsending_domain = "{sending_domain}"\n\n[colors]\n'))
    path = write(project / "newsletters", "day.yaml", CLEAN)
    return [str(p) for p in check.check_files([path], today=dt.date(2019, 8, 1), spam_score=False)]


@pytest.mark.parametrize(
    ("from_address", "sending_domain"),
    [
        ("action@news.seattleindivisible.com", "mail.seattleindivisible.com"),  # siblings
        ("action@seattleindivisible.com", "mg.seattleindivisible.com"),  # a subdomain
        ("action@news.seattleindivisible.com", "seattleindivisible.com"),  # a parent
        ("action@news.indivisible.org.uk", "mg.indivisible.org.uk"),  # siblings under a two-label suffix
    ],
)
def test_domains_that_align(project: Path, from_address: str, sending_domain: str) -> None:
    assert problems(project, from_address, sending_domain) == []


@pytest.mark.parametrize(
    ("from_address", "sending_domain"),
    [
        ("action@seattleindivisible.com", "mg.indivisible.org"),
        ("action@seattle.org.uk", "mg.indivisible.org.uk"),  # org.uk is a public suffix, not an organization
        ("action@seattle.github.io", "indivisible.github.io"),  # so is github.io (the list's private part)
        ("action@seattle.github.io", "github.io"),  # a suffix is nobody's parent domain
    ],
)
def test_domains_that_dont(project: Path, from_address: str, sending_domain: str) -> None:
    [problem] = problems(project, from_address, sending_domain)
    assert f"email.from: From {from_address} is not on the sending domain {sending_domain}: DMARC will fail" in problem


def test_the_public_suffix_list_is_the_one_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network at run time: the list comes with the package."""

    def no_network(*args: object, **kwargs: object) -> socket.socket:
        raise AssertionError("the public suffix list was fetched")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    deliverability._public_suffixes.cache_clear()
    assert deliverability.organizational_domain("a.b.news.example.co.uk") == "example.co.uk"
    assert deliverability.organizational_domain("co.uk") == "co.uk"


def test_a_logo_without_a_height_is_warned_about(project: Path) -> None:
    settings = project / "actionmail.toml"
    logo = '[organization.logo]\nurl = "https://example.org/logo.png"\nalt = "Seattle Indivisible"\nwidth = 160\n'
    settings.write_text(settings.read_text().replace("[email]\n", logo + "\n[email]\n", 1))
    path = write(project / "newsletters", "day.yaml", CLEAN)
    found = [str(p) for p in check.check_files([path], today=dt.date(2019, 8, 1), spam_score=False)]
    line = next(i for i, text in enumerate(settings.read_text().splitlines(), 1) if text == "[organization.logo]")
    assert found == [
        f"actionmail.toml:{line}: organization.logo: warning: the logo has no height: it takes no room while images "
        "are blocked: add height = its height in pixels when 160 pixels wide, under [organization.logo]"
    ]
    settings.write_text(settings.read_text().replace("width = 160\n", "width = 160\nheight = 48\n", 1))
    assert [str(p) for p in check.check_files([path], today=dt.date(2019, 8, 1), spam_score=False)] == []
