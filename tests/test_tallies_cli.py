"""What members reported, as the command line shows it: `status` after the sends (text and JSON). (Reports are
written directly here; tests/serve/test_reports.py makes them over HTTP.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail.audience import Store
from actionmail.audience.reports import Report
from actionmail.cli import main
from tests.conftest import ROOT, write

CLIMATE = ROOT / "newsletters" / "2019-09-16-climate-strike-green-new-deal-budget.yaml"
ISSUE = CLIMATE.stem


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture
def reported(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The climate-strike example (its survey counted by serve), sent to four members, three of whom answered."""
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", "s" * 32)
    write(project / "newsletters", CLIMATE.name, CLIMATE.read_text())
    with Store.open(project / "actionmail.db") as store:
        for i in range(4):
            store.add(f"m{i}@example.org", district="5")
        ids = [m.id for m in store.subscribers()]
        for member, answer in zip(ids, ["yes", "yes", "share"], strict=False):
            store.reports.record(Report(member, ISSUE, "bonus-2", answer))
    assert invoke("send", f"newsletters/{CLIMATE.name}", "--yes", "--no-sync")[0] == 0
    return project


def test_status_shows_the_tallies_after_the_sends(reported: Path) -> None:
    code, output = invoke("status", f"newsletters/{CLIMATE.name}")
    lines = output.splitlines()
    assert code == 0 and lines[0].startswith("Send 1, started ") and lines[1] == "  accepted 4"
    assert lines[2:] == [
        "What members reported (actionmail serve):",
        "  Are you coming to the climate strike on Friday?: 3 answered",
        "    Yes, I'll be there          2   67%",
        "    Maybe                       0    0%",
        "    I can't, but I'll share it  1   33%",
    ]
    code, output = invoke("status", f"newsletters/{CLIMATE.name}", "--format", "json")
    data = json.loads(output)
    assert code == 0 and data["issue"] == ISSUE
    assert [(s["id"], s["counts"], s["missed"], s["segment"]) for s in data["sends"]] == [
        (1, {"accepted": 4}, [], None)
    ]
    assert data["reports"] == [
        {
            "question": "bonus-2",
            "kind": "survey",
            "action": "Will you march with us on Friday?",
            "prompt": "Are you coming to the climate strike on Friday?",
            "total": 3,
            "answers": [
                {"answer": "yes", "label": "Yes, I'll be there", "count": 2, "share": 0.6667},
                {"answer": "maybe", "label": "Maybe", "count": 0, "share": 0.0},
                {"answer": "share", "label": "I can't, but I'll share it", "count": 1, "share": 0.3333},
            ],
            "by_district": [],
        }
    ]


def test_status_of_a_file_that_no_longer_loads_still_shows_the_sends(reported: Path) -> None:
    path = reported / "newsletters" / CLIMATE.name
    path.write_text(path.read_text().replace("headline:", "hedline:"))
    result = CliRunner().invoke(main, ["status", str(path)])
    assert result.exit_code == 0 and result.stdout.splitlines()[1] == "  accepted 4"
    assert result.stderr.startswith(
        f"Note: what members reported can't be shown while newsletters/{CLIMATE.name} doesn't load: "
    )
