"""axe-core, the engine behind most browser audit tools, run in headless Chromium on a page a test has opened: the
one audit that the emails (test_axe.py), the service's pages (tests/serve/) and the web edition (tests/web/) share.

axe-core is pinned by tests/axe/package-lock.json (``npm ci --prefix tests/axe``, which .ci/setup runs). A page is
audited as Chromium laid it out, at the context's width and colour scheme; a test asserts on :func:`serious`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")

_RUN = "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
# The same, and each node's text, to compare with what another check found (test_axe.py's static contrast check).
_RUN_WITH_TEXT = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  for (const v of result.violations)
    for (const node of v.nodes)
      node.text = (document.querySelector(node.target[0]) || {textContent: ''}).textContent.trim();
  return result.violations;
}"""


def require_axe() -> None:
    """Fail (not skip) where axe-core is not installed: an audit that can't run must not pass."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci --prefix tests/axe`")


def violations(page: Page, *, text: bool = False) -> list[dict[str, Any]]:
    """axe-core's violations on ``page`` as it is now; with ``text``, each node also gets its "text". A page served
    under a Content-Security-Policy needs a context made with ``bypass_csp=True``: the audit's script is injected,
    which the page's policy would rightly refuse."""
    require_axe()
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(_RUN_WITH_TEXT if text else _RUN)
    return found


@contextmanager
def auditing(browser: Browser, width: int, scheme: str = "light") -> Iterator[BrowserContext]:
    """A browser context to audit served pages in, at ``width`` and in ``scheme`` ("light", "dark"). It bypasses
    the pages' Content-Security-Policy: the audit's own script is injected, which their policy would rightly
    refuse."""
    viewport = {"width": width, "height": 800}
    context = browser.new_context(viewport=viewport, color_scheme=scheme, bypass_csp=True)  # type: ignore[arg-type]
    try:
        yield context
    finally:
        context.close()


def audit(context: BrowserContext, visit: Callable[[Page], object]) -> list[dict[str, Any]]:
    """The violations on the page that ``visit`` leaves a new page of ``context`` at (it goes to a URL, posts a
    form, presses a button), in a page of its own that is closed after."""
    page = context.new_page()
    try:
        visit(page)
        return violations(page)
    finally:
        page.close()


def serious(found: list[dict[str, Any]]) -> list[str]:
    """The serious and critical violations, one line each: rule, impact, and the elements' selectors."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: {[node['target'] for node in v['nodes']][:5]}"
        for v in found
        if v["impact"] in SERIOUS
    ]
