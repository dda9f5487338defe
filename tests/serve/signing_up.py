"""Helpers for the sign-up's tests (test_signup.py over HTTP, test_signup_browser.py in Chromium): the real
`actionmail serve` over a copy of the example project whose form may be sent half a second after it is served,
behind --proxy-headers so that each test can be its own client network (X-Forwarded-For); the outbox, where the
confirmation emails land, read back with the standard library."""

from __future__ import annotations

import email.policy
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
import requests

from actionmail.audience import Store
from actionmail.serve.form import Signer
from tests.conftest import ROOT
from tests.serve.conftest import KEY, LIST_ID, ORIGIN, Served, start, stop

MIN_SECONDS = 0.5
SETTINGS = f"\n[signup]\nmin_seconds = {MIN_SECONDS}\nwelcome = true\n"
LINK = re.compile(re.escape(ORIGIN) + r"/signup/confirm/[^\s\"<>]+")
SIGNER = Signer(KEY.encode(), LIST_ID)


def signup_project(directory: Path) -> Path:
    shutil.copy(ROOT / "actionmail.toml", directory)
    shutil.copy(ROOT / "officials.yaml", directory)
    (directory / "newsletters").mkdir()
    with (directory / "actionmail.toml").open("a", encoding="utf-8") as settings:
        settings.write(SETTINGS)
    Store.open(directory / "actionmail.db").close()
    return directory


def serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for a module's tests (its fixture yields from this): each test signs up addresses of its own,
    from a network of its own."""
    served = start(signup_project(tmp_path_factory.mktemp("signup")), "--proxy-headers")
    yield served
    stop(served)


@dataclass
class Client:
    """A visitor on a network of its own (X-Forwarded-For, trusted from the proxy on 127.0.0.1)."""

    served: Served
    ip: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Forwarded-For": self.ip}

    def get(self, path: str, **headers: str) -> requests.Response:
        return requests.get(self.served.base + path, headers={**self.headers, **headers}, timeout=10)

    def post(self, path: str, data: dict[str, str], **headers: str) -> requests.Response:
        return requests.post(
            self.served.base + path, data=data, headers={**self.headers, **headers}, allow_redirects=False, timeout=10
        )

    def sign_up(
        self, address: str, *, started: str | None = "waited", origin: str | None = None, **fields: str
    ) -> requests.Response:
        """POST the form as a person does some seconds after it was served (``started="waited"``), or with the
        hidden field as given (None: left out), and wait until the service has done what it does after
        answering (its log line is written then)."""
        data = {"email": address, "website": "", **fields}
        if started == "waited":
            data["started"] = SIGNER.started(time.time() - 10)
        elif started is not None:
            data["started"] = started
        before = self.served.log.count(" POST /signup ")
        response = self.post("/signup", data, **({"Origin": origin} if origin else {}))
        finished(self.served, before)
        return response


def finished(served: Served, before: int, timeout: float = 10.0) -> None:
    """Wait for the log line of the POST /signup after ``before`` such lines: written once its work is done."""
    deadline = time.monotonic() + timeout
    while served.log.count(" POST /signup ") <= before:
        assert time.monotonic() < deadline, served.log[-2000:]
        time.sleep(0.02)


_networks = iter(range(1, 255))


def client(served: Served) -> Client:
    """A visitor from a network no other test uses."""
    return Client(served, f"198.51.100.{next(_networks)}")


def emails(served: Served, address: str) -> list[EmailMessage]:
    """The confirmation emails in the outbox for ``address``, oldest first."""
    found = []
    for path in sorted((served.project / "outbox" / "signup").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        message = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        if message["To"].addresses[0].addr_spec.lower() == address.lower():
            found.append(message)
    return found


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None and isinstance(part, EmailMessage)
    return str(part.get_content())


def link_in(served: Served, message: EmailMessage) -> str:
    """The confirmation link the email carries, on this server (the email has the public host)."""
    (link,) = set(LINK.findall(text_of(message)))
    return served.base + link.removeprefix(ORIGIN)


def member(served: Served, address: str) -> tuple[str, str | None] | None:
    """(status, source) of the member with this address, or None."""
    with served.store() as store:
        found = store.get(address)
    return None if found is None else (str(found.status), found.source)
