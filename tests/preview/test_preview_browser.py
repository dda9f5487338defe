"""`actionmail preview` in real headless Chromium (/usr/bin/chromium; skipped where it is missing): the page,
its widths, tabs, variants, sheet, size meter, check results and dark mode, and saves reaching it. Screenshots
are kept in tests/artifacts/preview-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from actionmail import audience
from actionmail.cli.preview import HOOKS, opener
from actionmail.preview import PreviewServer, Workspace
from tests.conftest import ARTIFACTS
from tests.fakes.smtp import SMTPServer
from tests.preview.conftest import (
    HEADLINE,
    OTHER_ID,
    SEED_ID,
    SUBJECT,
    base,
    edit,
    line_of,
    opening,
)
from tests.preview.test_preview_hostile import named_pipe

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Browser, server: PreviewServer) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(opening(server))
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


@pytest.mark.database
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


def test_a_hostile_file_shows_its_problem_over_the_last_good_rendering(page: Page) -> None:
    open_seed(page)
    path = Path(SEED_ID)
    good = path.read_bytes()
    path.write_text(good.decode().replace("headline:", "head\x00line:", 1), encoding="utf-8")  # a NUL
    expect(page.locator("#problems")).to_be_visible()
    expect(page.locator("#problem-list")).to_contain_text(SEED_ID)
    expect(page.locator("#error")).to_be_hidden()  # no "internal error", no traceback
    expect(page.frame_locator("#frame-phone").locator("h1")).to_have_text(HEADLINE)  # as it was last saved right
    shot(page, "hostile")
    path.write_bytes(good)
    expect(page.locator("#problems")).to_be_hidden()


def test_only_the_views_of_what_changed_reload(page: Page) -> None:
    open_seed(page)
    page.evaluate("document.getElementById('frame-phone').contentWindow.kept = true")
    edit(Path(OTHER_ID), 'subject: "Strike for the climate', 'subject: "Walk out for the climate')
    expect(page.locator("#newsletters")).to_contain_text("Walk out for the climate")
    assert page.evaluate("document.getElementById('frame-phone').contentWindow.kept") is True
    edit(Path(SEED_ID), SUBJECT, SUBJECT + " — today")
    page.wait_for_function("document.getElementById('frame-phone').contentWindow.kept !== true")


@pytest.mark.database
def test_send_me_a_test_from_the_page(smtp: SMTPServer, page: Page) -> None:
    open_seed(page)
    expect(page.locator("#send-test")).to_be_visible()
    page.locator("#send-to").fill("me@example.org")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#send-result")).to_contain_text("Sent a test copy of en · district unknown to me@example.org")
    assert [d.rcpt_tos for d in smtp.delivered] == [["me@example.org"]]


@pytest.mark.database
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


def test_the_page_opens_only_with_the_address_printed(browser: Browser, server: PreviewServer) -> None:
    """The secret the command prints becomes a cookie that the page's scripts, frames and event stream carry."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    try:
        refused = page.goto(base(server) + "/")
        assert refused is not None and refused.status == 403
        expect(page.locator("h1")).to_have_text("Open the address the preview printed")
        page.goto(opening(server))
        expect(page.locator("#status")).to_have_text("live")  # the event stream
        assert "token" not in page.url  # the secret is out of the address bar and the history
        open_seed(page)  # the page's fetches, and its frames
        (cookie,) = context.cookies()
        assert cookie["name"] == server.access.cookie_name and cookie["value"] == server.access.token
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""  # no script on the page, nor in an email, can read it
        with page.expect_popup() as popup:
            page.locator("#open-tab").click()
        expect(popup.value.locator("h1")).to_have_text(HEADLINE)  # the email alone in a tab
    finally:
        context.close()


def test_a_restarted_preview_asks_for_its_new_address(browser: Browser, newsletters: Path) -> None:
    first = PreviewServer(Workspace([Path("newsletters")], HOOKS), "127.0.0.1", 0)
    first.start()
    page = browser.new_page()
    try:
        page.goto(opening(first))
        expect(page.locator("#status")).to_have_text("live")
        first.close()
        again = PreviewServer(Workspace([Path("newsletters")], HOOKS), "127.0.0.1", first.port)  # a new secret
        again.start()
        try:
            expect(page.locator("#status")).to_have_text("stopped: open the address actionmail preview printed")
            page.goto(opening(again))
            expect(page.locator("#status")).to_have_text("live")
        finally:
            again.close()
    finally:
        page.close()


def test_the_list_asks_again_for_what_is_still_loading(page: Page, server: PreviewServer) -> None:
    """officials.yaml replaced by a named pipe: the list first says nothing of the newsletters it is still loading,
    then, asked again, marks them as not loading (the page shows why when one is chosen)."""
    open_seed(page)
    server.workspace.patience = 1.0
    with named_pipe(Path("officials.yaml")):
        expect(page.locator("#newsletters li.bad")).to_have_count(2, timeout=15_000)
        expect(page.locator("#problem-list")).to_contain_text("still loading after 1 seconds")
    expect(page.locator("#newsletters li.bad")).to_have_count(0, timeout=15_000)


def test_the_command_opens_the_page_without_the_secret_on_a_command_line(
    browser: Browser, server: PreviewServer, tmp_path: Path
) -> None:
    """`actionmail preview` launches a file only its user can read, which sends the browser on to the address."""
    opened = opener(server.url, tmp_path)
    assert opened.stat().st_mode & 0o777 == 0o600 and server.access.token in opened.read_text()
    page = browser.new_page()
    try:
        page.goto(opened.as_uri())
        expect(page.locator("#status")).to_have_text("live")  # in, although the navigation came from a file
        expect(page.locator("#newsletters button")).to_have_count(2)
        assert page.url.startswith(f"http://localhost:{server.port}/") and "token" not in page.url
    finally:
        page.close()
