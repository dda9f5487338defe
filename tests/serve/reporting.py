"""Report links under test: a newsletter that asks for a report-back (per district) and a survey answer, dated
today so its links count, and each member's links as their own email carries them (`actionmail render --as`).

Shared by test_reports.py (HTTP), test_reports_browser.py (Chromium) and test_reports_fuzz.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import variants
from actionmail.cli import main
from actionmail.config import load_project
from tests.serve.conftest import MEMBERS, ORIGIN, Served, start, stop

ANA, BO, CY = MEMBERS  # Ana lives in district 1 (Lisa Herbold's), Bo in district 3 (Kshama Sawant's), Cy: unknown

NEWSLETTER = """\
date: {date}
subject: Call your councilmember about Ring
preheader: Ask your councilmember to ban police partnerships with Ring.
headline: No police partnerships on facial recognition
actions:
  - kind: call
    title: Call your councilmember
    targets:
      - group: district-councilmember
    script: "Hi, my name is [YOUR NAME] and I live in [ZIP]. Please ban police partnerships with Ring."
    report_back: {{text: Let us know you called}}
bonus:
  - kind: survey
    title: Will you come to the hearing?
    survey:
      prompt: Will you come to the hearing on Monday?
      choices:
        - {{label: "Yes", value: "yes"}}
        - {{label: Maybe, value: maybe}}
        - {{label: "No", value: "no"}}
"""


def write_issue(project: Path, days_ago: int = 0, text: str = NEWSLETTER) -> Path:
    """``newsletters/DATE-ring.yaml``, dated ``days_ago`` before today (in the organization's time zone)."""
    day = variants.send_day(load_project(project)) - dt.timedelta(days=days_ago)
    path = project / "newsletters" / f"{day.isoformat()}-ring.yaml"
    path.write_text(text.format(date=day.isoformat()), encoding="utf-8")
    return path


def links_of(served: Served, issue: Path, email: str) -> list[str]:
    """The report links in ``email``'s copy of ``issue``, in the order the email shows them, on this server."""
    result = CliRunner().invoke(main, ["render", str(issue), "--as", email], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    found = re.findall(rf'href="{re.escape(ORIGIN)}(/act/[^"]+)"', result.stdout)
    # Each button's link is there twice: in the VML shape Outlook for Windows draws, and the link for the rest.
    return [served.base + path for path in dict.fromkeys(found)]


@pytest.fixture
def reporting(members: Path) -> Iterator[tuple[Served, Path]]:
    """The real `actionmail serve`, over members with districts and today's newsletter."""
    for email, district in ((ANA, "1"), (BO, "3")):
        assert CliRunner().invoke(main, ["subscribers", "add", email, "--district", district]).exit_code == 0
    issue = write_issue(members)
    running = start(members)
    yield running, issue
    stop(running)
