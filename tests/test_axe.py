"""An accessibility audit with axe-core, the engine behind most browser audit tools, of every rendered example.

Each example newsletter — and each district's version of the seed — is opened in Debian's headless Chromium at
phone and desktop widths, offline; axe-core (pinned by tests/axe/package-lock.json: ``npm ci --prefix tests/axe``,
which .ci/setup runs) is injected and run, and no violation may be serious or critical. The static check
(actionmail.check.accessibility) reads the same things from the HTML without a browser; this is the second
opinion, with real layout and computed styles, in light and dark mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from actionmail import check
from actionmail.check import contrast
from actionmail.render import render, sample_values, templates
from tests.accessibility import SERIOUS, serious, violations
from tests.conftest import EXAMPLES, PHONE, SEED

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("axe")]

DESKTOP = 600


def variants(path: Path) -> list[str | None]:
    """The version for readers whose district is unknown; for the seed, every district's too."""
    project, _ = check.load(path)
    return [None, *project.officials.districts] if path == SEED else [None]


CASES = [(path, district, width) for path in EXAMPLES for district in variants(path) for width in (PHONE, DESKTOP)]


def audit(browser: Browser, html: str, width: int, scheme: str = "light") -> list[dict[str, Any]]:
    """axe-core's violations for ``html`` as Chromium lays it out at ``width``; each node also gets its "text"."""
    page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)  # type: ignore[arg-type]
    try:
        # Offline, as in test_browser.py: an email must read without fetching anything.
        page.route("**/*", lambda route: route.abort())
        page.set_content(html, wait_until="load")
        return violations(page, text=True)
    finally:
        page.close()


def words(text: str) -> str:
    return " ".join(text.split())


def rendered_html(path: Path, district: str | None) -> str:
    project, newsletter = check.load(path)
    version = render(newsletter, project, district=district, slug=check.slug(path))
    return version.personalize(sample_values(project)).html


@pytest.mark.parametrize(("path", "district", "width"), CASES, ids=[f"{p.stem}-{d or 'any'}-{w}" for p, d, w in CASES])
def test_no_serious_violations(browser: Browser, path: Path, district: str | None, width: int) -> None:
    assert serious(audit(browser, rendered_html(path, district), width)) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_no_serious_violations_in_dark_mode(browser: Browser, path: Path) -> None:
    assert serious(audit(browser, rendered_html(path, None), PHONE, "dark")) == []


def test_the_audit_catches_what_it_should(browser: Browser) -> None:
    """The seed with its language removed and its body text made light grey: axe must say so, as serious."""
    html = rendered_html(SEED, None)
    broken = html.replace('<html lang="en"', "<html", 1).replace("color:#222222", "color:#aaaaaa")
    assert broken.count("#aaaaaa") > 1 and '<html lang="en"' not in broken
    found = {v["id"] for v in audit(browser, broken, PHONE) if v["impact"] in SERIOUS}
    assert {"html-has-lang", "color-contrast"} <= found, found


def test_the_static_contrast_check_agrees_with_axe(browser: Browser, project: Path) -> None:
    """A light brand colour: the texts the static check (actionmail check) finds too faint are those axe-core,
    measuring what Chromium painted, finds too faint."""
    settings = project / "actionmail.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace('brand = "#1f4e79"', 'brand = "#4a90d9"'))
    path = project / "newsletters" / SEED.name
    path.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    loaded, newsletter = check.load(path)
    draft = check.make_draft(path, loaded, newsletter)
    static = {
        words(t.element.text_content()) for t in contrast.painted_text(draft.documents[0]) if t.contrast < t.required
    }
    html = draft.rendered[0].personalize(sample_values(loaded)).html
    [violation] = [v for v in audit(browser, html, DESKTOP) if v["id"] == "color-contrast"]
    painted = {words(node["text"]) for node in violation["nodes"]}
    assert static and static == painted


def test_the_static_contrast_check_agrees_with_axe_in_dark_mode(browser: Browser, project: Path) -> None:
    """A template whose dark-mode text is too faint: the static check reads the same faint texts from the
    template's dark-mode CSS as axe-core finds in Chromium set to dark mode."""
    template = (templates.builtin_templates() / "email.mjml").read_text(encoding="utf-8")
    dark_text = ".am-body td { color: #e8eaed !important; }"
    assert dark_text in template
    (project / "templates").mkdir()
    (project / "templates" / "email.mjml").write_text(
        template.replace(dark_text, dark_text.replace("e8eaed", "6b6b6b"))
    )
    path = project / "newsletters" / SEED.name
    path.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    loaded, newsletter = check.load(path)
    draft = check.make_draft(path, loaded, newsletter)
    faint = [t for t in contrast.painted_text(draft.documents[0], dark=True) if t.contrast < t.required]
    static = {words(t.element.text_content()) for t in faint}
    html = draft.rendered[0].personalize(sample_values(loaded)).html
    [violation] = [v for v in audit(browser, html, DESKTOP, "dark") if v["id"] == "color-contrast"]
    assert static and static == {words(node["text"]) for node in violation["nodes"]}
