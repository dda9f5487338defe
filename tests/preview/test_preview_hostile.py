"""A bad file never stops the preview: hostile newsletters, files that aren't files, and loads that never end show
their problem in the page, and the server goes on serving, over the real server and watcher.

However the loader treats these (it reports some itself, and may raise or hang on others), the preview shows a
problem with the file's name and no traceback, and serves the other newsletters meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from actionmail.cli.preview import HOOKS
from actionmail.preview import PreviewServer, Workspace
from tests.conftest import SEED
from tests.preview.conftest import OTHER_ID, SEED_ID, edit, eventually, get

BAD_TEXT: dict[str, Callable[[str], str]] = {
    "a NUL": lambda text: text.replace("headline:", "head\x00line:", 1),
    "a control character": lambda text: text.replace("headline:", "head\x07line:", 1),
    "U+FFFF": lambda text: text.replace("headline:", "head\uffffline:", 1),
    "deep nesting": lambda text: text + "extra: " + "[" * 5000 + "]" * 5000 + "\n",
    "a Python tag": lambda text: text.replace("headline: ", "headline: !!python/name:os.system ", 1),
    "an unknown tag": lambda text: text.replace("headline: ", "headline: !!float ", 1),
    "a list for a mapping": lambda text: text.replace("headline: ", "headline: {a: [1, 2]}\nx: ", 1),
}


def shows_a_problem(server: PreviewServer, entry_id: str = SEED_ID) -> bool:
    answer = get(server, "/api/view", id=entry_id)
    assert "Traceback" not in answer.text and 'File "' not in answer.text, answer.text[:500]
    return answer.status_code == 422 and all(p["text"].startswith(entry_id) for p in answer.json()["problems"])


def serving(server: PreviewServer) -> bool:
    listing = get(server, "/api/newsletters")
    assert listing.status_code == 200 and SEED_ID in [n["id"] for n in listing.json()["newsletters"]]
    return get(server, "/api/view", id=OTHER_ID).status_code == 200 and get(server, "/").status_code == 200


def restore(server: PreviewServer, path: Path, good: bytes) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.write_bytes(good)
    assert eventually(lambda: get(server, "/api/view", id=SEED_ID).status_code == 200, timeout=10)


@pytest.mark.parametrize("name", BAD_TEXT)
def test_a_hostile_newsletter_shows_its_problem_and_the_rest_is_served(server: PreviewServer, name: str) -> None:
    path = Path(SEED_ID)
    good = path.read_bytes()
    path.write_text(BAD_TEXT[name](good.decode()), encoding="utf-8")
    assert eventually(lambda: shows_a_problem(server), timeout=10), get(server, "/api/view", id=SEED_ID).text
    assert serving(server)
    restore(server, path, good)


def test_junk_and_a_10_mb_line_are_survived(server: PreviewServer) -> None:
    path = Path(SEED_ID)
    good = path.read_bytes()
    path.write_bytes(bytes(range(256)) * 40)
    assert eventually(lambda: shows_a_problem(server), timeout=10)
    assert serving(server)
    path.write_text(good.decode() + "# " + "x" * 10_000_000 + "\n", encoding="utf-8")
    assert eventually(lambda: get(server, "/api/view", id=SEED_ID).status_code in (200, 422), timeout=20)
    assert serving(server)
    restore(server, path, good)


def test_a_newsletter_replaced_by_what_is_not_a_file_says_so(
    server: PreviewServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = Path(SEED_ID)
    good = path.read_bytes()
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "private.yaml"  # outside the project
    elsewhere.write_bytes(good)
    replacements: list[tuple[Callable[[], None], str]] = [
        (path.mkdir, "a directory, not a newsletter file"),
        (lambda: path.symlink_to(path.with_name("gone.yaml").resolve()), "a link to a file that isn't there"),
        (lambda: path.symlink_to(elsewhere), "a link to a file outside the project"),
        (lambda: os.mkfifo(path), "not an ordinary file"),
    ]
    for replace, what in replacements:
        path.unlink()
        replace()
        assert eventually(lambda what=what: what in get(server, "/api/view", id=SEED_ID).text, timeout=10), what
        assert shows_a_problem(server), what
        listed = {n["id"]: n for n in get(server, "/api/newsletters").json()["newsletters"]}
        assert listed[SEED_ID]["problems"] == 1 and serving(server)
        assert get(server, "/api/check", id=SEED_ID).json()["problems"][0]["text"].startswith(SEED_ID)
        restore(server, path, good)
    # A link to a file inside the project is followed, and saving that file reloads it.
    Path("drafts").mkdir()
    draft = Path("drafts/today.yaml").resolve()
    draft.write_bytes(good)
    path.unlink()
    path.symlink_to(draft)
    assert eventually(lambda: get(server, "/api/view", id=SEED_ID).status_code == 200, timeout=10)
    draft.write_text(good.decode().replace("headline: ", "headline: Linked ", 1), encoding="utf-8")
    assert eventually(lambda: "Linked " in get(server, "/api/view", id=SEED_ID).json()["html"], timeout=10)


@contextlib.contextmanager
def named_pipe(path: Path) -> Iterator[None]:
    """``path`` replaced by a named pipe, which a reader waits on forever; the file is back afterwards (and the
    readers let go)."""
    good = path.read_bytes()
    path.unlink()
    os.mkfifo(path)
    try:
        yield
    finally:
        spare = path.with_name(path.name + ".good")
        spare.write_bytes(good)
        try:  # wakes whoever waits on the pipe; they read nothing, and the file is back for the next
            writer = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # nobody is waiting
            writer = None
        os.replace(spare, path)
        if writer is not None:
            os.close(writer)


def test_a_load_that_never_ends_holds_up_nothing_else(newsletters: Path, caplog: pytest.LogCaptureFixture) -> None:
    """officials.yaml replaced by a named pipe: every load waits on it, forever. The requests give up on it, and
    what doesn't need it (the page, the list) is still served."""
    workspace = Workspace([Path("newsletters")], HOOKS)
    server = PreviewServer(workspace, "127.0.0.1", 0)
    server.start()
    try:
        assert get(server, "/api/view", id=SEED_ID).status_code == 200  # the templates compiled, the caches warm
        workspace.patience = 2.0
        with named_pipe(Path("officials.yaml")):
            still = "still loading after 2 seconds"
            assert eventually(lambda: still in get(server, "/api/view", id=SEED_ID).text, timeout=15)
            assert get(server, "/email", id=SEED_ID, frame="1").status_code == 422

            def listing() -> list[dict[str, Any]]:
                rows: list[dict[str, Any]] = get(server, "/api/newsletters").json()["newsletters"]
                return rows

            assert all(n.get("loading") or n.get("problems") == 1 for n in listing())
            assert eventually(lambda: [n.get("problems") for n in listing()] == [1, 1], timeout=15)
            assert get(server, "/").status_code == 200 and get(server, "/static/preview.js").status_code == 200
        workspace.patience = 10.0
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert f"{SEED_ID}: still loading after 2 s; the preview goes on without it" in warnings
        assert eventually(lambda: get(server, "/api/view", id=SEED_ID).status_code == 200, timeout=10)
    finally:
        server.close()


