"""`actionmail preview`: the real server on a free port, against a copy of the example project, watching it.

HTTP-level tests read the JSON API, the served emails and the event stream; the browser tests drive the page in
real headless Chromium (/usr/bin/chromium) and keep screenshots in tests/artifacts/preview-*.png. Files are edited
on disk, as an organizer's editor would, and the real watcher (watchfiles) picks the changes up.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, expect, sync_playwright

from actionmail import audience
from actionmail.cli import main
from actionmail.cli.preview import HOOKS
from actionmail.preview import PreviewServer, Workspace
from tests.conftest import ROOT, SEED
from tests.fakes.smtp import SMTPServer, free_port

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip
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


def get(server: PreviewServer, path: str, **params: str) -> requests.Response:
    return requests.get(base(server) + path, params=params, timeout=10)


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
        connection.request("GET", "/events")
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
    form = requests.post(base(server) + "/api/send-test", data={"to": "x@example.org"}, timeout=5)
    assert form.status_code == 403  # a form from another site can't make it send mail


def test_bad_requests_are_answered_not_fatal(server: PreviewServer) -> None:
    def send_test(body: bytes) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        return requests.post(base(server) + "/api/send-test", data=body, headers=headers, timeout=5)

    assert send_test(b"{not json").status_code == 400
    assert send_test(b"[1, 2]").json()["error"].startswith("send-test takes a JSON object")
    assert get(server, "/api/view", id="../../etc/passwd").status_code == 404
    assert get(server, "/static/../workspace.py").status_code == 404
    assert get(server, "/nowhere").status_code == 404
    assert requests.delete(base(server) + "/", timeout=5).status_code == 501  # not a method it knows
    assert get(server, "/api/view", id=SEED_ID).status_code == 200


def test_send_me_a_test_only_with_a_provider_that_delivers(server: PreviewServer) -> None:
    assert get(server, "/api/view", id=SEED_ID).json()["send_test"] is False  # the outbox
    refused = requests.post(base(server) + "/api/send-test", json={"id": SEED_ID, "to": "me@example.org"}, timeout=5)
    assert refused.status_code == 400 and "[send] provider" in refused.json()["error"]


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


def test_send_me_a_test_goes_the_way_send_to_goes(smtp: SMTPServer, server: PreviewServer) -> None:
    assert get(server, "/api/view", id=SEED_ID).json()["send_test"] is True
    response = requests.post(
        base(server) + "/api/send-test", json={"id": SEED_ID, "variant": "en:3", "to": "me@example.org"}, timeout=10
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
        assert process.stderr.readline().startswith("Warning: serving on 0.0.0.0: anyone who can reach this machine")
        first = process.stdout.readline()
        assert first.startswith("Previewing 2 newsletters in newsletters at http://0.0.0.0:"), first
        port = int(first.rstrip().rstrip("/").rsplit(":", 1)[1])
        assert "No police partnerships" in requests.get(f"http://127.0.0.1:{port}/api/newsletters", timeout=5).text
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Stopped." in err


# --- in the browser -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, server: PreviewServer) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(base(server) + "/")
    expect(page.locator("#status")).to_have_text("live")
    yield page
    page.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"preview-{name}.png"), full_page=True)


def open_seed(page: Page) -> None:
    """Choose the seed in the list (the other one, newer, is shown first) and wait until it is shown."""
    page.locator(f"#newsletters button[data-id='{SEED_ID}']").click()
    expect(page.locator("#title")).to_have_text(HEADLINE)
    expect(page.frame_locator("#frame-phone").locator("h1")).to_have_text(HEADLINE)


@pytest.mark.browser
def test_the_page_lists_newsletters_and_frames_them_at_two_widths(page: Page) -> None:
    expect(page.locator("#newsletters button")).to_have_count(2)
    expect(page.locator("#newsletters button").first).to_contain_text("Strike for the climate")
    open_seed(page)
    phone, desktop = page.frame_locator("#frame-phone"), page.frame_locator("#frame-desktop")
    expect(phone.locator("h1")).to_have_text(HEADLINE)
    widths = page.evaluate(
        "['phone', 'desktop'].map(w => document.getElementById('frame-' + w).contentWindow.innerWidth)"
    )
    assert widths == [375, 600]
    assert desktop.locator("h1").is_visible()
    expect(page.locator("#send-test")).to_be_hidden()  # the outbox delivers nothing to try
    shot(page, "side-by-side")
    page.get_by_label("Phone 375").check()
    expect(page.locator("#frame-phone")).to_be_visible()
    expect(page.locator("#frame-desktop")).to_be_hidden()
    page.get_by_label("Wide 900").check()
    expect(page.locator("#frame-wide")).to_be_visible()
    expect(page.locator("#frame-phone")).to_be_hidden()
    assert page.evaluate("document.getElementById('frame-wide').contentWindow.innerWidth") == 900


@pytest.mark.browser
def test_tabs_show_text_html_mjml_and_headers(page: Page) -> None:
    open_seed(page)
    page.get_by_role("tab", name="Plain text").click()
    expect(page.locator("#text")).to_be_visible()
    expect(page.locator("#text")).to_contain_text("Tell our City Leaders to ban police partnerships")
    expect(page.locator("#tab-email")).to_be_hidden()
    page.get_by_role("tab", name="HTML source").click()
    expect(page.locator("#html")).to_contain_text(re.compile("^<!doctype html>", re.IGNORECASE))
    page.get_by_role("tab", name="MJML").click()
    expect(page.locator("#mjml")).to_contain_text("<mjml")
    page.get_by_role("tab", name="Headers").click()
    expect(page.locator("#headers")).to_contain_text("List-Unsubscribe")
    expect(page.locator("#headers")).to_contain_text("Call Mayor Durkan and the City Council today")
    shot(page, "headers")


@pytest.mark.browser
def test_variant_picker_and_the_sheet_of_every_variant(page: Page) -> None:
    open_seed(page)
    phone = page.frame_locator("#frame-phone").locator("body")
    expect(phone).to_contain_text("Lisa Herbold")  # district unknown: every district's councilmember
    page.locator("#variant").select_option("en:3")
    expect(phone).not_to_contain_text("Lisa Herbold")
    expect(phone).to_contain_text("Kshama Sawant")
    assert "variant=en%3A3" in page.evaluate("location.hash")
    page.locator("#variant").select_option("en:1")
    expect(page.frame_locator("#frame-phone").locator("body")).not_to_contain_text("Kshama Sawant")
    page.get_by_role("tab", name="Every variant").click()
    cards = page.locator("#sheet article")
    expect(cards).to_have_count(8)  # districts 1–7 and district unknown
    expect(page.locator("#sheet article[data-variant='en:3'] .names")).to_contain_text("Kshama Sawant (206) 684-8803")
    expect(page.locator("#sheet article[data-variant='en:1'] .names")).not_to_contain_text("Sawant")
    district_3 = page.frame_locator("#sheet article[data-variant='en:3'] iframe")
    expect(district_3.locator("[data-whom]")).to_contain_text("Kshama Sawant")  # marked, and scrolled to
    expect(district_3.locator("[data-whom]")).to_be_in_viewport()
    expect(district_3.locator("[data-whom]")).not_to_contain_text("Lisa Herbold")
    shot(page, "every-variant")


@pytest.mark.browser
def test_size_meter_check_results_and_dark_mode(page: Page) -> None:
    open_seed(page)
    expect(page.locator("#check-summary")).to_have_text("no problems")
    size = page.evaluate("document.getElementById('size').value")
    served = page.evaluate(
        "(id) => fetch('/email?' + new URLSearchParams({id, frame: '1'})).then(r => r.arrayBuffer()).then(b => b.byteLength)",
        SEED_ID,
    )
    assert size == served
    expect(page.locator("#size-text")).to_have_text(f"{served / 1000:.1f} KB of the 102.4 KB where Gmail clips")
    # The email's background as Chromium painted it (null while the frame is loading).
    background = """(() => {
      const body = document.getElementById('frame-phone').contentDocument?.querySelector('.am-body');
      return body ? getComputedStyle(body).backgroundColor : null;
    })()"""
    assert page.evaluate(background) == "rgb(244, 244, 244)"  # colors.background, #f4f4f4
    page.get_by_label("Dark mode").check()
    page.wait_for_function(f"{background} === 'rgb(22, 24, 27)'")  # the template's dark background, #16181b
    shot(page, "dark")
    edit(Path(SEED_ID), "background: |\n", "background: |\n" + "  Too long to read in Gmail. " * 2000 + "\n")
    expect(page.locator("#check-summary")).to_have_text("8 warnings")  # 75 to 100 KB: close to the clip
    expect(page.locator("#check-list li.warning")).to_have_count(8)
    assert 75 * 1024 < page.evaluate("document.getElementById('size').value") <= 100 * 1024


@pytest.mark.browser
def test_live_edit_break_and_recover(page: Page) -> None:
    open_seed(page)
    page.locator("#variant").select_option("en:3")
    edit(Path(SEED_ID), SUBJECT, SUBJECT + " — today")
    expect(page.locator("#title")).to_have_text("No police partnerships on facial recognition in Seattle — today")
    edit(Path("officials.yaml"), "206-684-8803", "206-684-8899")
    expect(page.frame_locator("#frame-phone").locator("body")).to_contain_text("(206) 684-8899")
    shot(page, "edited")
    edit(Path(SEED_ID), "headline:", "hedline:")
    line = line_of(Path(SEED_ID), "hedline:")
    expect(page.locator("#problems")).to_be_visible()
    expect(page.locator("#problem-list")).to_contain_text(f"{SEED_ID}:{line}: hedline: unknown key")
    shot(page, "broken")
    edit(Path(SEED_ID), "hedline:", "headline:")
    expect(page.locator("#problems")).to_be_hidden()
    expect(page.frame_locator("#frame-phone").locator("h1")).to_be_visible()
    shot(page, "recovered")


@pytest.mark.browser
def test_only_the_views_of_what_changed_reload(page: Page) -> None:
    open_seed(page)
    page.evaluate("document.getElementById('frame-phone').contentWindow.kept = true")
    edit(Path(OTHER_ID), 'subject: "Strike for the climate', 'subject: "Walk out for the climate')
    expect(page.locator("#newsletters")).to_contain_text("Walk out for the climate")
    assert page.evaluate("document.getElementById('frame-phone').contentWindow.kept") is True
    edit(Path(SEED_ID), SUBJECT, SUBJECT + " — today")
    page.wait_for_function("document.getElementById('frame-phone').contentWindow.kept !== true")


@pytest.mark.browser
def test_send_me_a_test_from_the_page(smtp: SMTPServer, page: Page) -> None:
    open_seed(page)
    expect(page.locator("#send-test")).to_be_visible()
    page.locator("#send-to").fill("me@example.org")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#send-result")).to_contain_text("Sent a test copy of en · district unknown to me@example.org")
    assert [d.rcpt_tos for d in smtp.delivered] == [["me@example.org"]]


@pytest.mark.browser
def test_a_members_copy_and_the_email_alone_in_a_tab(page: Page) -> None:
    with audience.Store.open(Path("actionmail.db")) as store:
        store.add("ana@example.org", first_name="Ana", district="3", known_districts=["3"])
    open_seed(page)
    page.get_by_label("As member").fill("ana@example.org")
    page.locator("#member-go").click()
    expect(page.locator("#variant")).to_have_value("en:3")
    expect(page.locator("#variant")).to_be_disabled()
    phone = page.frame_locator("#frame-phone").locator("body")
    expect(phone).not_to_contain_text("Lisa Herbold")
    expect(phone).to_contain_text("Kshama Sawant")
    with page.expect_popup() as popup:
        page.locator("#open-tab").click()
    alone = popup.value
    expect(alone.locator("h1")).to_have_text(HEADLINE)
    expect(alone.locator("body")).to_contain_text("Kshama Sawant")
    edit(Path(SEED_ID), f"headline: {HEADLINE}", f"headline: {HEADLINE}, now")
    expect(alone.locator("h1")).to_have_text(f"{HEADLINE}, now")  # it reloaded itself
    alone.close()
