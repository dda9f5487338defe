"""The web edition in headless Chromium, served by a plain static server as a host would serve it: the index, a
newsletter's page, its "Add to calendar" file and the feed, followed as a reader follows them; nothing fetched
from anywhere else; and axe-core's audit of every page with no serious violation, light and dark."""

from __future__ import annotations

import datetime as dt
import html
import urllib.parse
import zoneinfo

import feedparser
import icalendar
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.accessibility import serious, violations
from tests.conftest import PHONE
from tests.web.conftest import PREFIX, Served
from tests.web.test_web_build import STRIKE, email_link

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("axe")]

PAGES = [
    f"/{PREFIX}/",
    f"/{PREFIX}/2019/8/1/no-police-facial-recognition/",
    f"/{PREFIX}/2019/9/16/climate-strike-green-new-deal-budget/",
    f"/{PREFIX}/2019/11/13/dreamers-no-pueden-esperar/",
]


def test_index_to_a_newsletter_to_its_calendar_and_the_feed(served: Served, context: BrowserContext) -> None:
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(served.url(f"/{PREFIX}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Seattle Indivisible")
    assert page.locator("li time").evaluate_all("ts => ts.map(t => t.dateTime)") == [
        "2019-11-13",
        "2019-09-16",
        "2019-08-01",
    ]

    page.get_by_role("link", name="A Green New Deal needs a budget, not just a resolution").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("A Green New Deal needs a budget, not just a resolution")
    # At the path of the email's "View this email in your browser" link.
    link = email_link(served.project / "newsletters" / STRIKE.name)
    assert urllib.parse.urlsplit(page.url).path.rstrip("/") == urllib.parse.urlsplit(link).path
    expect(page.get_by_text("Monday, September 16, 2019", exact=True)).to_be_visible()  # the email's dateline, once
    assert page.get_by_text("September 16, 2019").count() == 1
    expect(page.get_by_role("link", name="Sign up for these emails")).to_have_attribute(
        "href", "https://www.seattleindivisible.com/signup"
    )
    assert page.get_by_text("Unsubscribe").count() == 0
    assert page.get_by_text("View this email in your browser").count() == 0
    assert page.locator("meta[property='og:title']").get_attribute("content") == (
        "A Green New Deal needs a budget, not just a resolution"
    )

    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar").first.click()
    ics = download.value.path().read_bytes()
    assert download.value.suggested_filename == "2019-09-20-global-climate-strike-seattle.ics"
    [event] = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert str(event["summary"]) == "Global Climate Strike, Seattle"
    assert event.decoded("dtstart") == dt.datetime(2019, 9, 20, 12, tzinfo=zoneinfo.ZoneInfo("America/Los_Angeles"))
    assert event["dtstart"].params["TZID"] == "America/Los_Angeles"

    page.get_by_role("link", name="All newsletters").click()
    page.get_by_role("link", name="Feed").click()
    parsed = feedparser.parse(_body(page))
    assert not parsed.bozo and parsed.version == "atom10"
    assert [entry.published_parsed[:3] for entry in parsed.entries] == [(2019, 11, 13), (2019, 9, 16), (2019, 8, 1)]
    for entry in parsed.entries:
        response = page.request.get(served.url(urllib.parse.urlsplit(entry.link).path))
        assert response.ok and response.url.endswith("/")  # a directory's index.html, after the host's redirect
        assert f"<title>{entry.title}</title>" in html.unescape(response.text())

    assert {urllib.parse.urlsplit(url).netloc for url in fetched} == {urllib.parse.urlsplit(served.base).netloc}


def _body(page: Page) -> bytes:
    """The feed as the server sent it (Chromium shows XML as a document of its own)."""
    response = page.request.get(page.url)
    assert response.ok
    return response.body()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES, ids=[p.strip("/").replace("/", "-") for p in PAGES])
def test_no_serious_violations(served: Served, browser: Browser, path: str, scheme: str) -> None:
    context = browser.new_context(viewport={"width": PHONE, "height": 800}, color_scheme=scheme)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.goto(served.url(path))
        assert serious(violations(page)) == []
        if scheme == "dark":  # the page is dark around the email too, not only the email itself
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(15, 17, 19)"
    finally:
        context.close()
