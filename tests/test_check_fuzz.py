"""The checks that read the newsletter's text as written (leftovers, lost links, phone numbers, call scripts),
given any text at all: they never raise, and every problem they report points at a line of the file.

Bounded for CI; a larger run on demand: ACTIONMAIL_FUZZ_EXAMPLES=20000 pytest tests/test_check_fuzz.py
(docs/checks.md has the result).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actionmail import check
from actionmail.check import content, links
from tests.conftest import write
from tests.test_checks import CLEAN

EXAMPLES = int(os.environ.get("ACTIONMAIL_FUZZ_EXAMPLES", "300"))

# Text made of the pieces the checks look for, so that the fuzz reaches their corners, and of anything at all.
PIECES = [
    "[", "]", "(", ")", "<", ">", "{", "}", "XX", "X", "?", "??", "$", "%", ":", ".", ",", "-", "/", "at", "here:",
    "visit", " ", "  ", "\n", "\n\n", "December", "de", "INSERT", "LINK", "HERE", "link", "TBD", "684", "4000",
    "206", "(206)", "+1", "from", "my name is", "City, State", "[YOUR NAME]", "https://example.org/x", "_", "*",
]  # fmt: skip
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=40).map("".join)
TEXT_CHECKS = [content.placeholders, content.phones, content.scripts, links.lost_links]


@pytest.fixture(scope="module")
def draft(tmp_path_factory: pytest.TempPathFactory) -> check.Draft:
    root = tmp_path_factory.mktemp("fuzz")
    for name in ("actionmail.toml", "officials.yaml"):
        (root / name).write_text((Path(__file__).parents[1] / name).read_text())
    (root / "newsletters").mkdir()
    path = write(root / "newsletters", "day.yaml", CLEAN)
    project, newsletter = check.load(path)
    return check.make_draft(path, project, newsletter)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(background=TEXT, script=TEXT)
def test_any_text_gives_problems_and_never_a_traceback(draft: check.Draft, background: str, script: str) -> None:
    data = {**draft.data, "background": background}
    data["actions"] = [{**draft.data["actions"][0], "script": script}]
    fuzzed = dataclasses.replace(draft, data=data)
    lines = len(fuzzed.source.splitlines())
    for text_check in TEXT_CHECKS:
        for problem in text_check(fuzzed):
            assert problem.line is None or 1 <= problem.line <= lines
            assert problem.what and problem.fix
