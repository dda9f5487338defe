"""`actionmail serve` serves the web edition too: the pages at the paths the emails' "View in your browser" links
have, beside the unsubscribe links, and never the build's own files. And `send` publishes the day's page."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import requests
from click.testing import CliRunner

from actionmail.cli import main
from tests.conftest import SEED, write
from tests.serve.conftest import Served, start, stop


def web_path(project: Path, newsletter: Path) -> str:
    """The path of the newsletter's "View in your browser" link, as `render` writes it into the email."""
    html = project / "seed.html"
    assert CliRunner().invoke(main, ["render", str(newsletter), "-o", str(html)]).exit_code == 0
    link = next(part for part in html.read_text().split('href="')[1:] if "/daily-actions/" in part).split('"')[0]
    return urllib.parse.urlsplit(link).path


def test_serve_serves_the_site_that_send_publishes(members: Path) -> None:
    seed = write(members / "newsletters", SEED.name, SEED.read_text())
    sent = CliRunner().invoke(main, ["send", str(seed), "--yes"])
    assert sent.exit_code == 0, sent.output
    assert "Published site/daily-actions/2019/8/1/" in sent.output  # the day's page, once the email is out
    path = web_path(members, seed)
    served: Served = start(members)
    try:
        page = requests.get(served.base + path, timeout=10)  # without the slash: redirected to the directory's page
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        subject = next(line for line in SEED.read_text().splitlines() if line.startswith("subject:"))
        assert subject.partition(":")[2].strip().strip("'\"")[:30] in page.text
        assert "unsubscribe/" not in page.text  # nothing of any member's
        index = requests.get(served.base + "/daily-actions/", timeout=10)
        assert index.status_code == 200 and path.rstrip("/").rsplit("/", 1)[-1] in index.text
        assert requests.get(served.base + "/daily-actions/feed.xml", timeout=10).status_code == 200
        # The build's bookkeeping, the project's files, and anything else: not found, never an error.
        for hidden in ["/.actionmail-web.json", "/daily-actions/.x", "/../actionmail.toml", "/actionmail.db",
                       "/%2e%2e/actionmail.toml", "/nothing-here"]:  # fmt: skip
            answer = requests.get(served.base + hidden, timeout=10)
            assert answer.status_code == 404, hidden
        assert requests.post(served.base + path + "/", data={"x": "1"}, timeout=10).status_code == 405
        assert requests.get(served.base + "/healthz", timeout=10).text == "ok\n"  # its own routes come first
    finally:
        stop(served)
    assert "Traceback" not in served.log


def test_a_site_not_built_yet_is_not_found(members: Path) -> None:
    served = start(members)
    try:
        assert requests.get(served.base + "/daily-actions/", timeout=10).status_code == 404
    finally:
        stop(served)
