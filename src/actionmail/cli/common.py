"""What several commands share: the member a command names, the key that signs their links, a --segment, a time
shown in the organization's time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import click

from actionmail import audience, tokens
from actionmail.config import Project
from actionmail.errors import UsageError


def segment(project: Project, text: str | None) -> audience.Segment | None:
    return (
        None
        if text is None
        else audience.Segment.parse(text, project.officials.districts, project.officials.other_sets)
    )


def find_member(project: Project, email: str) -> audience.Subscriber:
    from actionmail.database import describe

    location = audience.database_location(project)
    with audience.Store.open(location) as store:
        found = store.get(email)
    if found is None:
        raise UsageError(f"--as {email}: no such member in {describe(location)}")
    if found.status != audience.Status.ACTIVE:
        click.echo(f"Note: {found.email} is {found.status}: they would not get this email", err=True)
    return found


def secret_or_none() -> bytes | None:
    try:
        return tokens.secret_key()
    except tokens.MissingSecret as e:
        click.echo(f"Note: the unsubscribe link is a stand-in: {e}", err=True)
        return None


def local_time(project: Project, stamp: str | dt.datetime) -> str:
    """A time the database keeps (ISO 8601, UTC) in the organization's time zone: '2019-08-01 07:00 PDT'."""
    when = dt.datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return f"{when.astimezone(zoneinfo.ZoneInfo(project.settings.organization.timezone)):%Y-%m-%d %H:%M %Z}"
