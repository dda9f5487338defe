"""`actionmail sync`, and the sync `actionmail send` runs first."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import click

from actionmail import audience, providers
from actionmail import database as db
from actionmail import sync as syncing
from actionmail.cli import reports_errors
from actionmail.cli.common import local_time
from actionmail.config import Project, load_project
from actionmail.errors import UsageError
from actionmail.feedback import journal
from actionmail.providers.base import Provider, ProviderError, Pullable

# What each outcome of journal.apply is called in the summary, in this order; any other outcome as it is.
_SAID = {
    "bounced": "bounced",
    "complained": "complained",
    "unsubscribed": "unsubscribed",
    "soft bounce": "soft bounces (not yet suppressed)",
    "already": "already off the list",
    "stale": "older than a resubscription (kept)",
    "confirmed": "uncertain recipients confirmed",
    "delivered": "deliveries",
    "repeated": "already applied",
    "ignored": "other events",
    "no address": "without an address",
}


@click.command("sync")
@click.option("--provider", "provider_name", help="Sync with this provider instead of [send] provider.")
@click.option(
    "--since",
    metavar="DATE",
    help="Start over from this day or time ('2019-08-01', in the organization's time zone) instead of where the "
    "last sync stopped.",
)
@reports_errors
def sync_command(provider_name: str | None, since: str | None) -> None:
    """Read back what the mail provider knows and apply it to the subscriber list, as `serve` does with its
    webhooks: its bounces, complaints and unsubscribes (suppression lists), what happened to each message
    (events, where it keeps them), and what became of recipients an interrupted send left uncertain.

    For groups that run no server; `send` runs it first (--no-sync skips). Each event is applied once, however
    often it is read; an interrupted sync goes on where it stopped.
    """
    project = load_project(Path.cwd())
    provider = providers.build(project, provider_name)
    try:
        if not provider.pulls:
            click.echo(f"{provider.name} keeps no lists or events that actionmail can read back: nothing to sync. "
                       "Bounces come back to the sender's mailbox; `actionmail subscribers suppress` reads them "
                       "from a file.")  # fmt: skip
            return
        synced = run(project, provider, _since(project, since))
    finally:
        provider.close()
    for line in report(synced):
        click.echo(line)


def run(project: Project, provider: Provider, since: dt.datetime | None = None) -> syncing.Synced:
    """Sync ``project``'s subscriber database with ``provider`` (which keeps something to pull)."""
    database = audience.database_location(project)
    with audience.Store.open(database):
        pass  # creates or migrates the database: a first sync needs its tables
    try:
        return syncing.sync(database, provider, since=since)
    except ProviderError:
        click.echo(f"Sync with {provider.name} stopped: what it read before this is applied, and the next sync goes "
                   "on from there", err=True)  # fmt: skip
        raise


def report(synced: syncing.Synced) -> list[str]:
    """The summary of a sync, a line or a few: counts only, never an address."""
    kept = " and ".join(str(p) for p in sorted(synced.kept & {Pullable.SUPPRESSIONS, Pullable.EVENTS}))
    order = [o for o in _SAID if o in synced.outcomes] + sorted(o for o in synced.outcomes if o not in _SAID)
    counts = [f"{_SAID.get(o, o)} {synced.outcomes[o]:,}" for o in order]
    lines = [f"Synced with {synced.provider} ({kept}): {synced.events:,} read" + (f": {', '.join(counts)}" if counts
                                                                                    else "")]  # fmt: skip
    if Pullable.EVENTS not in synced.kept:
        lines.append(f"  {synced.provider} keeps no events to read back: deliveries are known from its webhooks only")
    if synced.skipped:
        lines.append(f"  {len(synced.skipped):,} records were not events, e.g. {synced.skipped[0]}")
    settled = synced.settled
    if settled.confirmed:
        lines.append(f"  {settled.confirmed:,} uncertain recipients were sent to, says {synced.provider}: accepted")
    if settled.requeued:
        lines.append(f"  {settled.requeued:,} uncertain recipients were never sent, says {synced.provider}: the next "
                     "`actionmail send` of their newsletter sends to them")  # fmt: skip
    if settled.waiting:
        lines.append(f"  {settled.waiting:,} uncertain recipients were called too recently to tell: sync again "
                     "later")  # fmt: skip
    if settled.unanswerable:
        lines.append(
            f"  {settled.unanswerable:,} uncertain recipients can't be settled: {synced.provider} keeps no "
            "record of a send's messages that actionmail can read (`actionmail status FILE` lists them)"
        )
    if settled.incomplete:
        lines.append(f"  {settled.incomplete:,} uncertain recipients can't be settled yet: {synced.provider}'s list of "
                     f"their send's messages was not whole ({settled.why})")  # fmt: skip
    if settled.busy:
        lines.append(f"  {settled.busy:,} uncertain recipients left for later: a send is running")
    return lines


def last_synced(project: Project, provider: str) -> str:
    """When a sync with ``provider`` last finished, in the organization's time zone, or "never"."""
    database = audience.database_location(project)
    if not db.exists(database):
        return "never"
    with audience.Store.open(database):
        pass  # migrates it: an older database has no sync_positions yet
    position = journal.position(database, provider)
    if position is None or position.completed_at is None:
        return "never"
    return local_time(project, position.completed_at)


def _since(project: Project, text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since {text}: not a day or a time: write it like 2019-08-01 or '2019-08-01 07:00'"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zoneinfo.ZoneInfo(project.settings.organization.timezone))
    if when > dt.datetime.now(dt.UTC):
        raise UsageError(f"--since {text}: that is still to come: give a day or time that has passed")
    return when
