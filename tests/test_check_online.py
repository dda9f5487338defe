"""`check --online` against a real HTTP server on 127.0.0.1: what answers, what doesn't, asked once, remembered."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import check
from actionmail.check import online
from actionmail.cli import main
from tests.conftest import write


class Site(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[str, str]]
    in_flight = 0
    most_in_flight = 0
    lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: Site

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, *, body: bool) -> None:
        with self.server.lock:
            self.server.requests.append((self.command, self.path))
            self.server.in_flight += 1
            self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
        try:
            status, location = self._route()
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "2" if body else "0")
            self.end_headers()
            if body:
                self.wfile.write(b"ok")
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def _route(self) -> tuple[int, str]:
        path = self.path
        if path.startswith("/slow"):
            time.sleep(0.3 if path.startswith("/slow-") else 2.0)
            return 200, ""
        if path == "/no-head":  # a server that refuses HEAD, but serves the page
            return (405 if self.command == "HEAD" else 200), ""
        if path == "/moved":
            return 301, "/ok"
        if path == "/moved-away":
            return 302, "/missing"
        return (200, "") if path == "/ok" else (404, "")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site(("127.0.0.1", 0), Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def draft_linking(
    project: Path, site: Site, paths: list[str], name: str = "day.yaml", base: str | None = None
) -> check.Draft:
    base = base or f"http://127.0.0.1:{site.server_address[1]}"
    links = "\n".join(f"  - [Page {i}]({base}{path})" for i, path in enumerate(paths))
    path = write(
        project / "newsletters",
        name,
        f"""\
date: 2019-08-01
subject: Call the mayor about Ring
preheader: Ask Mayor Durkan to ban police partnerships with Ring.
headline: No police partnerships on facial recognition
background: |
{links}
actions:
  - kind: read
    title: Read the coverage
    link: {{text: Read the coverage, url: "{base}/ok"}}
