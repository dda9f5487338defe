"""The unsubscribe pages in headless Chromium, served by the real `actionmail serve`: the flow a member clicks
through (opening the page changes nothing; Unsubscribe; Undo), the 400 page, the page's own style applied under
its Content-Security-Policy, nothing fetched from anywhere, readable on a narrow phone, and axe-core's audit with
no serious violation, light and dark."""

from __future__ import annotations

from functools import partial

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, BrowserContext, Page, expect

from actionmail.cli import main
from tests.accessibility import SERIOUS, audit, auditing, serious, violations
from tests.conftest import PHONE
from tests.serve.conftest import MEMBERS, Served, history, status

pytestmark = pytest.mark.browser

ANA = MEMBERS[0]
NARROW, DESKTOP = 320, 1024


def test_the_flow_a_member_clicks_through(served: Served, context: BrowserContext) -> None:
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(served.url(ANA))
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe")
    assert status(served, ANA) == "active" and history(served, ANA) == []  # opening it twice changed nothing
    page.get_by_label("Why are you leaving?").fill("Too many emails")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_text("You are unsubscribed from Seattle Indivisible")).to_be_visible()
    assert page.url == served.url(ANA)  # no redirect
    assert status(served, ANA) == "unsubscribed"
    page.get_by_role("button", name="Undo: subscribe me again").click()
    expect(page.get_by_text("You are subscribed to Seattle Indivisible again")).to_be_visible()
    assert history(served, ANA) == [
        ("unsubscribed", "page", "Too many emails"),
        ("resubscribed", "undo", "undid an unsubscribe on the unsubscribe page"),
    ]
    assert set(fetched) == {served.url(ANA)}  # the page and its posts; nothing else, from anywhere


def test_the_invalid_link_page(served: Served, context: BrowserContext) -> None:
    page = context.new_page()
    response = page.goto(f"{served.base}/unsubscribe/123.not-a-real-token")
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
    expect(page.get_by_role("link", name="info@seattleindivisible.com")).to_have_attribute(
        "href", "mailto:info@seattleindivisible.com"
    )
    assert [status(served, email) for email in MEMBERS] == ["active"] * 3


@pytest.mark.parametrize(("scheme", "background", "button"), [("light", "rgb(244, 244, 244)", "rgb(31, 78, 121)"),
                                                                ("dark", "rgb(15, 17, 19)", "rgb(31, 78, 121)")])  # fmt: skip
def test_the_style_applies_under_the_pages_own_policy(
    served: Served, browser: Browser, scheme: str, background: str, button: str
) -> None:
    """The style is inline, allowed by its hash: if the hash were wrong, Chromium would drop it (unstyled page)."""
    context = browser.new_context(viewport={"width": PHONE, "height": 800}, color_scheme=scheme)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        blocked: list[str] = []
        page.on(
            "console",
            lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
        )
        page.goto(served.url(ANA))
        colours = page.evaluate("""() => [getComputedStyle(document.body).backgroundColor,
                                          getComputedStyle(document.querySelector('button')).backgroundColor]""")
        assert colours == [background, button]
        assert blocked == []
    finally:
        context.close()


def test_readable_on_a_narrow_phone(served: Served, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": NARROW, "height": 640})
    try:
        page = context.new_page()
        page.goto(served.url(ANA))
        fits, smallest = page.evaluate("""() => [
          document.documentElement.scrollWidth <= window.innerWidth,
          Math.min(...[...document.querySelectorAll('p, label, button, textarea')]
                   .map(e => parseFloat(getComputedStyle(e).fontSize)))]""")
        assert fits and smallest >= 16
        box = page.get_by_role("button", name="Unsubscribe").bounding_box()
        assert box is not None and box["height"] >= 44  # a target a thumb can hit
    finally:
        context.close()


def pages_to_audit(served: Served) -> dict[str, tuple[str, dict[str, str] | None]]:
    """Each page the service shows: how to get it (a URL, and a form to post there first, if any)."""
    assert CliRunner().invoke(main, ["subscribers", "add", "dolores@example.org", "--language", "es"]).exit_code == 0
    return {
        "confirm": (served.url(MEMBERS[0]), None),
        "confirm, in Spanish": (served.url("dolores@example.org"), None),
        "unsubscribed": (served.url(MEMBERS[1]), {"action": "unsubscribe"}),
        "invalid": (f"{served.base}/unsubscribe/1.abc", None),
        "not found": (f"{served.base}/nothing-here", None),
    }


def visit(url: str, form: dict[str, str] | None, page: Page) -> None:
    """Open ``url``, after posting ``form`` to it (the page it shows then), if any."""
    if form is not None:
        page.request.post(url, form=form, headers={"Origin": url.split("/unsubscribe")[0]})
    page.goto(url)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_no_serious_accessibility_violations(served: Served, browser: Browser, scheme: str, width: int) -> None:
    with auditing(browser, width, scheme) as context:
        found = {
            name: serious(audit(context, partial(visit, url, form)))
            for name, (url, form) in pages_to_audit(served).items()
        }
    assert found == {name: [] for name in found}


def test_the_audit_sees_the_pages_problems(served: Served, browser: Browser) -> None:
    """The page with its language taken away and its text made faint: axe must say so, as serious."""
    with auditing(browser, PHONE) as context:
        page = context.new_page()
        page.goto(served.url(ANA))
        page.evaluate("""() => { document.documentElement.removeAttribute('lang');
                                 document.querySelectorAll('p').forEach(p => p.style.color = '#d0d0d0'); }""")
        assert {"html-has-lang", "color-contrast"} <= {v["id"] for v in violations(page) if v["impact"] in SERIOUS}
