"""The sign-up in headless Chromium, served by the real `actionmail serve`: a person fills in the form and sends it,
follows the link of the email the outbox caught and presses Confirm; and axe-core finds no serious violation on
any of the sign-up's pages, light and dark, English and Spanish."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import sql
from tests.accessibility import audit, auditing, serious
from tests.conftest import PHONE
from tests.serve.conftest import Served
from tests.serve.signing_up import client, emails, link_in, member, serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def signup_served(tmp_path_factory: pytest.TempPathFactory, module_database: str | None) -> Iterator[Served]:
    yield from serving(tmp_path_factory)


def test_a_person_signs_up_and_confirms_in_the_browser(signup_served: Served, browser: Browser) -> None:
    served, address = signup_served, "nia.browser@example.org"
    context = browser.new_context(viewport={"width": PHONE, "height": 800})
    try:
        page = context.new_page()
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(served.base + "/signup")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign up")
        page.get_by_label("Email address").fill(address)
        page.get_by_label("First name").fill("Nia")
        page.get_by_label("ZIP code").fill("98118")
        page.get_by_label("Your district").select_option("2")
        page.get_by_label("Language of the emails").select_option("en")
        honeypot = page.locator("#website")  # off-screen, out of the tab order, hidden from screen readers
        expect(honeypot).not_to_be_in_viewport()
        expect(honeypot).to_have_attribute("tabindex", "-1")
        expect(page.get_by_role("textbox", name="Leave this empty")).to_have_count(0)
        page.wait_for_timeout(600)  # people take longer than [signup] min_seconds; this test is quick
        page.get_by_role("button", name="Sign up").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        expect(page.get_by_text(f"We are sending an email to {address}")).to_be_visible()
        for _ in range(100):
            if emails(served, address):
                break
            page.wait_for_timeout(50)
        (message,) = emails(served, address)
        assert member(served, address) is None
        page.goto(link_in(served, message))
        expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your subscription")
        assert member(served, address) is None
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_text("Welcome!")).to_be_visible()
        assert member(served, address) == ("active", "signup")
        assert {url.split("?")[0].split("/signup")[0] for url in fetched} == {served.base}  # nothing from elsewhere
    finally:
        context.close()


def test_the_form_says_what_to_fix_at_each_field(signup_served: Served, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": PHONE, "height": 800})
    try:
        page = context.new_page()
        page.goto(signup_served.base + "/signup")
        page.get_by_label("Email address").fill("ana@")  # the browser's own check lets this through…
        page.evaluate("document.querySelector('form').noValidate = true")  # … or not: the server's check, then
        page.get_by_label("ZIP code").fill("123")
        page.wait_for_timeout(600)
        page.get_by_role("button", name="Sign up").click()
        assert page.title() == "Error: Sign up · Seattle Indivisible"
        expect(page.get_by_role("alert")).to_contain_text("Enter an email address like name@example.org.")
        email = page.get_by_label("Email address")
        expect(email).to_have_attribute("aria-invalid", "true")
        expect(email).to_have_accessible_description("Enter an email address like name@example.org.")
        expect(page.get_by_label("ZIP code")).to_have_accessible_description(
            "Enter a 5-digit ZIP code, or leave it empty."
        )
        expect(email).to_have_value("ana@")
    finally:
        context.close()


def pages(served: Served) -> dict[str, tuple[str, dict[str, str] | None]]:
    """Each page of the sign-up: a URL, and a form to post there (None: a GET)."""
    visitor = client(served)
    visitor.sign_up("oz.audit@example.org")
    link = link_in(served, emails(served, "oz.audit@example.org")[0])
    visitor.sign_up("pat.audit@example.org")
    used = link_in(served, emails(served, "pat.audit@example.org")[0])
    visitor.post(used.removeprefix(served.base), {"action": "confirm"})
    return {
        "form": (f"{served.base}/signup", None),
        "form, in Spanish": (f"{served.base}/signup?lang=es", None),
        "form with problems": (f"{served.base}/signup", {"email": "x", "zip": "1"}),
        "check your inbox": (f"{served.base}/signup", {"email": "someone@example.org"}),
        "confirm": (link, None),
        "used": (used, None),
        "invalid": (f"{served.base}/signup/confirm/1-abc", None),
        "snippet": (f"{served.base}/signup/snippet", None),
    }


def visit(url: str, form: dict[str, str] | None, page: Page) -> None:
    """Open ``url``; with ``form``, fill it in and send it: the answer to a post, as the browser shows it."""
    page.goto(url)
    if form is not None:
        for name, value in form.items():
            page.locator(f"[name={name}]").fill(value)
        page.evaluate("document.querySelector('form').noValidate = true")
        page.locator("button[type=submit]").click()
        page.wait_for_load_state()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(signup_served: Served, browser: Browser, scheme: str) -> None:
    with auditing(browser, PHONE, scheme) as context:
        found = {
            name: serious(audit(context, partial(visit, url, form)))
            for name, (url, form) in pages(signup_served).items()
        }
    assert found == {name: [] for name in found}


def test_readable_on_a_narrow_phone(signup_served: Served, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        page.goto(signup_served.base + "/signup")
        fits, smallest = page.evaluate("""() => [
          document.documentElement.scrollWidth <= window.innerWidth,
          Math.min(...[...document.querySelectorAll('p, label, button, input:not([type=hidden]), select')]
                   .filter(e => e.offsetParent !== null && !e.closest('.hp'))
                   .map(e => parseFloat(getComputedStyle(e).fontSize)))]""")
        assert fits and smallest >= 16
        for control in (page.get_by_role("button", name="Sign up"), page.get_by_label("Email address")):
            box = control.bounding_box()
            assert box is not None and box["height"] >= 44  # a target a thumb can hit
    finally:
        context.close()


def test_the_style_applies_under_the_pages_own_policy(signup_served: Served, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": PHONE, "height": 800})
    try:
        page = context.new_page()
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(signup_served.base + "/signup")
        assert page.evaluate("getComputedStyle(document.querySelector('.hp')).position") == "absolute"
        assert blocked == []
    finally:
        context.close()


def test_every_confirmation_email_went_out(signup_served: Served) -> None:
    db = sql.connect(signup_served.project / "actionmail.db")
    try:
        (rows,) = db.execute("SELECT count(*) FROM signups WHERE outcome = 'failed'").fetchone()
    finally:
        db.close()
    assert rows == 0
