"""`actionmail check`: everything a volunteer can miss, before a send."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from actionmail import check, variants
from actionmail.cli import format_option, reports_errors
from actionmail.errors import ExitCode


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--strict", is_flag=True, help="Fail (exit 2) on warnings too, not only on errors.")
@click.option("--online", is_flag=True, help="Also check that every web address linked to answers (uses the network).")
@click.option(
    "--spam/--no-spam",
    default=True,
    show_default=True,
    help="Score each newsletter with SpamAssassin, where installed: a few seconds, the rest takes milliseconds.",
)
@format_option("a list of {file, line, key, severity, message, fix} on standard output.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Judge dates as of this day, the day it goes out (default: today, in the organization's time zone).",
)
@reports_errors
def check_command(
    paths: tuple[Path, ...], strict: bool, online: bool, spam: bool, output_format: str, as_of: dt.datetime | None
) -> None:
    """Check newsletters for what volunteers miss: every file given, or every .yaml file in the directories given.

    Without arguments, checks newsletters/ in the current directory. Validates each file, renders every version
    of it, and looks for lost links, leftovers, wrong weekdays, past deadlines, officials out of office and more
    (docs/checks.md lists them); a newsletter dated before today (--as-of) is a warning. One line per problem:
    FILE:LINE: key: what is wrong: how to fix. Exits 2 when
    there are errors (or, with --strict, warnings), else 0.
    """
    files = check.collect(list(paths) or [Path("newsletters")])
    today: check.Today = as_of.date() if as_of else variants.send_day
    problems = check.check_files(files, today=today, online_check=online, spam_score=spam)
    if output_format == "json":
        click.echo(json.dumps([p.as_dict() for p in problems], indent=2, ensure_ascii=False))
    else:
        for problem in problems:
            click.echo(str(problem), err=True)
    errors = len(check.errors(problems))
    warnings = len(problems) - errors
    noun = "newsletter" if len(files) == 1 else "newsletters"
    counts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((errors, "error"), (warnings, "warning")) if n]
    summary = f"{len(files)} {noun} checked: {', '.join(counts) or 'no problems'}"
    click.echo(summary, err=bool(problems) or output_format == "json")
    if errors or (strict and warnings):
        sys.exit(ExitCode.INVALID_INPUT)
