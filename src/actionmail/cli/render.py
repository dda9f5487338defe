"""`actionmail render` and `actionmail variants`: a newsletter's email, and the versions members get."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from actionmail import variants
from actionmail.cli import SEGMENT_HELP, reports_errors
from actionmail.errors import UsageError
from actionmail.officials import DEFAULT_SET, Directory, district_option
from actionmail.render import sample_values


@click.command()
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
@click.option(
    "--district",
    "district_options",
    multiple=True,
    metavar="[SET=]DISTRICT",
    help="Render the version for readers in this district (default: district unknown); SET=DISTRICT for another "
    "district set of officials.yaml, e.g. --district 3 --district congress=7.",
)
@click.option("--as", "as_email", metavar="EMAIL", help="Render what this member gets, their name and links included.")
@reports_errors
def render(
    file: Path,
    output: Path | None,
    text_output: Path | None,
    mjml_output: Path | None,
    district_options: tuple[str, ...],
    as_email: str | None,
) -> None:
    """Render a newsletter FILE to HTML (and, with --text, plain text).

    Per-reader values (name, unsubscribe link) get stand-ins, unless --as names a member: then it is exactly
    what they would get, their language's translation included.
    """
    edition = variants.load_edition(file)
    project = edition.project
    if district_options and as_email is not None:
        raise UsageError("--district and --as: give one of them (a member's district comes with them)")
    values: Mapping[str, str | None] = sample_values(project)
    if as_email is not None:
        from actionmail.cli.common import find_member, secret_or_none  # the subscriber store: only for --as

        member = find_member(project, as_email)
        key = edition.key_for(member)
        values = variants.reader_values(member, project, secret_or_none())
    else:
        chosen = _districts(project.officials, district_options)
        key = edition.key(edition.default_language, chosen.pop(DEFAULT_SET, None), chosen)
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


def _districts(directory: Directory, options: tuple[str, ...]) -> dict[str, str]:
    """--district 3 --district congress=7 as {"district": "3", "congress": "7"}, each checked."""
    if not options:
        return {}
    from actionmail.audience.cells import find_district  # only with --district: render loads no store otherwise

    chosen: dict[str, str] = {}
    for option in options:
        name, district = district_option(option)
        if name not in directory.sets and name != DEFAULT_SET:
            known = ", ".join(directory.sets) or "none: officials.yaml has no per-district group"
            raise UsageError(
                f"--district {option}: '{name}' is not a district set of officials.yaml (its sets: {known})"
            )
        districts = directory.districts_of(name)
        district = find_district(district, districts) or district  # 'CD 7' is 7, as subscribers add reads it
        if district not in districts:
            known = ", ".join(districts) or "none: officials.yaml has no per-district group"
            where = "" if name == DEFAULT_SET else f" of the set {name}"
            raise UsageError(f"--district {option}: not a district{where} in officials.yaml (known: {known})")
        chosen[name] = district
    return chosen


@click.command("variants")
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
    from actionmail import audience
    from actionmail.cli.common import segment as parse_segment

    edition = variants.load_edition(file)
    with audience.Store.open(audience.database_location(edition.project)) as store:
        parsed = parse_segment(edition.project, segment)
        groups = store.count_by_variant(parsed, other_sets=bool(edition.other_sets))
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
            stem += "".join(f"-{name}-{district or 'unknown'}" for name, district in key.others)
            (render_dir / f"{stem}.html").write_text(email.html, encoding="utf-8")
            (render_dir / f"{stem}.txt").write_text(email.text, encoding="utf-8")
        click.echo(f"Wrote {len(counts)} variants to {render_dir}", err=True)
