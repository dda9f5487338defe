"""`actionmail serve` under test: the real command (uvicorn) in its own process on 127.0.0.1, over a copy of the
example project with a few members, talked to over HTTP (requests) and in headless Chromium.

Fixtures and helpers for test_serve.py (HTTP), test_serve_browser.py (the pages), test_serve_fuzz.py and
test_serve_concurrency.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from actionmail import tokens
from actionmail.audience import Store
from actionmail.cli import main
from tests.fakes.smtp import free_port

KEY = "s" * 32
LIST_ID = "daily-action"
ORIGIN = "https://www.seattleindivisible.com"
MEMBERS = ["ana.perez@example.org", "bo@example.org", "cy@example.net"]


@dataclass
class Served:
    """A running `actionmail serve`: its address, the project it serves, and what it has logged so far."""

    base: str
    project: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def logged(self, text: str, timeout: float = 5.0) -> bool:
        """Whether ``text`` is in the log within ``timeout``: a request's line is written after its answer."""
        deadline = time.monotonic() + timeout
        while text not in self.log:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def url(self, email: str) -> str:
        """The member's unsubscribe URL, on this server (the emails carry the same path on the public host)."""
        return f"{self.base}/unsubscribe/{token_for(self.project, email)}"

    def store(self) -> Store:
        return Store.open(self.project / "actionmail.db")


def token_for(project: Path, email: str, key: str = KEY, list_id: str = LIST_ID) -> str:
    with Store.open(project / "actionmail.db") as store:
        member = store.get(email)
    assert member is not None
    return tokens.make(key.encode(), list_id, member.id, member.email)


@pytest.fixture
def members(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(tokens.SECRET_KEY_VARIABLE, KEY)
    for email in MEMBERS:
        assert CliRunner().invoke(main, ["subscribers", "add", email]).exit_code == 0
    return project


def start(project: Path, *options: str, timeout: float = 30.0) -> Served:
    """Start `actionmail serve` in ``project`` on a free port, and wait until /healthz answers."""
    port = free_port()
    log_path = project / f"serve-{port}.log"
    env = {**os.environ, tokens.SECRET_KEY_VARIABLE: KEY, "PYTHONPATH": os.pathsep.join(sys.path)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "actionmail", "serve", "--port", str(port), *options],
            cwd=project,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    served = Served(f"http://127.0.0.1:{port}", project, process, log_path)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"actionmail serve exited ({process.returncode}):\n{served.log}")
        try:
            if requests.get(served.base + "/healthz", timeout=2).status_code == 200:
                return served
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            stop(served)
            raise AssertionError(f"actionmail serve did not answer within {timeout} s:\n{served.log}")
        time.sleep(0.1)


def stop(served: Served) -> None:
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGINT)  # as Ctrl-C: uvicorn shuts down cleanly
        try:
            served.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait()


@pytest.fixture
def served(members: Path) -> Iterator[Served]:
    running = start(members)
    yield running
    stop(running)


def history(served: Served, email: str) -> list[tuple[str, str, str | None]]:
    with served.store() as store:
        return [(e.change, e.source, e.detail) for e in store.history(email)]


def status(served: Served, email: str) -> str:
    with served.store() as store:
        member = store.get(email)
    assert member is not None
    return str(member.status)
