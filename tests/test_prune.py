"""actionmail prune: old sends' rows dropped, their counts kept, their newsletters never sent twice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail.cli import main
from actionmail.cli.prune import parse_age
from actionmail.errors import UsageError
from tests import sql
from tests.conftest import SEED

FILE = f"newsletters/{SEED.name}"


def run(*args: str, answer: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=answer)
    return result.exit_code, result.output


def rows(project: Path, query: str) -> list[tuple[object, ...]]:
    return sql.rows(project / "actionmail.db", query)


@pytest.fixture
def sent(members: Path) -> Path:
    """District 5 (144 members) sent through the outbox 100 days ago; another newsletter's send, started as long
    ago, left with one member queued."""
    code, output = run("send", FILE, "--yes", "--segment", "district=5")
    assert code == 0, output
    rows(
        members, "UPDATE sends SET created_at = '2019-08-01T14:00:00+00:00', finished_at = '2019-08-01T14:01:00+00:00'"
    )
    rows(
        members,
        "INSERT INTO sends (issue, content_hash, created_at) VALUES ('other', 'h', '2019-08-02T14:00:00+00:00')",
    )
    rows(members, "INSERT INTO deliveries (send_id, subscriber_id, email, variant, state, updated_at) "
                  "SELECT 2, id, email, 'en|', 'queued', 'then' FROM subscribers LIMIT 1")  # fmt: skip
    return members


def test_a_dry_run_says_what_it_would_drop_and_drops_nothing(sent: Path) -> None:
    code, output = run("prune", "--older-than", "90d", "--dry-run")
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].startswith("Kept: send 2 of other (started 2019-08-02 07:00 PDT) is not finished")
    assert lines[1] == f"Send 1 of {SEED.stem}, finished 2019-08-01 07:01 PDT: accepted 144"
    assert lines[2] == "Dry run: would drop 144 recipient rows of 1 send, keeping their counts."
    assert rows(sent, "SELECT send_id, count(*) FROM deliveries GROUP BY 1 ORDER BY 1") == [(1, 144), (2, 1)]


def test_prune_keeps_the_counts_and_refuses_to_send_the_newsletter_again(sent: Path) -> None:
    code, output = run("prune", "--older-than", "13w", "--yes")
    assert code == 0, output
    assert (
        output.splitlines()[-1]
        == "Dropped 144 recipient rows of 1 send; their counts are kept (`actionmail status FILE`)."
    )
    assert rows(sent, "SELECT send_id, count(*) FROM deliveries GROUP BY 1") == [(2, 1)]  # the unfinished one kept

    code, output = run("status", FILE)
    assert code == 0, output
    lines = output.splitlines()
    assert lines[1] == "  accepted 144"
    assert re.fullmatch(r"  who it reached was pruned on \d{4}-\d\d-\d\d \d\d:\d\d \w+ \(actionmail prune\): the "
                        r"counts are kept", lines[2])  # fmt: skip

    outbox = sorted((sent / "outbox" / SEED.stem).glob("*.eml"))
    code, output = run("send", FILE, "--yes")
    assert code == 2
    assert f"Error: {SEED.stem} was sent on 2019-08-01, and the list of whom it reached was pruned on " in output
    assert "sent again, it would reach everyone a second time" in output and "under a new file name" in output
    assert sorted((sent / "outbox" / SEED.stem).glob("*.eml")) == outbox

    again = run("prune", "--older-than", "90d", "--yes")
    assert (
        again == (0, again[1]) and again[1].splitlines()[-1] == "No finished send is older than 90d: nothing to prune."
    )


def test_prune_asks_first_and_a_no_drops_nothing(sent: Path) -> None:
    code, output = run("prune", "--older-than", "90d", answer="n\n")
    assert code == 1 and "Drop 144 recipient rows of 1 send? Their newsletters can't be sent again after this" in output
    assert rows(sent, "SELECT count(*) FROM deliveries WHERE send_id = 1") == [(144,)]


def test_a_send_younger_than_the_age_is_kept(members: Path) -> None:
    assert run("send", FILE, "--yes", "--segment", "district=5")[0] == 0
    code, output = run("prune", "--older-than", "1d", "--yes")
    assert (code, output) == (0, "No finished send is older than 1d: nothing to prune.\n")
    assert rows(members, "SELECT count(*) FROM deliveries") == [(144,)]


@pytest.mark.parametrize(("text", "days"), [("90d", 90), ("90 days", 90), ("13w", 91), ("1 week", 7), ("1D", 1)])
def test_ages(text: str, days: int) -> None:
    assert parse_age(text).days == days


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("3 months", "--older-than '3 months' is not an age: write it in days or weeks, like '90d' or '13w'"),
        ("0d", "--older-than '0d' is less than a day: give at least '1d'"),
        ("-5d", "--older-than '-5d' is not an age: write it in days or weeks, like '90d' or '13w'"),
        ("9" * 40 + "d", f"--older-than '{'9' * 40}d' is not an age: write it in days or weeks, like '90d' or '13w'"),
    ],
)
def test_a_bad_age_is_a_clear_error(text: str, error: str, project: Path) -> None:
    with pytest.raises(UsageError) as raised:
        parse_age(text)
    assert str(raised.value) == error
    assert run("prune", "--older-than", text) == (2, f"Error: {error}\n")


@pytest.mark.sqlite_only  # PostgreSQL always has one
def test_prune_without_a_database_says_so_and_creates_none(project: Path) -> None:
    assert run("prune", "--older-than", "90d", "--yes") == (0, "No subscriber database yet: nothing to prune.\n")
    assert not (project / "actionmail.db").exists()
