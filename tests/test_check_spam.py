"""The spam score, from the real SpamAssassin (network tests off): the examples score low, a spammy newsletter
gets the warning with the rules that fired, and the setting turns it off. Skipped where SpamAssassin is not
installed (.ci/setup installs it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import check, delivery
from actionmail.check import spam
from actionmail.cli import main
from actionmail.errors import Problem, Severity
from tests.conftest import EXAMPLES, write

needs_spamassassin = pytest.mark.skipif(
    spam.command() is None, reason="spamassassin is not installed: apt-get install spamassassin"
)

SPAMMY = """\
date: 2019-08-01
subject: Act now, claim your prize
preheader: A message for you, dear friend.
headline: Dear Friend, you have been selected
background: |
  Dear Friend, you have been selected. This offer is 100% guaranteed and risk free: claim your cash prize
  today, no credit card required.
actions:
  - kind: petition
    title: Claim your prize
    link: {text: Claim it, url: "https://example.org/claim"}
"""


def draft(path: Path) -> check.Draft:
    project, newsletter = check.load(path)
    return check.make_draft(path, project, newsletter)


def warnings(path: Path) -> list[Problem]:
    """The spam check's problems for one newsletter, as `check` gets them."""
    taken = spam.sample(draft(path))
    return list(spam.spam([taken])) if taken else []


def message(path: Path) -> bytes:
    d = draft(path)
    return delivery.sample_message(d.project, path.stem, d.rendered[0]).as_bytes()


@needs_spamassassin
def test_examples_score_low() -> None:
    scores = spam.score([message(path) for path in EXAMPLES])
    assert len(scores) == len(EXAMPLES)
    assert all(s.points <= spam.WARN_ABOVE for s in scores), scores
    # Nothing of ours scores at all: not the hidden preheader (mjml writes it in white), not the HTML.
    assert all(points < 0.1 for s in scores for _, points in s.rules), scores


@needs_spamassassin
def test_spammy_newsletter_gets_a_warning_with_its_rules(project: Path) -> None:
    path = write(project / "newsletters", "2019-08-01-prize.yaml", SPAMMY)
    [problem] = warnings(path)
    assert problem.severity is Severity.WARNING
    assert (problem.file, problem.line) == ("newsletters/2019-08-01-prize.yaml", None)
    # The score and rule weights are Debian's rules' to decide; the shape of the message is ours.
    assert re.fullmatch(
        r"warning: SpamAssassin scores the email \d+\.\d \(above 2\), mostly for [A-Z0-9_]+ \(\d\.\d\)"
        r"(, [A-Z0-9_]+ \(\d\.\d\)){0,2}",
        str(problem).split(": ", 1)[1].split(": reword")[0],
    ), str(problem)
    assert "DEAR_FRIEND" in problem.what
    assert problem.fix.startswith("reword what those rules match")


@needs_spamassassin
def test_check_scores_every_newsletter_in_one_go(project: Path) -> None:
    clean = write(project / "newsletters", "2019-08-01-clean.yaml", (EXAMPLES[0]).read_text(encoding="utf-8"))
    spammy = write(project / "newsletters", "2019-08-01-prize.yaml", SPAMMY)
    found = [p for p in check.check_files([clean, spammy]) if "SpamAssassin" in p.what]
    assert [(p.file, p.severity) for p in found] == [("newsletters/2019-08-01-prize.yaml", Severity.WARNING)]


@needs_spamassassin
def test_check_no_spam_leaves_it_out(project: Path) -> None:
    """`check --no-spam`, and the preview, which checks after every save: SpamAssassin takes seconds a run."""
    write(project / "newsletters", "2019-08-01-prize.yaml", SPAMMY)
    scored = CliRunner().invoke(main, ["check", "newsletters/2019-08-01-prize.yaml", "--as-of", "2019-08-01"])
    unscored = CliRunner().invoke(
        main, ["check", "--no-spam", "newsletters/2019-08-01-prize.yaml", "--as-of", "2019-08-01"]
    )
    [warning, summary] = scored.output.splitlines()
    assert "warning: SpamAssassin scores the email" in warning
    assert summary == "1 newsletter checked: 1 warning"
    assert unscored.output == "1 newsletter checked: no problems\n"


@pytest.mark.database
@needs_spamassassin
def test_send_scores_it_too(project: Path) -> None:
    """`send` runs every check of `check` before anything goes out, the spam score included."""
    write(project / "newsletters", "2019-08-01-prize.yaml", SPAMMY)
    result = CliRunner().invoke(main, ["send", "--dry-run", "newsletters/2019-08-01-prize.yaml"])
    assert result.exit_code == 0, result.output
    assert "newsletters/2019-08-01-prize.yaml: warning: SpamAssassin scores the email" in result.output


@needs_spamassassin
def test_many_messages_are_scored_in_order(project: Path) -> None:
    """Messages shared between two runs come back each with its own score, though SpamAssassin sorts an mbox by
    date: here the spammy message is the newer and comes first in its run."""
    clean = re.sub(rb"\nDate: [^\n]+", b"\nDate: Thu, 01 Aug 2019 06:00:00 +0000", message(EXAMPLES[0]))
    spammy = re.sub(
        rb"\nDate: [^\n]+",
        b"\nDate: Fri, 02 Aug 2019 06:00:00 +0000",
        message(write(project / "newsletters", "2019-08-01-prize.yaml", SPAMMY)),
    )
    messages = [clean, clean, spammy, clean]
    scores = spam.score(messages, runs=2)
    assert [s.points > spam.WARN_ABOVE for s in scores] == [False, False, True, False]


@needs_spamassassin  # without it, nothing is scored anyway
def test_the_setting_turns_it_off(project: Path) -> None:
    with (project / "actionmail.toml").open("a", encoding="utf-8") as settings:
        settings.write("\n[check]\nspamassassin = false\n")
    path = write(project / "newsletters", "2019-08-01-prize.yaml", SPAMMY)
    assert spam.sample(draft(path)) is None
    assert warnings(path) == []


def test_a_failing_spamassassin_is_reported_not_raised(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = project / "bin" / "spamassassin"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\necho 'cannot load rules' >&2\nexit 1\n", encoding="utf-8")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(broken.parent))
    path = write(project / "newsletters", "2019-08-01-prize.yaml", SPAMMY)
    assert [str(p) for p in warnings(path)] == [
        "newsletters/2019-08-01-prize.yaml: warning: the spam score was not checked: spamassassin exited with 1: "
        "cannot load rules"
    ]


def test_without_spamassassin_nothing_is_scored(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(project))  # no spamassassin on it
    path = write(project / "newsletters", "2019-08-01-prize.yaml", SPAMMY)
    assert spam.command() is None
    assert spam.sample(draft(path)) is None
    assert warnings(path) == []
