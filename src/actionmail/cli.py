"""The command line: each command parses its options, calls one library function, and prints.

This is the one place that turns an :class:`~actionmail.errors.ActionmailError` into output and an exit code.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from actionmail import __version__, check, scaffold
from actionmail.errors import ActionmailError, ExitCode, InvalidInput, UsageError
from actionmail.render import render as render_newsletter
from actionmail.render import sample_values, templates

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(command: F) -> F:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InvalidInput as e:
            for problem in e.problems:
                click.echo(str(problem), err=True)
            sys.exit(e.exit_code)
        except ActionmailError as e:
            click.echo(f"Error: {e}", err=True)
            sys.exit(e.exit_code)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="actionmail")
def main() -> None:
    """Turn each day's action, written as one YAML file, into a responsive, accessible email."""
    _cache_compiled_templates()


def _cache_compiled_templates() -> None:
    directory = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "actionmail" / "templates"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a read-only home: templates are compiled on each run, which is slower but correct
    if os.access(directory, os.W_OK):
        templates.cache_compiled_templates(directory)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the HTML here instead of to standard output.",
)
@click.option(
    "--text",
    "text_output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the plain-text part here.",
)
@click.option(
    "--mjml",
    "mjml_output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the generated MJML here.",
)
@click.option("--district", help="Render the version for readers in this district (default: district unknown).")
@reports_errors
def render(
    file: Path, output: Path | None, text_output: Path | None, mjml_output: Path | None, district: str | None
) -> None:
    """Render a newsletter FILE to HTML (and, with --text, plain text).

    Per-reader links (unsubscribe) get a sample value; `send` fills in each reader's own.
    """
    project, newsletter = check.load(file)
    if district is not None and district not in project.officials.districts:
        known = ", ".join(project.officials.districts) or "none: officials.yaml has no per-district group"
        raise UsageError(f"--district {district}: not a district in officials.yaml (known: {known})")
    rendered = render_newsletter(newsletter, project, district=district, slug=check.slug(file))
    email = rendered.personalize(sample_values(project))
    if output is None:
        click.echo(email.html, nl=False)
    else:
        output.write_text(email.html, encoding="utf-8")
    if text_output is not None:
        text_output.write_text(email.text, encoding="utf-8")
    if mjml_output is not None:
        mjml_output.write_text(rendered.mjml, encoding="utf-8")
    if output is not None:
        click.echo(f"Wrote {output} ({len(email.html.encode()) / 1024:.1f} KB)", err=True)


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@reports_errors
def check_command(paths: tuple[Path, ...]) -> None:
    """Validate newsletters: every file given, or every .yaml file in the directories given.

    Without arguments, checks newsletters/ in the current directory. Exits 0 when all is well and 2 when
    anything needs fixing, with one line per problem: FILE:LINE: key: what is wrong: how to fix.
    """
    files = check.collect(list(paths) or [Path("newsletters")])
    problems = check.check_files(files)
    for problem in problems:
        click.echo(str(problem), err=True)
    noun = "newsletter" if len(files) == 1 else "newsletters"
    if problems:
        click.echo(
            f"{len(files)} {noun} checked: {len(problems)} problem{'s' if len(problems) != 1 else ''}",
            err=True,
        )
        sys.exit(ExitCode.INVALID_INPUT)
    click.echo(f"{len(files)} {noun} checked: no problems")


@main.command()
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="The day it goes out (default: today).")
@click.option("--title", default="", help="A few words for the file name, e.g. 'transit funding'.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("newsletters"),
    show_default=True,
    help="Where to create the file.",
)
@reports_errors
def new(day: dt.datetime | None, title: str, directory: Path) -> None:
    """Create a newsletter file for a day, to fill in."""
    path = scaffold.new_newsletter(directory, (day.date() if day else dt.date.today()), title)
    click.echo(f"Created {path}")
