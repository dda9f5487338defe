"""Setting up: `actionmail new`, `actionmail schema` and `actionmail secret-key`."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import click

from actionmail import scaffold, tokens, yesterday
from actionmail.cli import reports_errors
from actionmail.config import load_project
from actionmail.newsletter import json_schema


@click.command()
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


@click.command()
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


@click.command("secret-key")
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
