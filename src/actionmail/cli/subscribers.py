"""`actionmail subscribers …`: the member list's commands."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import click

from actionmail import audience, tokens
from actionmail.audience import importer
from actionmail.audience.model import DEFAULT_SET
from actionmail.audience.signups import Pending, Signups
from actionmail.cli import SEGMENT_HELP, reports_errors
from actionmail.cli.common import segment as _segment
from actionmail.config import Project, load_project
from actionmail.errors import ExitCode, UsageError, shown
from actionmail.feedback import files as feedback_files
from actionmail.officials import district_option


@click.group()
def subscribers() -> None:
    """Members: import, add, unsubscribe, list, count and export them; record bounces and complaints.

    They live in one SQLite file, actionmail.db next to actionmail.toml unless [audience] database says
    otherwise. Only active members are sent to: nothing but `resubscribe` makes an unsubscribed, bounced or
    complained member active again.
    """


def _open_store() -> tuple[Project, audience.Store]:
    project = load_project(Path.cwd())
    return project, audience.Store.open(audience.database_location(project))


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
    help="Read COLUMN as FIELD: email, first_name, last_name, district, district.SET (another district set of "
    "officials.yaml, e.g. district.congress), zip, language, tags, field.NAME, or - to ignore it. Repeatable.",
)
@click.option("--source", help="Where these members came from (default: 'import FILE').")
@reports_errors
def import_command(file: Path, maps: tuple[str, ...], source: str | None) -> None:
    """Import members from a CSV file: a Mailchimp or Action Network export, or `subscribers export`.

    Columns are recognised by name; others become custom fields. Importing again updates members and
    never duplicates them; an empty cell erases nothing, and nobody who unsubscribed, bounced or complained
    becomes active again. Bad rows are reported as FILE:LINE: column: what is wrong: how to fix, and the
    good ones imported; the exit status is then 3. A value that had to change (control characters, encoded
    words) or a district or language left out is a warning on its row: the member is imported all the same.

    A member has a district in each district set of officials.yaml: the District column holds the default
    set's (groups without 'set:'); a column named district.SET (or --map 'CD=district.congress') another's.
    """
    mapping = dict(importer.parse_map_option(option) for option in maps)
    project, store = _open_store()
    with store:
        report = store.import_csv(file, mapping, project.officials.districts, source, _known_sets(project))
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
    if report.suppressions_added:
        click.echo(f"suppression list: {_not_members(report.suppressions_added)} added")
    click.echo(report.summary)
    if report.skipped:
        sys.exit(ExitCode.PARTIAL_FAILURE)


@subscribers.command()
@click.argument("email")
@click.option("--first-name")
@click.option("--last-name")
@click.option(
    "--district",
    "district_options",
    multiple=True,
    metavar="[SET=]DISTRICT",
    help="Their district, one of those in officials.yaml; SET=DISTRICT for another district set, e.g. "
    "--district 3 --district congress=7.",
)
@click.option("--zip")
@click.option("--language", help="A code like en or es.")
@click.option("--tag", "tags", multiple=True, help="Repeatable.")
@reports_errors
def add(
    email: str,
    first_name: str | None,
    last_name: str | None,
    district_options: tuple[str, ...],
    zip: str | None,
    language: str | None,
    tags: tuple[str, ...],
) -> None:
    """Add a member, or fill in details of one already on the list."""
    district: str | None = None
    others: dict[str, str] = {}
    for option in district_options:
        name, value = district_option(option)
        if name == DEFAULT_SET:
            district = value
        else:
            others[name] = value
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
            districts=others,
            known_sets=_known_sets(project),
        )
    note = "" if member.status is audience.Status.ACTIVE else f" ({_since(member)}: not sent to)"
    if change is audience.Change.ADDED:
        click.echo(f"Added {member.email}{note}")
    elif change is audience.Change.UPDATED:
        click.echo(f"Updated {member.email}{note}")
    else:
        click.echo(f"{member.email} is already a subscriber with these details{note}")


@subscribers.command()
@click.argument("email", required=False)
@click.option(
    "--token",
    metavar="TOKEN",
    help="Unsubscribe whoever this unsubscribe token (or whole unsubscribe link, as a member forwarded it) was "
    "made for, instead of an EMAIL.",
)
@click.option("--reason", help="Why, e.g. 'asked by reply on 2024-05-01'.")
@reports_errors
def unsubscribe(email: str | None, token: str | None, reason: str | None) -> None:
    """Stop sending to EMAIL. An address that is not a member is put on the suppression list all the same."""
    if (email is None) == (token is None):
        raise UsageError(
            "give the address to unsubscribe, or --token with an unsubscribe link's token, not both: e.g. "
            "actionmail subscribers unsubscribe ana@example.org"
        )
    project, store = _open_store()
    with store:
        if token is not None:
            email = _member_of_token(project, store, token)
        assert email is not None
        before = store.get(email)
        after = store.unsubscribe(email, reason)
    if before is None or after is None:
        click.echo(f"{email} is not a subscriber; it is on the suppression list now, so it will not be added")
    elif before.status is audience.Status.ACTIVE:
        click.echo(f"Unsubscribed {after.email}")
    else:
        click.echo(f"{before.email} was already {_since(before)}")


def _member_of_token(project: Project, store: audience.Store, pasted: str) -> str:
    """The address of the member an unsubscribe token (or link) was made for."""
    email = project.settings.email
    subscriber_id = tokens.verify(
        tokens.secret_key(), email.list_id, tokens.find(pasted, email.unsubscribe_url), store.email_of
    )
    address = None if subscriber_id is None else store.email_of(subscriber_id)
    if address is None:
        shown_token = pasted.strip() if len(pasted.strip()) <= 80 else pasted.strip()[:79] + "…"
        raise UsageError(
            f"'{shown_token}' is not an unsubscribe token of this list (it is cut short or altered, was made with "
            "another secret key, or its member was deleted): unsubscribe them by address instead"
        )
    return address


def _not_members(n: int) -> str:
    return f"{n} address that is not a member" if n == 1 else f"{n} addresses that are not members"


@subscribers.group()
def suppressions() -> None:
    """The suppression list: addresses never sent to, even when imported again."""


@suppressions.command("list")
@click.option("--all", "everyone", is_flag=True, help="Include members' addresses, not only those of non-members.")
@reports_errors
def suppressions_list(everyone: bool) -> None:
    """List the addresses on the suppression list that are not members (with --all, every address on it), with
    why, since when and from where."""
    _, store = _open_store()
    with store:
        rows = [
            [key, str(entry.reason), entry.at.date().isoformat(), entry.source or "", entry.detail or ""]
            + (["yes" if member else ""] if everyone else [])
            for key, entry, member in store.suppressions(members=everyone)
        ]
    headers = ["ADDRESS", "REASON", "SINCE", "SOURCE", "DETAIL", *(["MEMBER"] if everyone else [])]
    if rows:
        widths = [min(60, max(len(h), *(len(r[i]) for r in rows))) for i, h in enumerate(headers)]
        for row in [headers, *rows]:
            cells = [" ".join(text.split()) for text in row]
            fitted = [text if len(text) <= w else text[: w - 1] + "…" for text, w in zip(cells, widths, strict=True)]
            click.echo("  ".join(text.ljust(w) for text, w in zip(fitted, widths, strict=True)).rstrip())
    if everyone:
        click.echo(f"{len(rows)} address{'es' if len(rows) != 1 else ''} on the suppression list")
    else:
        click.echo(f"{_not_members(len(rows))} on the suppression list")


@suppressions.command("remove")
@click.argument("email")
@reports_errors
def suppressions_remove(email: str) -> None:
    """Take EMAIL off the suppression list, e.g. an address put there by mistake. A member keeps their status:
    only `resubscribe` makes anyone active again."""
    _, store = _open_store()
    with store:
        entry = store.remove_suppression(email)
        member = store.get(email)
    if entry is None:
        raise UsageError(
            f"'{email}' is not on the suppression list: nothing to do (see actionmail subscribers suppressions list)"
        )
    if member is None:
        click.echo(f"Removed {email} ({entry.reason}) from the suppression list; an import or add can make it a member")
    elif member.status is audience.Status.ACTIVE:
        click.echo(f"Removed {member.email} ({entry.reason}) from the suppression list")
    else:
        click.echo(
            f"Removed {member.email} ({entry.reason}) from the suppression list; the member is still {member.status} "
            f"(actionmail subscribers resubscribe {member.email} --reason '…' makes them active)"
        )


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


@subscribers.command("show")
@click.argument("email")
@reports_errors
def show(email: str) -> None:
    """Show a member's details and history: every unsubscribe, bounce, complaint and resubscription, when, from
    where (one-click, the unsubscribe page, undo, by hand, an import, a provider) and why."""
    _, store = _open_store()
    with store:
        member = store.get(email)
        entry = store.suppression(email)
        changes = store.history(email)
        consent = Signups(store).consent(email)
    if member is None and entry is None and not changes:
        raise UsageError(f"{email} is not a subscriber, and has no history here: check the address")
    if member is None:
        click.echo(f"{email}: not a subscriber")
    else:
        click.echo(member.email)
        details = [
            ("name", member.name),
            ("district", member.district or ""),
            *((f"district.{name}", value) for name, value in sorted(member.districts.items())),
            ("zip", member.zip or ""),
            ("language", member.language or ""),
            ("tags", ", ".join(member.tags)),
            *((f"field.{name}", " ".join(value.split())) for name, value in sorted(member.fields.items())),
            ("status", _since(member) + (f" ({member.status_reason})" if member.status_reason else "")),
            ("joined", f"{member.created_at.date().isoformat()}" + (f" ({member.source})" if member.source else "")),
            ("id", str(member.id)),
            ("consent", _consent(consent) if consent else ""),
        ]
        for label, value in details:
            if value:
                click.echo(f"  {label}: {value}")
    if entry is not None:
        source = f", {entry.source}" if entry.source else ""
        click.echo(f"  suppression list: {entry.reason} since {entry.at.date().isoformat()}{source}")
    if not changes:
        click.echo("History: no changes recorded")
        return
    click.echo("History:")
    rows = [(f"{c.at:%Y-%m-%d %H:%M} UTC", c.change, c.source, c.detail or "") for c in changes]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [text.ljust(width) for text, width in zip(row, widths, strict=False)] + [row[3]]
        click.echo(("  " + "  ".join(cells)).rstrip())


def _consent(signup: Pending) -> str:
    """When a confirmed sign-up gave its consent: the click on the emailed link, and when that email was asked for."""
    assert signup.confirmed_at is not None
    return (
        f"{signup.confirmed_at:%Y-%m-%d %H:%M:%S} UTC, by the link emailed on sign-up "
        f"({signup.requested_at:%Y-%m-%d %H:%M:%S} UTC)"
    )


@subscribers.command("list")
@click.option("--segment", help=SEGMENT_HELP)
@click.option("--all", "everyone", is_flag=True, help="Include members not sent to, with their status.")
@reports_errors
def list_command(segment: str | None, everyone: bool) -> None:
    """List active members as a table, in the order sends go (language, district, then when they joined)."""
    project, store = _open_store()
    with store:
        chosen = _segment(project, segment)
        members = store.everyone(chosen) if everyone else store.subscribers(chosen)
        # A column for each other district set that members have a district of.
        held = store.district_sets()
        sets = [s for s in project.officials.sets if s in held] + [s for s in held if s not in project.officials.sets]
        _table(members, everyone, sets)
        counts = store.count_by_status(chosen) if everyone else {audience.Status.ACTIVE: store.count(chosen)}
    where = f" in segment '{segment}'" if segment else ""
    total = sum(counts.values())
    if everyone:
        parts = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        click.echo(f"{total} subscriber{'s' if total != 1 else ''}{where}" + (f": {parts}" if parts else ""))
    else:
        click.echo(f"{total} active subscriber{'s' if total != 1 else ''}{where}")


def _table(members: Iterator[audience.Subscriber], with_status: bool, sets: Sequence[str] = ()) -> int:
    """Print members as aligned columns; widths come from the first rows, so a million stream through. ``sets``:
    the other district sets of officials.yaml, each a column after DISTRICT."""
    headers = [
        "EMAIL",
        "NAME",
        "DISTRICT",
        *(name.upper() for name in sets),
        "ZIP",
        "LANGUAGE",
        "TAGS",
        *(["STATUS"] if with_status else []),
    ]
    limits = [40, 30, 8, *(8 for _ in sets), 10, 8, 40, 12]

    def cells(member: audience.Subscriber) -> list[str]:
        row = [
            member.email,
            member.name,
            member.district or "",
            *(member.districts.get(name, "") for name in sets),
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
@click.option(
    "--all",
    "everyone",
    is_flag=True,
    help="Everyone, with their status, id and suppression, and the suppressed addresses that are not members: "
    "the backup, which import restores.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="Write here, not stdout."
)
@reports_errors
def export(segment: str | None, everyone: bool, output: Path | None) -> None:
    """Write active members (with --all, everyone) as CSV, in the columns `subscribers import` reads back."""
    project, store = _open_store()
    with store:
        chosen = _segment(project, segment)
        if output is None:
            store.export_csv(sys.stdout, chosen, everyone=everyone)
            return
        with output.open("w", encoding="utf-8", newline="") as out:
            written = store.export_csv(out, chosen, everyone=everyone)
        others = sum(1 for _ in store.suppressions(members=False)) if everyone and chosen is None else 0
    also = f", {_not_members(others)} on the suppression list" if others else ""
    click.echo(f"Wrote {output} ({written} subscriber{'s' if written != 1 else ''}{also})", err=True)


@subscribers.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reports_errors
def suppress(file: Path) -> None:
    """Record bounces, spam complaints and unsubscribes from a mail provider's export or saved webhooks.

    Mailgun, SendGrid and Postmark shapes are recognised (JSON, NDJSON or CSV). Addresses go on the
    suppression list and their members stop being sent to; soft bounces and other events are ignored.
    """
    found = feedback_files.read_events(file)
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


def _known_sets(project: Project) -> dict[str, list[str]]:
    """Each district set of officials.yaml with its districts, the default set's included."""
    return {DEFAULT_SET: project.officials.districts, **project.officials.other_sets}
