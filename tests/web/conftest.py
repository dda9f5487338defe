"""The web edition under test: a copy of the example project with its newsletters, the site built from it, and
that directory served over HTTP on 127.0.0.1 by Python's http.server (as any static host would serve it).

Fixtures and helpers for test_web_build.py (the library and the command) and test_web_browser.py (Chromium).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from actionmail import web
from actionmail.config import load_project
from tests.conftest import EXAMPLES, ROOT

SITE = "https://www.seattleindivisible.com/daily-actions/"
PREFIX = "daily-actions"  # the path of SITE: where the index and the feed are in the output directory


# The web tests count the pages, calendar files and feed entries of these three; the examples added since (each one
# rendered, validated and checked by the render tests) would change every count without testing more of the site.
WEB_EXAMPLES = [
    p
    for p in EXAMPLES
    if p.stem
    in (
        "2019-08-01-no-police-facial-recognition",
        "2019-09-16-climate-strike-green-new-deal-budget",
        "2019-11-13-dreamers-no-pueden-esperar",
    )
]


def copy_project(directory: Path, newsletters: list[Path] = WEB_EXAMPLES) -> Path:
    """The example project (settings, officials) and ``newsletters`` in ``directory``."""
    shutil.copy(ROOT / "actionmail.toml", directory)
    shutil.copy(ROOT / "officials.yaml", directory)
    (directory / "newsletters").mkdir(exist_ok=True)
    for path in newsletters:
        shutil.copy(path, directory / "newsletters")
    return directory


def files(output: Path) -> dict[str, bytes]:
    """Every file in ``output``, by its path relative to it."""
    return {p.relative_to(output).as_posix(): p.read_bytes() for p in sorted(output.rglob("*")) if p.is_file()}


@pytest.fixture
def examples(project: Path) -> Path:
    """The example project with its three newsletters, as the current directory."""
    return copy_project(project)


@dataclass(frozen=True)
class Served:
    """A built site, served: ``output`` is the directory, ``base`` its address (http://127.0.0.1:PORT)."""

    project: Path
    output: Path
    built: web.Built
    base: str

    def url(self, path: str) -> str:
        return self.base + path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The examples' site, built once for the module, served by http.server in a thread."""
    root = copy_project(tmp_path_factory.mktemp("project"))
    output = root / "site"
    built = web.build(load_project(root), output)
    handler = functools.partial(_Quiet, directory=str(output))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(root, output, built, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
