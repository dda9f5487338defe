"""The command line: each command parses its options, calls one library function, and prints.

This package is the one place that turns an :class:`~actionmail.errors.ActionmailError` into output and an exit
code (:func:`reports_errors`). Here: render, variants, check, schema, new, secret-key; `subscribers` and `send`/`status`
have modules of their own.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from actionmail import __version__, audience, check, scaffold, tokens, variants, yesterday
from actionmail.config import Project, load_project
from actionmail.errors import ActionmailError, ExitCode, InvalidInput, UsageError, shown
from actionmail.newsletter import json_schema
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


SEGMENT_HELP = "Only members matching this, e.g. 'district=3 tag=volunteer', 'language=es', 'district=1|2'."


def _segment(project: Project, text: str | None) -> audience.Segment | None:
    return None if text is None else audience.Segment.parse(text, project.officials.districts)


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
@click.option("--as", "as_email", metavar="EMAIL", help="Render what this member gets, their name and links included.")
@reports_errors
def render(
    file: Path,
    output: Path | None,
    text_output: Path | None,
    mjml_output: Path | None,
    district: str | None,
    as_email: str | None,
) -> None:
    """Render a newsletter FILE to HTML (and, with --text, plain text).

    Per-reader values (name, unsubscribe link) get stand-ins, unless --as names a member: then it is exactly
    what they would get, their language's translation included.
    """
    edition = variants.load_edition(file)
    project = edition.project
    if district is not None and as_email is not None:
        raise UsageError("--district and --as: give one of them (a member's district comes with them)")
    values: Mapping[str, str | None] = sample_values(project)
    if as_email is not None:
        member = _member(project, as_email)
        key = edition.key_for(member)
        values = variants.reader_values(member, project, _secret_or_none())
    else:
        if district is not None and district not in project.officials.districts:
            known = ", ".join(project.officials.districts) or "none: officials.yaml has no per-district group"
            raise UsageError(f"--district {district}: not a district in officials.yaml (known: {known})")
        key = variants.VariantKey(edition.default_language, district if edition.uses_district else None)
    rendered = edition.render(key)
    email = rendered.personalize(values)
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


def _member(project: Project, email: str) -> audience.Subscriber:
    with audience.Store.open(audience.database_path(project)) as store:
        member = store.get(email)
    if member is None:
        raise UsageError(f"--as {email}: no such member in {shown(audience.database_path(project))}")
    if member.status != audience.Status.ACTIVE:
        click.echo(f"Note: {member.email} is {member.status}: they would not get this email", err=True)
    return member


def _secret_or_none() -> bytes | None:
    try:
        return tokens.secret_key()
    except tokens.MissingSecret as e:
        click.echo(f"Note: the unsubscribe link is a stand-in: {e}", err=True)
        return None


@main.command("variants")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--segment", help=SEGMENT_HELP)
@click.option(
    "--render",
    "render_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each variant's HTML and text into this directory, to look at.",
)
@reports_errors
def variants_command(file: Path, segment: str | None, render_dir: Path | None) -> None:
    """List the versions of a newsletter FILE that members get, and how many get each.

    Members are grouped by what the email uses of them: their district (where it names a per-district group)
    and their language (where a translation sits beside FILE, e.g. NAME.es.yaml).
    """
    edition = variants.load_edition(file)
    with audience.Store.open(audience.database_path(edition.project)) as store:
        groups = store.count_by_language_and_district(_segment(edition.project, segment))
    counts = variants.plan_counts(edition, groups)
    rows = [(edition.label(key), f"{count:,}", variants.describe(edition, key)) for key, count in counts.items()]
    rows.append(("total", f"{sum(counts.values()):,}", ""))
    widths = [max(len(row[i]) for row in [("VARIANT", "MEMBERS", ""), *rows]) for i in range(2)]
    for name, count, who in [("VARIANT", "MEMBERS", "NAMES"), *rows]:
        click.echo(f"{name:<{widths[0]}}  {count:>{widths[1]}}  {who}".rstrip())
    if render_dir is not None:
        render_dir.mkdir(parents=True, exist_ok=True)
        sample = sample_values(edition.project)
        for key in counts:
            email = edition.render(key).personalize(sample)
            stem = f"{key.language}-district-{key.district or 'unknown'}"
            (render_dir / f"{stem}.html").write_text(email.html, encoding="utf-8")
            (render_dir / f"{stem}.txt").write_text(email.text, encoding="utf-8")
        click.echo(f"Wrote {len(counts)} variants to {render_dir}", err=True)


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--strict", is_flag=True, help="Fail (exit 2) on warnings too, not only on errors.")
@click.option("--online", is_flag=True, help="Also check that every web address linked to answers (uses the network).")
@click.option(
    "--spam/--no-spam",
    default=True,
    show_default=True,
    help="Score each newsletter with SpamAssassin, where installed: a few seconds, the rest takes milliseconds.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: a list of {file, line, key, severity, message, fix} on standard output.",
)
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


@main.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write it to this file (e.g. schema/newsletter.json) instead of standard output.",
)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of the newsletter format, for editors' completion and validation.

    Put "# yaml-language-server: $schema=../schema/newsletter.json" at the top of a newsletter file (the
    path is relative to it) and editors with the YAML language server (VS Code's YAML extension, and others)
    complete keys and flag mistakes as you type.
    """
    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}", err=True)


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
    """Create a newsletter file for a day, to fill in.

    When members reported on an earlier newsletter in the same directory (through `actionmail serve`), the newest
    such one's figures are written into 'yesterday:', to show near the top of the email.
    """
    date = day.date() if day else dt.date.today()
    figures = yesterday.figures(load_project(directory if directory.exists() else Path.cwd()), directory, date)
    path = scaffold.new_newsletter(directory, date, title, figures)
    click.echo(f"Created {path}")
    if figures is not None:
        click.echo(f"Wrote 'yesterday:' from what members reported of {figures.issue}: {figures.text}")


@main.command("secret-key")
@reports_errors
def secret_key_command() -> None:
    """Create the secret key that signs unsubscribe links, in a key file only you can read (mode 600).

    Does nothing when a key is already set, in ACTIONMAIL_SECRET_KEY or the key file. The key is never shown.
    """
    if os.environ.get(tokens.SECRET_KEY_VARIABLE):
        click.echo(f"The secret key is set in {tokens.SECRET_KEY_VARIABLE}; nothing to do.")
        return
    path, created = tokens.create_key_file()
    click.echo(f"Created {path} (mode 600)" if created else f"{path} exists; nothing to do.")


# The command groups in their own modules register themselves on `main` when imported.
from actionmail.cli import preview as _preview  # noqa: E402, F401
from actionmail.cli import sending as _sending  # noqa: E402, F401
from actionmail.cli import serve as _serve  # noqa: E402, F401
from actionmail.cli import subscribers as _subscribers  # noqa: E402, F401
from actionmail.cli import sync as _sync  # noqa: E402, F401
