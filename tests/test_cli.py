"""The command line: exact output for users, exit codes, files written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import __version__
from actionmail.cli import COMMANDS, main
from tests.conftest import ROOT, SEED


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_version() -> None:
    assert invoke("--version") == (0, f"actionmail, version {__version__}\n")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_and_is_in_the_readme(command: str) -> None:
    code, output = invoke(command, "--help")
    assert code == 0 and output.startswith(f"Usage: main {command}")
    assert f"actionmail {command}" in (ROOT / "README.md").read_text()


def test_render_writes_html_and_text(project: Path) -> None:
    code, output = invoke("render", str(SEED), "-o", "out.html", "--text", "out.txt", "--mjml", "out.mjml")
    assert code == 0
    assert re.fullmatch(r"Wrote out\.html \(\d+\.\d KB\)\n", output)
    html = (project / "out.html").read_text()
    assert (
        html.startswith("<!DOCTYPE html>")
        and "<title>No police partnerships on facial recognition in Seattle</title>" in html
    )
    # A file opened by hand gets a stand-in unsubscribe link, not the merge tag.
    assert "{unsubscribe_url}" not in html and "https://www.seattleindivisible.com/unsubscribe/preview" in html
    assert (project / "out.txt").read_text().startswith("No police partnerships on facial recognition in Seattle\n")
    assert (project / "out.mjml").read_text().lstrip().startswith("<mjml")


def test_render_to_stdout(project: Path) -> None:
    code, output = invoke("render", str(SEED))
    assert code == 0 and output.startswith("<!DOCTYPE html>") and output.rstrip().endswith("</html>")


def test_render_unknown_district(project: Path) -> None:
    assert invoke("render", str(SEED), "--district", "8") == (
        2,
        "Error: --district 8: not a district in officials.yaml (known: 1, 2, 3, 4, 5, 6, 7)\n",
    )


def test_render_missing_file(project: Path) -> None:
    code, output = invoke("render", "nope.yaml")
    assert code == 2 and "'nope.yaml' does not exist" in output


def test_render_invalid_newsletter_writes_nothing(project: Path) -> None:
    (project / "newsletters" / "bad.yaml").write_text("date: 2019-08-01\nsubject: x\n")
    code, output = invoke("render", "newsletters/bad.yaml", "-o", "out.html")
    assert code == 2
    assert output.splitlines()[0] == "newsletters/bad.yaml:1: actions: required key is missing: add 'actions:'"
    assert not (project / "out.html").exists()


def test_check_examples_pass() -> None:
    code, output = invoke("check", str(ROOT / "newsletters"), "--as-of", "2019-08-01")
    assert code == 0 and re.fullmatch(r"\d+ newsletters? checked: no problems\n", output), output


def test_new_scaffolds_a_valid_file(project: Path) -> None:
    assert invoke("new", "--date", "2026-12-01", "--title", "Fund the buses!") == (
        0,
        "Created newsletters/2026-12-01-fund-the-buses.yaml\n",
    )
    text = (project / "newsletters" / "2026-12-01-fund-the-buses.yaml").read_text()
    assert text.startswith("# The daily action for 2026-12-01.") and 'subject: "TODO: Fund the buses!"' in text
    # Valid, but not ready to send: check finds every TODO left to fill in.
    code, output = invoke("check", "newsletters", "--as-of", "2026-12-01")
    assert code == 2 and output.splitlines() == [
        f"newsletters/2026-12-01-fund-the-buses.yaml:{line}: {key}: 'TODO' is left in the text: finish or remove it"
        for line, key in [
            (4, "subject"),
            (5, "preheader"),
            (6, "headline"),
            (7, "ask"),
            (10, "background"),
            (15, "actions[0].title"),
            (17, "actions[0].why"),
            (28, "actions[0].script.text"),
            (30, "actions[0].script.voicemail"),
        ]
    ] + ["1 newsletter checked: 9 errors"]
    assert invoke("new", "--date", "2026-12-01", "--title", "Fund the buses!") == (
        2,
        "Error: newsletters/2026-12-01-fund-the-buses.yaml already exists: edit it, or pass a different --title\n",
    )


def test_new_rejects_a_bad_date(project: Path) -> None:
    code, output = invoke("new", "--date", "2026-13-01")
    assert code == 2 and "'2026-13-01' does not match the format '%Y-%m-%d'" in output


def test_entry_point_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "actionmail", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout == f"actionmail, version {__version__}\n"


def test_compiled_templates_are_cached_and_follow_edits(project: Path, hermetic_cache: Path) -> None:
    (project / "templates").mkdir()
    template = project / "templates" / "email.txt"
    template.write_text("first {{ n.headline }}\n")
    newsletter = project / "newsletters" / SEED.name
    newsletter.write_text(SEED.read_text())
    assert invoke("render", str(newsletter), "-o", "out.html", "--text", "out.txt")[0] == 0
    assert (project / "out.txt").read_text().startswith("first No police")
    # email.mjml and its partials (frames, blocks, legislation, alerts), and our own email.txt (no imports)
    assert len(list((hermetic_cache / "actionmail" / "templates").iterdir())) == 6
    template.write_text("second {{ n.headline }}\n")
    assert invoke("render", str(newsletter), "-o", "out.html", "--text", "out.txt")[0] == 0
    assert (project / "out.txt").read_text().startswith("second No police")
