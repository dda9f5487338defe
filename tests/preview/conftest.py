"""`actionmail preview` under test: the real server on a free port, against a copy of the example project, with
the real watcher (watchfiles) on it; files are edited on disk, as an organizer's editor would.

Fixtures and helpers for test_preview.py (over HTTP, and the command) and test_preview_browser.py (the page in
headless Chromium).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller

from actionmail.cli.preview import HOOKS
from actionmail.preview import PreviewServer, Workspace
from tests.conftest import ROOT, SEED
from tests.fakes.smtp import SMTPServer, free_port

OTHER = ROOT / "newsletters" / "2019-09-16-climate-strike-green-new-deal-budget.yaml"
SEED_ID = f"newsletters/{SEED.name}"
OTHER_ID = f"newsletters/{OTHER.name}"
SUBJECT = "subject: No police partnerships on facial recognition in Seattle"
HEADLINE = "No police partnerships on facial recognition in Seattle"


@pytest.fixture
def newsletters(project: Path) -> Path:
    shutil.copy(SEED, project / "newsletters")
    shutil.copy(OTHER, project / "newsletters")
    return project / "newsletters"


@pytest.fixture
def server(newsletters: Path) -> Iterator[PreviewServer]:
    preview = PreviewServer(Workspace([Path("newsletters")], HOOKS), "127.0.0.1", 0)
    preview.start()
    yield preview
    preview.close()


def base(server: PreviewServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def opening(server: PreviewServer) -> str:
    """The address the command prints (with 127.0.0.1 for localhost, as the other requests here use)."""
    return f"{base(server)}/?token={server.access.token}"


def cookies(server: PreviewServer) -> dict[str, str]:
    """What the browser holds once it has opened the address the command printed."""
    return {server.access.cookie_name: server.access.token}


def get(server: PreviewServer, path: str, **params: str) -> requests.Response:
    return requests.get(base(server) + path, params=params, cookies=cookies(server), timeout=10)


def post(server: PreviewServer, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 10)
    return requests.post(base(server) + path, cookies=cookies(server), **kwargs)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def eventually(check: Callable[[], Any], timeout: float = 3.0) -> Any:
    """Poll ``check`` until it returns something true (the watcher is another thread)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.02)


@pytest.fixture
def smtp(newsletters: Path) -> Iterator[SMTPServer]:
    """A real SMTP server on 127.0.0.1, and the project set to send through it."""
    handler = SMTPServer()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    with Path("actionmail.toml").open("a") as f:
        f.write(f'\n[send]\nprovider = "smtp"\n\n[providers.smtp]\nhost = "127.0.0.1"\nport = {controller.port}\n'
                'security = "none"\n')  # fmt: skip
    yield handler
    controller.stop()
