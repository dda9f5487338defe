"""`actionmail preview` over HTTP: its JSON API, the emails it serves, its event stream; and the command itself.

The page in a browser: test_preview_browser.py. The server, the project and the helpers: conftest.py.
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import subprocess
import sys
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from click.testing import CliRunner

from actionmail import audience
from actionmail.cli import main
from actionmail.cli.preview import HOOKS
from actionmail.preview import PreviewServer, Workspace
from tests.conftest import ROOT, SEED
from tests.fakes.smtp import SMTPServer
from tests.preview.conftest import (
    HEADLINE,
    OTHER_ID,
    SEED_ID,
    SUBJECT,
    base,
    edit,
    eventually,
    get,
    line_of,
    post,
)

# --- over HTTP ----------------------------------------------------------------------------------------------------


def test_the_list_is_newest_first_and_a_translation_is_previewed_with_its_newsletter(server: PreviewServer) -> None:
    translation = Path("newsletters") / f"{SEED.stem}.es.yaml"
    text = (
        SEED.read_text().replace(SUBJECT, "subject: No a la vigilancia facial").replace("language: en", "language: es")
    )
    translation.write_text(text, encoding="utf-8")
    assert eventually(lambda: "es:3" in [v["id"] for v in get(server, "/api/view", id=SEED_ID).json()["variants"]])
    names = [n["id"] for n in get(server, "/api/newsletters").json()["newsletters"]]
    assert names == [OTHER_ID, SEED_ID]
    spanish = get(server, "/api/view", id=SEED_ID, variant="es:3").json()
    assert spanish["subject"] == "No a la vigilancia facial"


def test_one_file_alone(newsletters: Path) -> None:
    workspace = Workspace([Path(SEED_ID)], HOOKS)
    assert [e.id for e in workspace.entries] == [SEED_ID]
    assert workspace.watched() == [newsletters.parent.resolve(), newsletters.resolve()]  # the project, the file's
    assert workspace.view(SEED_ID, None, None)["subject"] == HEADLINE


def test_a_save_no_watcher_reported_is_seen_at_the_next_request(newsletters: Path) -> None:
    """No watch runs here: the workspace alone notices that the file changed since it was read (a save made while
    a watch restarts, or on a file system that reports none, must not leave the page stale)."""
    workspace = Workspace([Path(SEED_ID)], HOOKS)
    assert workspace.view(SEED_ID, None, None)["subject"] == HEADLINE
    edit(Path(SEED_ID), SUBJECT, SUBJECT + ", again")
    assert workspace.view(SEED_ID, None, None)["subject"] == HEADLINE + ", again"
    assert workspace.view(SEED_ID, "en:3", None)["subject"] == HEADLINE + ", again"


def test_a_variant_names_its_own_councilmember(server: PreviewServer) -> None:
    view = get(server, "/api/view", id=SEED_ID, variant="en:3").json()
    assert view["label"] == "en · district 3"
    assert "Kshama Sawant" in view["names"] and "Kshama Sawant" in view["html"]
    assert "Kshama Sawant" not in get(server, "/api/view", id=SEED_ID, variant="en:1").json()["html"]
    assert get(server, "/api/view", id=SEED_ID, variant="en:99").status_code == 404


def test_headers_are_the_ones_a_send_gives(server: PreviewServer) -> None:
    headers = get(server, "/api/view", id=SEED_ID).json()["headers"]
    assert list(headers)[:2] == ["Subject", "Preheader"]
    assert headers["Preheader"] == "Call Mayor Durkan and the City Council today, then vote by Tuesday."
    assert headers["From"] == "Seattle Indivisible <action@seattleindivisible.com>"
    assert headers["Reply-To"] == "info@seattleindivisible.com"
    assert headers["List-Unsubscribe"].startswith("<https://www.seattleindivisible.com/unsubscribe/")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.database
def test_a_member_sees_their_own_variant_name_and_link(server: PreviewServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", "k" * 40)
    assert get(server, "/api/view", id=SEED_ID, member="ana@example.org").status_code == 400  # no database yet
    with audience.Store.open(Path("actionmail.db")) as store:
        store.add("ana@example.org", first_name="Ana", last_name="Pérez", district="3", known_districts=["3"])
    view = get(server, "/api/view", id=SEED_ID, member="ana@example.org").json()
    assert view["variant"] == "en:3"
    assert view["headers"]["To"] == "Ana Pérez <ana@example.org>"
    assert "/unsubscribe/preview" not in view["html"]  # signed for her, as a send would
    sheet = {v["id"]: v["members"] for v in get(server, "/api/sheet", id=SEED_ID).json()["variants"]}
    assert sheet == {"en:1": 0, "en:2": 0, "en:3": 1, "en:4": 0, "en:5": 0, "en:6": 0, "en:7": 0, "en:": 0}
    missing = get(server, "/api/view", id=SEED_ID, member="nobody@example.org")
    assert missing.status_code == 400 and "no such member" in missing.json()["error"]


@pytest.mark.database
def test_the_reload_script_is_only_in_what_the_preview_serves(server: PreviewServer, tmp_path: Path) -> None:
    alone = get(server, "/email", id=SEED_ID).text
    framed = get(server, "/email", id=SEED_ID, frame="1").text
    assert "/static/live.js" in alone and alone.index("/static/live.js") < alone.rindex("</body>")
    assert "/static/live.js" not in framed
    assert "live.js" not in get(server, "/api/view", id=SEED_ID).json()["html"]  # the HTML tab, the size meter
    runner = CliRunner()
    rendered = runner.invoke(main, ["render", SEED_ID, "-o", str(tmp_path / "out.html")])
    assert rendered.exit_code == 0, rendered.output
    assert "live.js" not in (tmp_path / "out.html").read_text() and "EventSource" not in framed
    sent = runner.invoke(main, ["send", SEED_ID, "--to", "me@example.org"])
    assert sent.exit_code == 0, sent.output
    (eml,) = Path("outbox").glob("*/*.eml")
    assert b"live.js" not in eml.read_bytes() and b"EventSource" not in eml.read_bytes()


def test_dark_mode_switches_on_the_emails_own_dark_styles(server: PreviewServer) -> None:
    light = get(server, "/email", id=SEED_ID, frame="1").text
    dark = get(server, "/email", id=SEED_ID, frame="1", dark="1").text
    assert "@media (prefers-color-scheme: dark)" in light
    assert "prefers-color-scheme: dark" not in dark and "@media (min-width: 0px)" in dark
    assert dark.replace("(min-width: 0px)", "(prefers-color-scheme: dark)") == light


def read_event(stream: http.client.HTTPResponse) -> dict[str, Any]:
    while True:
        line = stream.readline().decode()
        assert line, "the event stream ended"
        if line.startswith("data: "):
            data: dict[str, Any] = json.loads(line.removeprefix("data: "))
            return data


def test_saving_sends_an_event_naming_what_changed(server: PreviewServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("GET", "/events", headers={"Cookie": f"{server.access.cookie_name}={server.access.token}"})
        stream = connection.getresponse()
        assert stream.getheader("Content-Type") == "text/event-stream"
        assert stream.readline() == b"retry: 500\n"
        edit(Path(SEED_ID), SUBJECT, SUBJECT + ", now")
        assert read_event(stream) == {"ids": [SEED_ID], "shared": False, "listing": False, "number": 1}
        assert get(server, "/api/view", id=SEED_ID).json()["subject"].endswith(", now")
        edit(Path("officials.yaml"), "206-684-8803", "206-684-8899")
        assert read_event(stream)["shared"] is True
        assert "(206) 684-8899" in get(server, "/api/view", id=SEED_ID, variant="en:3").json()["names"]
        Path(OTHER_ID).unlink()
        assert read_event(stream) == {"ids": [], "shared": False, "listing": True, "number": 3}
        assert [n["id"] for n in get(server, "/api/newsletters").json()["newsletters"]] == [SEED_ID]
    finally:
        connection.close()


def test_a_mistake_is_shown_with_file_and_line_and_the_server_recovers(server: PreviewServer) -> None:
    path = Path(SEED_ID)
    edit(path, "headline:", "hedline:")
    line = line_of(path, "hedline:")
    broken = eventually(lambda: get(server, "/api/view", id=SEED_ID).status_code == 422)
    assert broken
    problems = get(server, "/api/view", id=SEED_ID).json()["problems"]
    expected = f"{SEED_ID}:{line}: hedline: unknown key: did you mean 'headline'?"
    assert any(p["text"].startswith(expected) for p in problems), problems
    assert all(p["file"] == SEED_ID and p["line"] for p in problems)
    assert get(server, "/email", id=SEED_ID, frame="1").status_code == 422
    listing = get(server, "/api/newsletters").json()["newsletters"]
    assert next(n["problems"] for n in listing if n["id"] == SEED_ID) >= 1
    path.write_text("date: [unclosed\n", encoding="utf-8")  # not even YAML
    assert eventually(lambda: "YAML syntax error" in get(server, "/api/view", id=SEED_ID).text)
    shutil.copy(SEED, path)
    assert eventually(lambda: get(server, "/api/view", id=SEED_ID).status_code == 200)


def test_no_input_stops_the_server(server: PreviewServer) -> None:
    """Whatever is saved — not text, not a mapping, broken settings or officials, a folder gone — the server
    keeps answering, and shows the newsletter again once the files are back."""
    path, settings, officials = Path(SEED_ID), Path("actionmail.toml"), Path("officials.yaml")
    good = {p: p.read_bytes() for p in (path, settings, officials)}

    def shows(text: str) -> bool:
        response = get(server, "/api/view", id=SEED_ID)
        return response.status_code == 422 and text in response.text

    path.write_bytes(b"\xff\xfe not UTF-8")
    assert eventually(lambda: shows("not UTF-8 text"))
    path.write_text("- a list\n- not a newsletter\n", encoding="utf-8")
    assert eventually(lambda: shows(SEED_ID))
    path.write_bytes(good[path])
    settings.write_text("[organization\n", encoding="utf-8")
    assert eventually(lambda: shows("TOML syntax error"))
    settings.write_bytes(good[settings])
    officials.write_text("officials: 3\n", encoding="utf-8")
    assert eventually(lambda: shows("officials.yaml"))
    officials.write_bytes(good[officials])
    assert eventually(lambda: get(server, "/api/view", id=SEED_ID).status_code == 200)
    settings.unlink()  # the built-in defaults apply
    assert eventually(lambda: "Your organization" in get(server, "/api/view", id=SEED_ID).json()["headers"]["From"])
    settings.write_bytes(good[settings])
    assert eventually(lambda: "Seattle" in get(server, "/api/view", id=SEED_ID).json()["headers"]["From"])
    shutil.move("newsletters", "elsewhere")
    assert eventually(lambda: get(server, "/api/newsletters").json()["newsletters"] == [])
    assert get(server, "/api/view", id=SEED_ID).status_code == 404
    shutil.move("elsewhere", "newsletters")
    assert eventually(lambda: len(get(server, "/api/newsletters").json()["newsletters"]) == 2)
    edit(path, SUBJECT, SUBJECT + ", again")  # and it is watched again
    assert eventually(lambda: get(server, "/api/view", id=SEED_ID).json().get("subject", "").endswith(", again"))


def test_a_template_mistake_is_shown_for_every_newsletter(server: PreviewServer) -> None:
    (Path("templates")).mkdir()
    shutil.copy(ROOT / "templates" / "email.txt", "templates/email.txt")
    with Path("templates/email.txt").open("a") as f:
        f.write("{% if %}\n")
    for entry in (SEED_ID, OTHER_ID):
        assert eventually(lambda entry=entry: get(server, "/api/view", id=entry).status_code == 422), entry
        assert "templates/email.txt" in get(server, "/api/view", id=entry).json()["problems"][0]["text"]
    Path("templates/email.txt").unlink()
    assert eventually(lambda: get(server, "/api/view", id=SEED_ID).status_code == 200)


def test_check_results_and_the_size_meter(server: PreviewServer) -> None:
    view = get(server, "/api/view", id=SEED_ID).json()
    assert view["size"] == {"bytes": len(view["html"].encode()), "clip": 100 * 1024, "warning": 75 * 1024}
    assert get(server, "/api/check", id=SEED_ID).json() == {"problems": []}
    edit(Path(SEED_ID), "background: |\n", "background: |\n" + "  Too long to read in Gmail. " * 4000 + "\n")
    assert eventually(lambda: get(server, "/api/check", id=SEED_ID).json()["problems"])
    problems = get(server, "/api/check", id=SEED_ID).json()["problems"]
    assert len(problems) == 8  # each district's version, and district unknown
    assert all("Gmail clips emails over about 102 KB" in p["text"] and p["file"] == SEED_ID for p in problems)
    assert {p["severity"] for p in problems} == {"error"}
    assert get(server, "/api/view", id=SEED_ID).json()["size"]["bytes"] > 100 * 1024


def test_only_this_machine_may_ask(server: PreviewServer) -> None:
    response = requests.get(base(server) + "/", headers={"Host": f"attacker.example:{server.port}"}, timeout=5)
    assert response.status_code == 403
    form = post(server, "/api/send-test", data={"to": "x@example.org"}, timeout=5)
    assert form.status_code == 403  # a form from another site can't make it send mail


def test_bad_requests_are_answered_not_fatal(server: PreviewServer) -> None:
    def send_test(body: bytes) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        return post(server, "/api/send-test", data=body, headers=headers, timeout=5)

    assert send_test(b"{not json").status_code == 400
    assert send_test(b"[1, 2]").json()["error"].startswith("send-test takes a JSON object")
    assert get(server, "/api/view", id="../../etc/passwd").status_code == 404
    assert get(server, "/static/../workspace.py").status_code == 404
    assert get(server, "/nowhere").status_code == 404
    assert requests.delete(base(server) + "/", timeout=5).status_code == 501  # not a method it knows
    assert get(server, "/api/view", id=SEED_ID).status_code == 200


def test_send_me_a_test_only_with_a_provider_that_delivers(server: PreviewServer) -> None:
    assert get(server, "/api/view", id=SEED_ID).json()["send_test"] is False  # the outbox
    refused = post(server, "/api/send-test", json={"id": SEED_ID, "to": "me@example.org"}, timeout=5)
    assert refused.status_code == 400 and "[send] provider" in refused.json()["error"]


@pytest.mark.database
def test_send_me_a_test_goes_the_way_send_to_goes(smtp: SMTPServer, server: PreviewServer) -> None:
    assert get(server, "/api/view", id=SEED_ID).json()["send_test"] is True
    response = post(
        server, "/api/send-test", json={"id": SEED_ID, "variant": "en:3", "to": "me@example.org"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.json()["message"].startswith("Sent a test copy of en · district 3 to me@example.org through smtp")
    (delivered,) = smtp.delivered
    assert delivered.rcpt_tos == ["me@example.org"]
    message = message_from_bytes(delivered.message.as_bytes())
    assert message["Subject"] == "[TEST] No police partnerships on facial recognition in Seattle"
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True)
    assert b"Kshama Sawant" in html and b"live.js" not in html


def test_the_preview_never_imports_a_provider() -> None:
    """The house boundary: what sends mail comes in from the command line, as hooks."""
    code = "import sys, actionmail.preview; print(sorted(m for m in sys.modules if m.startswith('actionmail')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "actionmail.preview.server" in loaded
    assert "actionmail.providers" not in loaded and "actionmail.delivery" not in loaded


# --- the command line ---------------------------------------------------------------------------------------------


def test_bad_paths_are_usage_errors(project: Path) -> None:
    runner = CliRunner()
    (project / "newsletters").rmdir()
    missing = runner.invoke(main, ["preview", "--no-open"])
    assert missing.exit_code == 2
    assert "no newsletters/ here" in missing.output
    (project / "newsletters").mkdir()
    empty = runner.invoke(main, ["preview", "newsletters", "--no-open"])
    assert empty.exit_code == 2
    assert "Error: no newsletters in newsletters: name a .yaml file" in empty.output
    assert runner.invoke(main, ["preview", "nowhere.yaml", "--no-open"]).exit_code == 2


def test_a_port_in_use_is_a_usage_error(server: PreviewServer) -> None:
    taken = CliRunner().invoke(main, ["preview", "newsletters", "--no-open", "--port", str(server.port)])
    assert taken.exit_code == 2
    assert f"Error: cannot serve on 127.0.0.1:{server.port} (Address already in use)" in taken.output


def test_the_command_serves_until_interrupted(newsletters: Path) -> None:
    command = [sys.executable, "-m", "actionmail", "preview", "--no-open", "--host", "0.0.0.0", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        warning = process.stderr.readline()
        assert warning.startswith("Warning: serving on 0.0.0.0: the address below and its token cross the network")
        first = process.stdout.readline()
        assert first.startswith("Previewing 2 newsletters in newsletters at http://0.0.0.0:"), first
        url = urlsplit(first.rsplit(" ", 1)[1].strip())
        assert url.path == "/" and url.query.startswith("token=")
        with requests.Session() as browser:  # the address printed lets a browser in, and it stays in
            assert browser.get(f"http://127.0.0.1:{url.port}/?{url.query}", timeout=5).status_code == 200
            assert "No police partnerships" in browser.get(f"http://127.0.0.1:{url.port}/api/newsletters").text
        assert requests.get(f"http://127.0.0.1:{url.port}/api/newsletters", timeout=5).status_code == 403
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Stopped." in err
