"""Every example newsletter, rendered to HTML and opened in real headless Chromium, phone and desktop widths.

Full-page screenshots go to tests/artifacts/<newsletter>-<width>.png, to look at. Needs Debian's chromium at
/usr/bin/chromium (Playwright can't download its own browser here); skipped where it is missing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from actionmail import check
from actionmail.config import Logo, Project
from actionmail.newsletter import Newsletter
from actionmail.render import render, sample_values
from tests.conftest import ARTIFACTS, ROOT

pytestmark = pytest.mark.browser


NEWSLETTERS = sorted((ROOT / "newsletters").glob("*.yaml"))
PHONE, DESKTOP = 375, 600
CASES = [(path, width) for path in NEWSLETTERS for width in (PHONE, DESKTOP)]


@dataclasses.dataclass
class Email:
    page: Page
    newsletter: Newsletter
    width: int

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)


def open_email(browser: Browser, html: str, width: int) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 800})
    # Offline: an email must not need anything fetched to be read, and this machine has no network anyway.
    page.route("**/*", lambda route: route.abort())
    page.set_content(html, wait_until="load")
    return page


@pytest.fixture(scope="module", params=CASES, ids=[f"{p.stem}-{w}" for p, w in CASES])
def email(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Email]:
    """One newsletter at one width, opened once and screenshotted, for all the checks below."""
    path, width = request.param
    project, newsletter = check.load(path)
    html = render(newsletter, project, slug=check.slug(path)).personalize(sample_values(project)).html
    page = open_email(browser, html, width)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{path.stem}-{width}.png"), full_page=True)
    yield Email(page, newsletter, width)
    page.close()


def test_there_are_example_newsletters() -> None:
    assert NEWSLETTERS, "no newsletters/*.yaml to open"


def test_no_horizontal_scrolling(email: Email) -> None:
    assert email.js("document.documentElement.scrollWidth") <= email.width


def test_one_h1_and_it_is_the_headline(email: Email) -> None:
    assert email.js("[...document.querySelectorAll('h1')].map(h => h.textContent.trim())") == [
        email.newsletter.headline
    ]


def test_phone_links_are_e164(email: Email) -> None:
    hrefs = email.js("""[...document.querySelectorAll('a[href^="tel:"]')].map(a => a.getAttribute('href'))""")
    assert all(re.fullmatch(r"tel:\+\d+", href) for href in hrefs), hrefs


def test_images_have_alt(email: Email) -> None:
    assert email.js("[...document.images].filter(i => !i.hasAttribute('alt')).map(i => i.outerHTML)") == []


def test_html_lang_is_set(email: Email) -> None:
    assert email.js("document.documentElement.lang") == (email.newsletter.language or "en")


def test_preheader_is_in_the_email_but_not_shown(email: Email) -> None:
    preheader = email.newsletter.preheader
    assert preheader
    assert preheader in email.js("document.body.textContent")
    assert preheader not in email.js("document.body.innerText")  # innerText is what is rendered
    assert not email.page.get_by_text(preheader).first.is_visible()


def test_body_text_is_at_least_16px(email: Email) -> None:
    """Every element in the content cards with text of its own, except the deliberately small print."""
    sizes = email.js("""
      [...document.querySelectorAll('.am-card *')]
        .filter(e => !e.closest('.am-muted'))
        .filter(e => [...e.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim()))
        .map(e => [e.tagName.toLowerCase() + ': ' + e.textContent.trim().slice(0, 40),
                   parseFloat(getComputedStyle(e).fontSize)])
    """)
    assert sizes, "no text found in .am-card"
    small = [(text, size) for text, size in sizes if size < 16]
    assert not small, small


def test_logo_image_has_alt(browser: Browser) -> None:
    """The examples have no logo, so no <img>: render the first one with a logo to check the one image."""
    path = NEWSLETTERS[0]
    project, newsletter = check.load(path)
    logo = Logo(url="https://example.org/logo.png", alt="Example logo", width=120)
    organization = project.settings.organization.model_copy(update={"logo": logo})
    settings = project.settings.model_copy(update={"organization": organization})
    with_logo: Project = dataclasses.replace(project, settings=settings)
    html = render(newsletter, with_logo, slug=check.slug(path)).personalize(sample_values(with_logo)).html
    page = open_email(browser, html, PHONE)
    try:
        assert page.evaluate("[...document.images].map(i => i.getAttribute('alt'))") == ["Example logo"]
    finally:
        page.close()


# WCAG 2 relative luminance and contrast, computed in the page from the colours Chromium actually painted.
CONTRAST_JS = """
(selector) => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map((v) => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor;
      if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c;
    }
    return 'rgb(255, 255, 255)';
  };
  return [...document.querySelectorAll(selector)].filter((el) => el.textContent.trim()).map((el) => {
    const [a, b] = [lum(getComputedStyle(el).color), lum(background(el))];
    return [el.textContent.trim().slice(0, 40), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", NEWSLETTERS, ids=[p.stem for p in NEWSLETTERS])
def test_text_contrast_meets_wcag_aa(browser: Browser, path: Path, scheme: str) -> None:
    project, newsletter = check.load(path)
    html = render(newsletter, project, slug=check.slug(path)).personalize(sample_values(project)).html
    page = browser.new_page(viewport={"width": PHONE, "height": 800}, color_scheme=scheme)  # type: ignore[arg-type]
    page.route("**/*", lambda route: route.abort())
    page.set_content(html, wait_until="load")
    if scheme == "dark":
        page.screenshot(path=str(ARTIFACTS / f"{path.stem}-{PHONE}-dark.png"), full_page=True)
    # Every paragraph, list item, heading and link, buttons and footer included.
    pairs = page.evaluate(CONTRAST_JS, "[role=article] p, [role=article] li, [role=article] a, [role=article] h1, "
                          "[role=article] h2, [role=article] h3, [role=article] h4")  # fmt: skip
    page.close()
    assert pairs
    low = [(text, round(ratio, 2)) for text, ratio in pairs if ratio < 4.5]
    assert not low, f"below 4.5:1 in {scheme} mode: {low[:5]}"


# The painted colours of what dark mode used to get wrong, per element: its colour, the colour of its border
# (top, else left), and the background it sits on.
PAINTED_JS = """
(selector) => {
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor;
      if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c;
    }
    return 'rgb(255, 255, 255)';
  };
  return [...document.querySelectorAll(selector)].map((el) => {
    const s = getComputedStyle(el);
    const border = parseFloat(s.borderTopWidth) ? s.borderTopColor : s.borderLeftColor;
    return {color: s.color, border: border, background: background(el.parentElement || el)};
  });
}
"""


def luminance(rgb: str) -> float:
    channels = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_small_print_divider_and_answers_in_both_schemes(browser: Browser, scheme: str) -> None:
    """The "adapted from" line and the footer stay dimmer than the body text (in dark mode they turned bright
    white), the divider stays a quiet line (it turned glaring), and the outlines of the survey answers and the
    report-back button reach 3:1 against their background (WCAG 1.4.11; they were 2.05:1 in dark mode)."""
    painted: dict[str, list[dict[str, str]]] = {}
    for path in NEWSLETTERS:
        project, newsletter = check.load(path)
        html = render(newsletter, project, slug=check.slug(path)).personalize(sample_values(project)).html
        page = browser.new_page(viewport={"width": PHONE, "height": 800}, color_scheme=scheme)  # type: ignore[arg-type]
        page.route("**/*", lambda route: route.abort())
        page.set_content(html, wait_until="load")
        for name, selector in [("body", ".am-card h1 + p ~ p, .am-card li"), ("muted", "p.am-muted"),
                               ("footer", ".am-footer p"), ("divider", ".am-divider p"),
                               ("outline", ".am-choice, .am-button-outline"), ("box", "td.am-box")]:  # fmt: skip
            painted.setdefault(name, []).extend(page.evaluate(PAINTED_JS, selector))
        page.close()
    assert all(painted.values()), {k: len(v) for k, v in painted.items()}
    brightest_body = max(luminance(p["color"]) for p in painted["body"])
    dimmest_body = min(luminance(p["color"]) for p in painted["body"])
    for p in painted["muted"] + painted["footer"]:
        # dimmer than the body text in dark mode (light text on dark), lighter than it in light mode
        dim = luminance(p["color"]) < brightest_body if scheme == "dark" else luminance(p["color"]) > dimmest_body
        assert dim, (p, "not dimmer than the body text")
        assert ratio(p["color"], p["background"]) >= 4.5, p
    for p in painted["divider"]:
        assert 1.1 <= ratio(p["border"], p["background"]) <= 2, p
    for p in painted["outline"]:
        assert ratio(p["border"], p["background"]) >= 3, p
    for p in painted["box"]:
        assert ratio(p["color"], p["background"]) >= 4.5, p


def test_logo_keeps_its_space_and_has_a_dark_version(browser: Browser) -> None:
    """With images blocked (this page fetches nothing), the logo still takes its height; in dark mode the dark
    version shows instead of the light one."""
    path = NEWSLETTERS[0]
    project, newsletter = check.load(path)
    logo = Logo(url="https://example.org/logo.png", alt="Example", width=120, height=40,
                dark_url="https://example.org/logo-dark.png")  # fmt: skip
    organization = project.settings.organization.model_copy(update={"logo": logo})
    with_logo = dataclasses.replace(
        project, settings=project.settings.model_copy(update={"organization": organization})
    )
    html = render(newsletter, with_logo, slug=check.slug(path)).personalize(sample_values(with_logo)).html
    shown = "[...document.images].filter(i => i.getClientRects().length).map(i => [i.src, i.getBoundingClientRect().height])"
    for scheme, src in (("light", "https://example.org/logo.png"), ("dark", "https://example.org/logo-dark.png")):
        page = browser.new_page(viewport={"width": PHONE, "height": 800}, color_scheme=scheme)  # type: ignore[arg-type]
        page.route("**/*", lambda route: route.abort())
        page.set_content(html, wait_until="load")
        try:
            assert page.evaluate(shown) == [[src, 40]], scheme
        finally:
            page.close()


def test_outlook_com_dark_mode_rules_apply(browser: Browser) -> None:
    """Outlook.com marks what its dark mode recoloured with data-ogsc (text) and data-ogsb (background) and keeps
    the email's own rules for those: marked so here, the small print, the box and the outlines take them."""
    project, newsletter = check.load(NEWSLETTERS[0])
    html = render(newsletter, project, slug=check.slug(NEWSLETTERS[0])).personalize(sample_values(project)).html
    page = open_email(browser, html, PHONE)
    try:
        colours = """() => [getComputedStyle(document.querySelector('p.am-muted')).color,
                            getComputedStyle(document.querySelector('td.am-box')).backgroundColor]"""
        light = page.evaluate(colours)
        page.evaluate(
            "() => { const b = document.querySelector('.am-body'); b.dataset.ogsc = ''; b.dataset.ogsb = ''; }"
        )
        assert page.evaluate(colours) == ["rgb(176, 179, 184)", "rgb(36, 41, 47)"] != light
    finally:
        page.close()