def test_settings_that_never_end_leave_the_watcher_watching(server: PreviewServer) -> None:
    """actionmail.toml replaced by a named pipe: the watcher, which reads the settings to know what to watch, goes
    on telling the page about saves."""
    seen = server.events.number
    with named_pipe(Path("actionmail.toml")):
        assert eventually(lambda: server.events.number > seen, timeout=10)  # the pipe's arrival, announced
        seen = server.events.number
        edit(Path(OTHER_ID), 'subject: "Strike for the climate', 'subject: "Walk out for the climate')
        assert eventually(lambda: server.events.number > seen, timeout=10)
        assert get(server, "/api/newsletters").status_code == 200
    assert eventually(lambda: "Walk out" in get(server, "/api/view", id=OTHER_ID).text, timeout=15)


def test_an_alias_bomb_leaves_the_real_command_serving(newsletters: Path, tmp_path: Path) -> None:
    """Nine levels of nine aliases ("billion laughs"), in `actionmail preview` run as an organizer runs it (its
    memory capped, in case the loader expands them)."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    command = [sys.executable, "-m", "actionmail", "preview", "newsletters", "--no-open", "--port", "0"]
    with (tmp_path / "stderr.txt").open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, preexec_fn=cap_memory)
    try:
        assert process.stdout is not None
        url = urlsplit(process.stdout.readline().rsplit(" ", 1)[1].strip())
        base = f"http://127.0.0.1:{url.port}"
        with requests.Session() as browser:
            assert browser.get(f"{base}/?{url.query}", timeout=10).status_code == 200
            assert parse_qs(url.query)["token"][0] in browser.cookies.values()

            def view(entry_id: str) -> requests.Response:
                return browser.get(f"{base}/api/view", params={"id": entry_id}, timeout=30)

            assert view(SEED_ID).status_code == 200
            laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
            )
            Path(SEED_ID).write_text(SEED.read_text(encoding="utf-8") + laughs, encoding="utf-8")
            bombed = eventually(lambda: view(SEED_ID).status_code == 422, timeout=30)
            assert bombed, view(SEED_ID).text
            answer = view(SEED_ID)
            assert answer.json()["problems"][0]["text"].startswith(SEED_ID) and "Traceback" not in answer.text
            assert view(OTHER_ID).status_code == 200
            shutil.copy(SEED, SEED_ID)
            assert eventually(lambda: view(SEED_ID).status_code == 200, timeout=30)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
    assert process.returncode == 0, (tmp_path / "stderr.txt").read_text()[-2000:]