""",
    )
    project_, newsletter = check.load(path)
    return check.make_draft(path, project_, newsletter)


def test_each_address_is_asked_once_head_then_get(project: Path, site: Site, tmp_path: Path) -> None:
    paths = ["/ok", "/missing", "/no-head", "/moved", "/moved-away", "/slow"]
    drafts = [draft_linking(project, site, paths), draft_linking(project, site, paths, "other.yaml")]
    base = f"http://127.0.0.1:{site.server_address[1]}"
    problems = online.reachability(drafts, timeout=0.5, cache=tmp_path / "links.json")
    assert [str(p) for p in problems] == [
        f"newsletters/{name}:{line}: background: {what}: correct the address, or link to another page"
        for line, what in [
            (7, f"{base}/missing answered 404 Not Found ('Page 1')"),
            (10, f"{base}/moved-away answered 404 Not Found ('Page 4')"),
            (11, f"warning: {base}/slow did not answer within 0.5 s ('Page 5')"),
        ]
        for name in ("day.yaml", "other.yaml")
    ]
    # The rendered email links to each address many times (and two newsletters do): each was asked once, by
    # HEAD, and by GET only where HEAD did not answer well.
    asked = sorted(site.requests)
    assert asked.count(("HEAD", "/ok")) == 2  # asked directly, and at the end of /moved
    assert ("GET", "/ok") not in asked
    assert ("GET", "/no-head") in asked and ("GET", "/missing") in asked
    assert asked.count(("HEAD", "/missing")) == 2  # directly, and at the end of /moved-away


def test_good_answers_are_remembered_for_a_day(project: Path, site: Site, tmp_path: Path) -> None:
    cache = tmp_path / "links.json"
    draft = draft_linking(project, site, ["/ok", "/missing"])
    first = online.reachability([draft], cache=cache, now=1_000_000.0)
    asked = len(site.requests)
    again = online.reachability([draft], cache=cache, now=1_000_000.0 + 3600)
    assert [str(p) for p in again] == [str(p) for p in first] and len(first) == 1
    assert site.requests[asked:] == [("HEAD", "/missing"), ("GET", "/missing")]  # only the failure is asked again
    online.reachability([draft], cache=cache, now=1_000_000.0 + 25 * 3600)
    assert ("HEAD", "/ok") in site.requests[asked + 2 :]  # a day later, asked again


def test_addresses_are_asked_at_the_same_time(project: Path, site: Site, tmp_path: Path) -> None:
    draft = draft_linking(project, site, ["/slow-1", "/slow-2", "/slow-3", "/slow-4"])
    assert online.reachability([draft], timeout=5, cache=tmp_path / "links.json") == []
    assert site.most_in_flight > 1


def test_an_unreachable_address_is_an_error(project: Path, site: Site, tmp_path: Path) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens on this port now
    draft = draft_linking(project, site, ["/page"], base=f"http://127.0.0.1:{port}")
    # No link answers, but the machine is online: the probe (here the site, standing in for example.com) answers.
    answering = [("127.0.0.1", site.server_address[1])]
    problems = [
        str(p) for p in online.reachability([draft], timeout=2, cache=tmp_path / "links.json", probes=answering)
    ]
    assert problems[0] == (
        f"newsletters/day.yaml:6: background: http://127.0.0.1:{port}/page could not be reached (connection error) "
        "('Page 0'): correct the address, or link to another page"
    )


def test_check_online_on_the_command_line(project: Path, site: Site) -> None:
    draft_linking(project, site, ["/missing"])
    base = f"http://127.0.0.1:{site.server_address[1]}"
    offline = CliRunner().invoke(main, ["check", "--as-of", "2019-08-01"])
    assert offline.exit_code == 0 and "answered" not in offline.output  # --online is what asks
    result = CliRunner().invoke(main, ["check", "--online", "--as-of", "2019-08-01"])
    assert result.exit_code == 2
    assert (
        f"newsletters/day.yaml:6: background: {base}/missing answered 404 Not Found ('Page 0'): correct the "
        "address, or link to another page\n"
    ) in result.output
    assert result.output.endswith("1 newsletter checked: 1 error, 2 warnings\n")  # the two http: links


def closed_port() -> int:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens on this port now
    return port


OFFLINE = (
    "check --online: warning: no address answered, nor did 127.0.0.1: this machine seems to be offline, so {} "
    "addresses linked to could not be checked: connect to the internet and check again (the other checks ran)"
)


def test_offline_is_said_once_instead_of_every_link_broken(project: Path, site: Site, tmp_path: Path) -> None:
    first, second = closed_port(), closed_port()
    drafts = [
        draft_linking(project, site, ["/a", "/b"], base=f"http://127.0.0.1:{first}"),
        draft_linking(project, site, ["/c"], "other.yaml", base=f"http://127.0.0.1:{second}"),
    ]
    nothing_answers = [("127.0.0.1", closed_port())]
    problems = online.reachability(drafts, timeout=2, cache=tmp_path / "links.json", probes=nothing_answers)
    assert [str(p) for p in problems] == [OFFLINE.format(5)]  # /a, /b, /c and each base's /ok


def test_offline_on_the_command_line(project: Path, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    draft_linking(project, site, ["/a", "/b"], base=f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setattr(online, "PROBES", (("127.0.0.1", closed_port()),))
    result = CliRunner().invoke(main, ["check", "--online", "--as-of", "2019-08-01"])
    assert result.exit_code == 0
    assert "could not be reached" not in result.output
    assert result.output.count("seems to be offline") == 1
    assert OFFLINE.format(3) + "\n" in result.output
    assert result.output.endswith("1 newsletter checked: 4 warnings\n")  # and the three http: links


def test_the_probe(site: Site) -> None:
    assert online.any_answers([("127.0.0.1", closed_port()), ("127.0.0.1", site.server_address[1])], timeout=2)
    assert not online.any_answers([("127.0.0.1", closed_port()), ("127.0.0.1", closed_port())], timeout=2)
