"""`actionmail prune`: drop old sends' rows from the ledger, keeping each send's counts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import click

from actionmail import audience, delivery
from actionmail import database as db
from actionmail.cli import reports_errors
from actionmail.cli.common import local_time
from actionmail.config import load_project
from actionmail.errors import UsageError

_AGE = re.compile(r"\s*(\d{1,5})\s*(d|days?|w|weeks?)\s*", re.IGNORECASE)


def parse_age(text: str) -> dt.timedelta:
    """'90d', '13w', '90 days' → a timedelta of at least a day."""
    found = _AGE.fullmatch(text)
    if found is None:
        raise UsageError(f"--older-than '{text}' is not an age: write it in days or weeks, like '90d' or '13w'")
    number, unit = int(found[1]), found[2].lower()
    age = dt.timedelta(weeks=number) if unit.startswith("w") else dt.timedelta(days=number)
    if age < dt.timedelta(days=1):
        raise UsageError(f"--older-than '{text}' is less than a day: give at least '1d'")
    return age


@click.command("prune")
@click.option("--older-than", "older_than", required=True, metavar="AGE",
              help="Sends that finished longer ago than this: '90d', '13w'.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Say what would be pruned; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Don't ask for confirmation (for scheduled runs).")
@reports_errors
def prune(older_than: str, dry_run: bool, yes: bool) -> None:
    """Drop the per-recipient rows of sends that finished long ago, keeping each send's counts.

    The ledger keeps a row for each recipient of each send: a 10,000-member list adds 3.6 million a year.
    A pruned send keeps when it went out and how many it reached (`status` shows them), and its newsletter can't
    be sent again (who it reached is no longer known). Sends with anyone still queued, failed or uncertain are
    kept: `sync` or `send` settles them first.
    """
    age = parse_age(older_than)
    project = load_project(Path.cwd())
    cutoff = (dt.datetime.now(dt.UTC) - age).isoformat(timespec="seconds")
    database = audience.database_location(project)
    if not db.exists(database):
        click.echo("No subscriber database yet: nothing to prune.")
        return
    with audience.Store.open(database):  # migrates the database, as every command that opens it
        pass
    ledger = delivery.Ledger(database)
    try:
        found, unfinished = ledger.prunable(cutoff)
        for send in unfinished:
            started = local_time(project, send.created_at)
            click.echo(f"Kept: send {send.id} of {send.issue} (started {started}) is not finished: `actionmail "
                       "status` says who is left; `sync` or `send` settles them.")  # fmt: skip
        if not found:
            click.echo(f"No finished send is older than {older_than.strip()}: nothing to prune.")
            return
        rows = sum(sum(p.counts.values()) for p in found)
        for p in found:
            counts = ", ".join(f"{state} {n:,}" for state, n in p.counts.items() if n) or "no recipients"
            click.echo(f"Send {p.send.id} of {p.send.issue}, finished {local_time(project, p.send.finished_at or '')}"
                       f": {counts}")  # fmt: skip
        what = f"{rows:,} recipient rows of {len(found)} send{'s' if len(found) != 1 else ''}"
        if dry_run:
            click.echo(f"Dry run: would drop {what}, keeping their counts.")
            return
        if not yes:
            click.confirm(f"Drop {what}? Their newsletters can't be sent again after this", abort=True)
        for p in found:
            ledger.prune(p.send)
        click.echo(f"Dropped {what}; their counts are kept (`actionmail status FILE`).")
    finally:
        ledger.close()
