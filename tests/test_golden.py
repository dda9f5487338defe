"""Golden tests: each example newsletter renders to exactly the HTML and text stored in tests/golden/.

After an intended change to templates or rendering, regenerate and review the diff:

    .venv/bin/python -m pytest tests/test_golden.py --update-golden
    git diff tests/golden/
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actionmail import check
from actionmail.render import render
from tests.conftest import EXAMPLES, SEED

GOLDEN = Path(__file__).parent / "golden"

# Every example as readers with no known district see it, and the seed as District 3 sees it.
CASES = [(path, None) for path in EXAMPLES] + [(SEED, "3")]


@pytest.mark.parametrize(("path", "district"), CASES, ids=[f"{p.stem}-{d or 'any'}" for p, d in CASES])
def test_render_matches_golden(path: Path, district: str | None, request: pytest.FixtureRequest) -> None:
    project, newsletter = check.load(path)
    rendered = render(newsletter, project, district=district, slug=check.slug(path))
    for suffix, actual in ((".html", rendered.html), (".txt", rendered.text)):
        golden = GOLDEN / f"{path.stem}{'-district-' + district if district else ''}{suffix}"
        if request.config.getoption("--update-golden"):
            golden.write_text(actual, encoding="utf-8")
        assert golden.exists(), f"no golden file {golden.name}: run pytest {__file__} --update-golden"
        assert actual == golden.read_text(encoding="utf-8"), f"{golden.name} differs: see the docstring"
