"""Report links in headless Chromium, served by the real `actionmail serve`: a member opens "Let us know you
called" from their email (nothing counted), presses "Yes, I called" (counted once), answers the survey and
changes the answer; the pages load nothing from anywhere, fit a phone, and axe-core finds no serious violation,
light and dark."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import sql
from tests.accessibility import audit, auditing, serious
from tests.conftest import PHONE
from tests.serve.conftest import Served
from tests.serve.reporting import ANA, BO, links_of, reporting, write_issue

__all__ = ["reporting"]

pytestmark = pytest.mark.browser


def counted(served: Served) -> list[tuple[str, str]]:
    db = sql.connect(served.project / "actionmail.db")
    try:
        return db.execute("SELECT question, answer FROM reports ORDER BY id").fetchall()
    finally:
        db.close()


def test_a_member_reports_a_call_and_answers_the_survey(
    reporting: tuple[Served, Path], context: BrowserContext
) -> None:
    served, issue = reporting
    called, yes, maybe, _ = links_of(served, issue, ANA)
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    blocked: list[str] = []  # the style is allowed by its hash: were it refused, the console would say so
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(called)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Call your councilmember")
    assert counted(served) == []  # opening it, twice, counted nothing
    page.get_by_role("button", name="Yes, I called").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(page.get_by_text("1 of you has called so far.")).to_be_visible()
    assert page.url == called  # no redirect
    page.goto(yes)
    page.get_by_role("button", name="Answer: Yes").click()
    expect(page.get_by_text("We counted your answer: Yes.")).to_be_visible()
    page.goto(maybe)
    expect(page.get_by_text("You answered Yes before: this changes your answer.")).to_be_visible()
    page.get_by_role("button", name="Answer: Maybe").click()
    expect(page.get_by_text("We changed your answer to Maybe.")).to_be_visible()
    assert counted(served) == [("1", "done"), ("bonus-1", "maybe")]
    assert set(fetched) == {called, yes, maybe}  # the pages and their posts; nothing else, from anywhere
    assert blocked == []
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone


def _pages(served: Served, issue: Path) -> dict[str, tuple[str, bool]]:
    """Each page a report link shows: its URL, and whether to press the button first."""
    called, yes, *_ = links_of(served, issue, BO)
    expired = links_of(served, write_issue(served.project, days_ago=40), BO)[0]
    return {
        "report": (called, False),
        "answer": (yes, False),
        "counted": (called, True),
        "counted, an answer": (yes, True),
        "invalid": (f"{served.base}/act/1.abc/{issue.stem}/1/done", False),
        "expired": (expired, False),
    }


def _visit(url: str, press: bool, page: Page) -> None:
    """Open ``url``; with ``press``, press its button: the page that answers the post."""
    page.goto(url)
    if press:
        page.get_by_role("button").click()
        page.wait_for_load_state()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(reporting: tuple[Served, Path], browser: Browser, scheme: str) -> None:
    served, issue = reporting
    with auditing(browser, PHONE, scheme) as context:
        found = {
            name: serious(audit(context, partial(_visit, url, press)))
            for name, (url, press) in _pages(served, issue).items()
        }
    assert found == {name: [] for name in found}
