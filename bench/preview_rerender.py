"""Benchmark: from saving the seed newsletter to the preview page showing the change (goal: under 300 ms).

    .venv/bin/python bench/preview_rerender.py [--saves 20]

Runs `actionmail preview DIR --no-open --port 0` (the real command, in its own process) on a copy of the example
project with the seed newsletter, and saves the seed's headline again and again, as an editor would. Each save is
timed three ways, in one run:

- ``event``: until the page's event stream says the newsletter changed (watchfiles noticing the save, debounced,
  and the server forgetting what it had rendered);
- ``http``: until the page's own requests after that event — the view (``/api/view``: subject, text, HTML, MJML,
  headers) and the framed email (``/email``) — have come back with the new headline: the re-render included;
- ``browser``: in headless Chromium (where /usr/bin/chromium is), until the phone frame of the open page shows
  the new headline — everything the organizer waits for.

Peer, in the same run: a cold `actionmail render SEED -o OUT.html` (a fresh process: what re-running the command
by hand after each save costs).
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "newsletters" / "2019-08-01-no-police-facial-recognition.yaml"
ACTIONMAIL = Path(sys.executable).with_name("actionmail")
HEADLINE = "headline: No police partnerships on facial recognition in Seattle"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip


# The preview's secret, as the cookie a browser gets from the address the command prints.
COOKIE: dict[str, str] = {}


def project(directory: Path) -> Path:
    shutil.copy(ROOT / "actionmail.toml", directory)
    shutil.copy(ROOT / "officials.yaml", directory)
    (directory / "newsletters").mkdir()
    return Path(shutil.copy(SEED, directory / "newsletters"))


def start(directory: Path) -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [str(ACTIONMAIL), "preview", "newsletters", "--no-open", "--port", "0"],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()  # "Previewing 1 newsletter in newsletters at http://localhost:PORT/?token=…"
    address = urllib.parse.urlsplit(line.rsplit(" ", 1)[1].strip())
    port = address.port or 0
    COOKIE["Cookie"] = f"actionmail-preview-{port}={urllib.parse.parse_qs(address.query)['token'][0]}"
    time.sleep(0.5)  # the watch is set up
    return server, port


def save(path: Path, number: int) -> str:
    text = SEED.read_text(encoding="utf-8")
    headline = f"{HEADLINE}, take {number}"
    path.write_text(text.replace(HEADLINE, headline, 1), encoding="utf-8")
    return headline.removeprefix("headline: ")


def read_event(stream: http.client.HTTPResponse) -> None:
    while not stream.readline().startswith(b"data: "):
        pass


def fetch(port: int, path: str) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=COOKIE)
    with urllib.request.urlopen(request, timeout=10) as response:
        body: str = response.read().decode()
        return body


def over_http(port: int, path: Path, saves: int) -> tuple[list[float], list[float]]:
    entry = "id=newsletters%2F" + SEED.name
    events, ready = [], []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/events", headers=COOKIE)
    stream = connection.getresponse()
    stream.readline()
    for number in range(saves):
        started = time.perf_counter()
        headline = save(path, number)
        read_event(stream)
        events.append(time.perf_counter() - started)
        view = json.loads(fetch(port, f"/api/view?{entry}"))
        email = fetch(port, f"/email?{entry}&frame=1")
        ready.append(time.perf_counter() - started)
        assert headline in view["html"] and headline in email, "the page got the old version"
        time.sleep(0.3)
    connection.close()
    return events, ready


def in_browser(port: int, path: Path, saves: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/?token={COOKIE['Cookie'].split('=', 1)[1]}")
        page.wait_for_function("document.getElementById('status').textContent === 'live'")
        shown = "(h) => document.getElementById('frame-phone').contentDocument?.querySelector('h1')?.textContent === h"
        for number in range(saves):
            started = time.perf_counter()
            headline = save(path, 1000 + number)
            page.wait_for_function(shown, arg=headline, polling=5)
            times.append(time.perf_counter() - started)
            time.sleep(0.3)
        browser.close()
    return times


def cold_render(directory: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [str(ACTIONMAIL), "render", f"newsletters/{SEED.name}", "-o", "out.html"],
            cwd=directory,
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - started)
    return times


def summary(name: str, seconds: list[float]) -> dict[str, object]:
    ms: Callable[[float], float] = lambda s: round(s * 1000, 1)  # noqa: E731
    ordered = sorted(seconds)
    return {
        "measure": name,
        "runs": len(seconds),
        "median_ms": ms(statistics.median(seconds)),
        "p90_ms": ms(ordered[int(0.9 * (len(ordered) - 1))]),
        "max_ms": ms(ordered[-1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="actionmail-preview-bench-") as temporary:
        directory = Path(temporary)
        path = project(directory)
        server, port = start(directory)
        try:
            fetch(port, f"/api/view?id=newsletters%2F{SEED.name}")  # the first render compiles the templates
            events, ready = over_http(port, path, args.saves)
            print(json.dumps(summary("event", events)))
            print(json.dumps(summary("http", ready)))
            if CHROMIUM.exists():
                print(json.dumps(summary("browser", in_browser(port, path, args.saves))))
        finally:
            server.terminate()
            server.wait()
        print(json.dumps(summary("peer: cold actionmail render", cold_render(directory, 5))))


if __name__ == "__main__":
    main()
