"""The command line: each command parses its options, calls one library function, and prints.

This is the one place that turns an :class:`~actionmail.errors.ActionmailError` into output and an exit code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import os
import sys
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click
import tqdm

from actionmail import __version__, audience, check, delivery, providers, scaffold, tokens, variants
from actionmail.audience import events, importer
from actionmail.config import Project, load_project
from actionmail.errors import ActionmailError, ExitCode, InvalidInput, UsageError, shown
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


@main.group()
def subscribers() -> None:
    """Members: import, add, unsubscribe, list, count and export them; record bounces and complaints.

    They live in one SQLite file, actionmail.db next to actionmail.toml unless [audience] database says
    otherwise. Only active members are sent to: nothing but `resubscribe` makes an unsubscribed, bounced or
    complained member active again.
    """


def _open_store() -> tuple[Project, audience.Store]:
    project = load_project(Path.cwd())
    return project, audience.Store.open(audience.database_path(project))


def _segment(project: Project, text: str | None) -> audience.Segment | None:
    return None if text is None else audience.Segment.parse(text, project.officials.districts)


def _since(member: audience.Subscriber) -> str:
    when = f" since {member.status_changed_at.date().isoformat()}" if member.status_changed_at else ""
    return f"{member.status}{when}"


@subscribers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="Read COLUMN as FIELD: email, first_name, last_name, district, zip, language, tags, field.NAME, "
    "or - to ignore it. Repeatable.",
)
@click.option("--source", help="Where these members came from (default: 'import FILE').")
@reports_errors
def import_command(file: Path, maps: tuple[str, ...], source: str | None) -> None:
    """Import members from a CSV file: a Mailchimp or Action Network export, or `subscribers export`.

    Columns are recognised by name; others become custom fields. Importing again updates members and
    never duplicates them; an empty cell erases nothing, and nobody who unsubscribed, bounced or complained
    becomes active again. Bad rows are reported as FILE:LINE: column: what is wrong: how to fix, and the
    good ones imported; the exit status is then 3.
    """
    mapping = dict(importer.parse_map_option(option) for option in maps)
    project, store = _open_store()
    with store:
        report = store.import_csv(file, mapping, project.officials.districts, source)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if report.custom_fields:
        click.echo(
            "custom fields: " + ", ".join(f"field.{name} (from '{column}')" for column, name in report.custom_fields)
        )
    if report.not_active:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(report.not_active.items()))
        click.echo(f"not to be sent to: {counts}")
    if report.kept_inactive:
        click.echo(
            f"kept {report.kept_inactive} who unsubscribed, bounced or complained as they are, although the file "
            "lists them as subscribed (`actionmail subscribers resubscribe` brings one back)"
        )
    click.echo(report.summary)
    if report.skipped:
        sys.exit(ExitCode.PARTIAL_FAILURE)


@subscribers.command()
@click.argument("email")
@click.option("--first-name")
@click.option("--last-name")
@click.option("--district", help="Their council district, one of those in officials.yaml.")
@click.option("--zip")
@click.option("--language", help="A code like en or es.")
@click.option("--tag", "tags", multiple=True, help="Repeatable.")
@reports_errors
def add(
    email: str,
    first_name: str | None,
    last_name: str | None,
    district: str | None,
    zip: str | None,
    language: str | None,
    tags: tuple[str, ...],
) -> None:
    """Add a member, or fill in details of one already on the list."""
    project, store = _open_store()
    with store:
        member, change = store.add(
            email,
            first_name=first_name,
            last_name=last_name,
            district=district,
            zip=zip,
            language=language,
            tags=tags,
            known_districts=project.officials.districts,
        )
    note = "" if member.status is audience.Status.ACTIVE else f" ({_since(member)}: not sent to)"
    if change is audience.Change.ADDED:
        click.echo(f"Added {member.email}{note}")
    elif change is audience.Change.UPDATED:
        click.echo(f"Updated {member.email}{note}")
    else:
        click.echo(f"{member.email} is already a subscriber with these details{note}")


@subscribers.command()
@click.argument("email")
@click.option("--reason", help="Why, e.g. 'asked by reply on 2024-05-01'.")
@reports_errors
def unsubscribe(email: str, reason: str | None) -> None:
    """Stop sending to EMAIL. An address that is not a member is put on the suppression list all the same."""
    _, store = _open_store()
    with store:
        before = store.get(email)
        after = store.unsubscribe(email, reason)
    if before is None or after is None:
        click.echo(f"{email} is not a subscriber; it is on the suppression list now, so it will not be added")
    elif before.status is audience.Status.ACTIVE:
        click.echo(f"Unsubscribed {after.email}")
    else:
        click.echo(f"{before.email} was already {_since(before)}")


@subscribers.command()
@click.argument("email")
@click.option("--reason", required=True, help="Who asked and how, e.g. 'signed up again at the 5/1 meeting'.")
@reports_errors
def resubscribe(email: str, reason: str) -> None:
    """Make a member who unsubscribed, bounced or complained active again: the only way back."""
    _, store = _open_store()
    with store:
        member = store.resubscribe(email, reason)
    click.echo(f"Resubscribed {member.email}")


@subscribers.command("list")
@click.option("--segment", help=SEGMENT_HELP)
@click.option("--all", "everyone", is_flag=True, help="Include members not sent to, with their status.")
@reports_errors
def list_command(segment: str | None, everyone: bool) -> None:
    """List active members as a table, in the order sends go (language, district, then when they joined)."""
    project, store = _open_store()
    chosen = _segment(project, segment)
    with store:
        members = store.everyone(chosen) if everyone else store.subscribers(chosen)
        _table(members, everyone)
        counts = store.count_by_status(chosen) if everyone else {audience.Status.ACTIVE: store.count(chosen)}
    where = f" in segment '{segment}'" if segment else ""
    total = sum(counts.values())
    if everyone:
        parts = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        click.echo(f"{total} subscriber{'s' if total != 1 else ''}{where}" + (f": {parts}" if parts else ""))
    else:
        click.echo(f"{total} active subscriber{'s' if total != 1 else ''}{where}")


def _table(members: Iterator[audience.Subscriber], with_status: bool) -> int:
    """Print members as aligned columns; widths come from the first rows, so a million stream through."""
    headers = ["EMAIL", "NAME", "DISTRICT", "ZIP", "LANGUAGE", "TAGS", *(["STATUS"] if with_status else [])]
    limits = [40, 30, 8, 10, 8, 40, 12]

    def cells(member: audience.Subscriber) -> list[str]:
        row = [
            member.email,
            member.name,
            member.district or "",
            member.zip or "",
            member.language or "",
            ", ".join(member.tags),
        ]
        return row + ([str(member.status)] if with_status else [])

    first = [cells(m) for m in itertools.islice(members, 200)]
    if not first:
        return 0
    widths = [min(limits[i], max(len(header), *(len(row[i]) for row in first))) for i, header in enumerate(headers)]

    def line(row: list[str]) -> str:
        fitted = [text if len(text) <= w else text[: w - 1] + "…" for text, w in zip(row, widths, strict=False)]
        return "  ".join(text.ljust(w) for text, w in zip(fitted, widths, strict=False)).rstrip()

    click.echo(line(headers))
    count = 0
    for row in itertools.chain(first, (cells(m) for m in members)):
        click.echo(line([" ".join(text.split()) for text in row]))
        count += 1
    return count


@subscribers.command()
@click.option("--segment", help=SEGMENT_HELP)
@reports_errors
def count(segment: str | None) -> None:
    """Print how many active members there are (in the segment): the number a send would go to."""
    project, store = _open_store()
    with store:
        click.echo(store.count(_segment(project, segment)))


@subscribers.command()
@click.option("--segment", help=SEGMENT_HELP)
@click.option("--all", "everyone", is_flag=True, help="Include members not sent to, with their status: a backup.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="Write here, not stdout."
)
@reports_errors
def export(segment: str | None, everyone: bool, output: Path | None) -> None:
    """Write active members (with --all, everyone) as CSV, in the columns `subscribers import` reads back."""
    project, store = _open_store()
    chosen = _segment(project, segment)
    with store:
        if output is None:
            store.export_csv(sys.stdout, chosen, everyone=everyone)
            return
        with output.open("w", encoding="utf-8", newline="") as out:
            written = store.export_csv(out, chosen, everyone=everyone)
    click.echo(f"Wrote {output} ({written} subscriber{'s' if written != 1 else ''})", err=True)


@subscribers.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reports_errors
def suppress(file: Path) -> None:
    """Record bounces, spam complaints and unsubscribes from a mail provider's export or saved webhooks.

    Mailgun, SendGrid and Postmark shapes are recognised (JSON, NDJSON or CSV). Addresses go on the
    suppression list and their members stop being sent to; soft bounces and other events are ignored.
    """
    found = events.read_events(file)
    _, store = _open_store()
    with store:
        report = store.suppress_events(found.events)
    for problem in found.problems:
        click.echo(str(problem), err=True)
    records = f"{found.records} record{'s' if found.records != 1 else ''}"
    click.echo(f"{shown(file)}: {', '.join(found.providers)}, {records}")
    kinds = ", ".join(f"{n} {status}" for status, n in sorted(report.suppressed.items()))
    line = f"suppressed {report.suppressed.total()}" + (f" ({kinds})" if kinds else "")
    line += f", already suppressed {report.already}, ignored {found.ignored}"
    if report.stale:
        line += f", older than a resubscription {report.stale}"
    click.echo(line)
    stopped = report.members_stopped
    click.echo(f"{stopped} active subscriber{' is' if stopped == 1 else 's are'} no longer sent to")
    if found.problems:
        sys.exit(ExitCode.PARTIAL_FAILURE)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--segment", help=SEGMENT_HELP)
@click.option("--provider", "provider_name", help="Send through this provider instead of [send] provider.")
@click.option("--to", "test_to", metavar="ADDRESS", help="Send one test copy here ([TEST] in the subject); no ledger.")
@click.option("--as", "as_email", metavar="EMAIL", help="With --to: the copy this member would get.")
@click.option("--dry-run", is_flag=True, help="Do everything but send: who gets which variant, and sample headers.")
@click.option("--yes", "-y", is_flag=True, help="Don't ask for confirmation.")
@click.option("--at", "at", metavar="TIME", help="Deliver at this time ('2019-08-01 07:00', the org's time zone).")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Provider calls at once (default: [send]).")
@click.option("--rate", metavar="N/s", help="At most N messages a second, e.g. 50/s.")
@click.option("--new-version", is_flag=True, help="Send a changed newsletter to those who didn't get the old one.")
@click.option("--resend-uncertain", is_flag=True, help="Send again to those an interrupted call may have reached.")
@reports_errors
def send(
    file: Path,
    segment: str | None,
    provider_name: str | None,
    test_to: str | None,
    as_email: str | None,
    dry_run: bool,
    yes: bool,
    at: str | None,
    concurrency: int | None,
    rate: str | None,
    new_version: bool,
    resend_uncertain: bool,
) -> None:
    """Send a newsletter FILE to every active member (or a segment), exactly once each.

    Every recipient's progress is kept in the ledger (in the subscriber database): run the same command again
    after a crash or an outage and it continues with whoever has not been reached. Exits 3 when some
    recipients failed or may not have been reached (see `actionmail status`).
    """
    problems = check.check_files([file])
    if problems:
        raise InvalidInput(problems)
    edition = variants.load_edition(file)
    project = edition.project
    provider = providers.build(project, provider_name)
    send_at = _send_at(project, at)
    with audience.Store.open(audience.database_path(project)) as store:
        ledger = delivery.Ledger(audience.database_path(project))
        try:
            plan = delivery.prepare(edition, store, ledger, segment, send_at)
            if test_to is not None:
                _send_test(plan, provider, test_to, as_email)
                return
            if dry_run:
                _print_plan(plan, provider.name)
                return
            if plan.total == 0 and plan.resume is None:
                raise UsageError(
                    f"no active members to send to ({segment or 'everyone'}): check --segment, or import members "
                    "with `actionmail subscribers import`"
                )
            secret_key = tokens.secret_key()
            _confirm(plan, provider.name, ledger, yes)
            pace = _pace(project, concurrency, rate)
            with _progress() as bar:
                send_record, outcome, counts = delivery.execute(
                    plan, store, ledger, provider, pace, secret_key,
                    new_version=new_version, resend_uncertain=resend_uncertain,
                    progress=bar.update, on_start=lambda total: setattr(bar, "total", total),
                )  # fmt: skip
        finally:
            ledger.close()
            provider.close()
    summary = ", ".join(f"{state} {counts[state]:,}" for state in delivery.State if counts[state])
    summary = summary or "nobody left to send to (an earlier version reached everyone)"
    click.echo(f"Send {send_record.id} of {plan.issue} through {provider.name}: {summary}")
    if outcome.stopped is not None:
        click.echo(f"Error: stopped: {outcome.stopped}", err=True)
        sys.exit(outcome.stopped.exit_code)
    left = counts[delivery.State.FAILED] + counts[delivery.State.UNCERTAIN] + counts[delivery.State.QUEUED]
    if left:
        click.echo(f"{left:,} not reached: see `actionmail status {file}`", err=True)
        sys.exit(ExitCode.PARTIAL_FAILURE)


def _send_test(plan: delivery.Plan, provider: providers.Provider, address: str, as_email: str | None) -> None:
    edition, project = plan.edition, plan.edition.project
    values: Mapping[str, str | None] = sample_values(project)
    key = variants.VariantKey(edition.default_language, None)
    if as_email is not None:
        member = _member(project, as_email)
        key = edition.key_for(member)
        values = variants.reader_values(member, project, _secret_or_none())
    message_id = delivery.send_test(plan, provider, address, values, key)
    click.echo(f"Sent a test copy of {edition.label(key)} to {address} through {provider.name} ({message_id})")


def _send_at(project: Project, at: str | None) -> dt.datetime | None:
    if at is None:
        return None
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError:
        raise UsageError(f"--at {at}: not a time: write it like '2019-08-01 07:00'") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zoneinfo.ZoneInfo(project.settings.organization.timezone))
    if when <= dt.datetime.now(dt.UTC):
        raise UsageError(f"--at {at}: that time has passed: give a time to come, or send now without --at")
    return when


def _pace(project: Project, concurrency: int | None, rate: str | None) -> delivery.Pace:
    per_second = project.settings.send.rate
    if rate is not None:
        number = rate.removesuffix("/s").strip()
        try:
            per_second = float(number)
        except ValueError:
            raise UsageError(f"--rate {rate}: write it as messages a second, like 50/s") from None
        if per_second <= 0:
            raise UsageError(f"--rate {rate}: must be more than 0")
    return delivery.Pace(concurrency=concurrency or project.settings.send.concurrency, rate=per_second)


def _print_plan(plan: delivery.Plan, provider: str) -> None:
    click.echo(f"Dry run: {plan.issue} through {provider} to {plan.total:,} members ({plan.segment or 'everyone'})")
    for key, count in plan.audience.items():
        click.echo(f"  {plan.edition.label(key):<24} {count:>8,}")
    sample = delivery.sample_headers(plan)
    if sample:
        click.echo("Headers of the first message:")
        for name, value in sample.items():
            click.echo(f"  {name}: {value}")
    click.echo("Nothing was sent.")


def _confirm(plan: delivery.Plan, provider: str, ledger: delivery.Ledger, yes: bool) -> None:
    subject = plan.rendered[next(iter(plan.rendered))].subject
    if plan.resume is not None:
        counts = ledger.counts(plan.resume.id)
        done = counts[delivery.State.ACCEPTED]
        question = f"Continue send {plan.resume.id} of '{subject}' ({done:,} already accepted) through {provider}?"
        uncertain = counts[delivery.State.UNCERTAIN]
        if uncertain:
            click.echo(f"Note: {uncertain:,} may or may not have been reached by an interrupted call.", err=True)
    else:
        question = f"Send '{subject}' to {plan.total:,} members ({plan.segment or 'everyone'}) through {provider}?"
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{question} Not confirmed: pass --yes to send without asking")
    if not click.confirm(question, default=False, err=True):
        raise UsageError("not sent")


@contextlib.contextmanager
def _progress() -> Iterator[Any]:
    with tqdm.tqdm(total=0, unit="msg", file=sys.stderr, disable=None, smoothing=0.1) as bar:
        yield bar


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--all", "show_all", is_flag=True, help="List every recipient not reached, not just the first 50.")
@reports_errors
def status(file: Path, show_all: bool) -> None:
    """Where each send of a newsletter FILE stands: accepted, failed, uncertain, pending, and who was missed."""
    project = load_project(file)
    issue = file.stem
    with audience.Store.open(audience.database_path(project)):
        pass  # creates or migrates the database, so a first `status` doesn't fail
    ledger = delivery.Ledger(audience.database_path(project))
    try:
        sends = ledger.sends(issue)
        if not sends:
            click.echo(f"{issue} has not been sent.")
            return
        for record in sends:
            counts = ledger.counts(record.id)
            done = "finished" if record.finished_at else "not finished"
            click.echo(f"Send {record.id}, started {record.created_at}, {done} ({record.segment or 'everyone'}):")
            click.echo("  " + (", ".join(f"{state} {counts[state]:,}" for state in delivery.State if counts[state])
                               or "no recipients"))  # fmt: skip
            missed = ledger.pending(record.id, [delivery.State.FAILED, delivery.State.UNCERTAIN,
                                                delivery.State.QUEUED, delivery.State.IN_FLIGHT])  # fmt: skip
            for index, row in enumerate(missed):
                if index == 50 and not show_all:
                    click.echo("  … and more: --all lists everyone")
                    break
                click.echo(f"  {row.email}  {row.state}" + (f"  {row.reason}" if row.reason else ""))
    finally:
        ledger.close()


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
