"""Each command imports what it uses and nothing else (issue 14: instant start): `--version` imports click and no
part of the pipeline; `render` nothing of the checks, the send, the preview, the subscriber store or the web
stack. Run in a fresh interpreter, which prints what the command imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SEED

# The command runs as the `actionmail` script runs it; at exit, the modules it imported are printed.
RUN = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv = ["actionmail", *sys.argv[1:]]
from actionmail.cli import main
main()
"""

HEAVY = ("requests", "urllib3", "lxml", "botocore", "starlette", "uvicorn", "email_validator", "tenacity", "tqdm",
         "filelock", "watchfiles", "cryptography", "premailer")  # fmt: skip
LATER_STAGES = ("actionmail.check", "actionmail.delivery", "actionmail.providers", "actionmail.preview",
                "actionmail.serve", "actionmail.feedback", "actionmail.audience", "actionmail.sync")  # fmt: skip


def imported(*args: str, cwd: Path = ROOT) -> list[str]:
    done = subprocess.run([sys.executable, "-c", RUN, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


def test_version_imports_no_part_of_the_pipeline() -> None:
    modules = imported("--version")
    ours = [m for m in modules if m.startswith("actionmail")]
    assert ours == ["actionmail", "actionmail.cli"]
    assert not [m for m in modules if m.partition(".")[0] in (*HEAVY, "jinja2", "pydantic", "yaml", "mjml", "pathlib")]


def test_render_imports_only_the_render_path(tmp_path: Path) -> None:
    modules = imported("render", str(SEED), "-o", str(tmp_path / "seed.html"))
    assert (tmp_path / "seed.html").stat().st_size > 10_000  # it did render
    assert not [m for m in modules if m.partition(".")[0] in HEAVY or m.startswith(LATER_STAGES)]


def test_help_still_lists_every_command() -> None:
    from actionmail.cli import COMMANDS

    done = subprocess.run([sys.executable, "-m", "actionmail", "--help"], capture_output=True, text=True, timeout=120)
    listed = [line.split()[0] for line in done.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert sorted(listed) == sorted(COMMANDS)
