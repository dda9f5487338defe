"""`actionmail web build`: the web edition, a static site of every newsletter, for any host (actionmail.web)."""

from __future__ import annotations

from pathlib import Path

import click

from actionmail import web
from actionmail.cli import reports_errors
from actionmail.config import load_project
from actionmail.errors import shown


@click.group("web")
def web_group() -> None:
    """The web edition: each newsletter as a page at the address its "View this email in your browser" link has
    ([email] web_version_url), with an index, an Atom feed and calendar files, for any static host."""


@web_group.command("build")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the site into this directory (default: [web] output in actionmail.toml, site/).",
)
@reports_errors
def build_command(output: Path | None) -> None:
    """Write the site: every newsletter in newsletters/ dated today or before, except those with `web: false`.

    The directory mirrors the site's addresses: publish it at the root of the host of web_version_url (pages
    go under its path, and nothing else there is touched). Files that didn't change are left as they were;
    pages that a newsletter no longer has (made `web: false`, renamed) are removed.
    """
    project = load_project(Path.cwd())
    built = web.build(project, output or project.root / project.settings.web.output)
    counts = [
        _count(len(built.pages), "newsletter"),
        _count(len(built.calendars), "calendar file"),
        _count(len(built.site) - 1, "index page"),
    ]
    click.echo(
        f"Wrote {', '.join(counts)} and the feed to {shown(built.output)}/ ({_count(len(built.changed), 'file')} "
        f"changed{f', {len(built.removed)} removed' if built.removed else ''})"
    )
    click.echo(f"Index: {shown(built.index)}")
    for path in built.members_only:
        click.echo(f"Not published: {shown(path)}: web: false (for members only)")
    for path in built.later:
        click.echo(f"Not yet published: {shown(path)}: dated after today")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
