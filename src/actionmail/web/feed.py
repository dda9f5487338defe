"""The web edition's Atom feed (RFC 4287), written with feedgen: the newest newsletters, newest first.

Each entry is a newsletter: its subject as the title, its preheader as the summary, its page's address as its
link and id. Times are the newsletters' days (midnight in the organization's time zone), so the feed's
``updated`` is the newest newsletter's day, never the time of the build: the same newsletters give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence

from feedgen.feed import FeedGenerator

from actionmail.config import Project
from actionmail.web.manifest import Entry
from actionmail.web.paths import Site


def feed(site: Site, project: Project, entries: Sequence[Entry]) -> bytes:
    """The feed of ``entries`` (newest first, as many as it should hold)."""
    organization = project.settings.organization
    zone = zoneinfo.ZoneInfo(organization.timezone)
    generator = FeedGenerator()
    generator.id(site.url)
    generator.title(site.title)
    generator.link(href=site.url, rel="alternate", type="text/html")
    generator.link(href=site.feed_url, rel="self", type="application/atom+xml")
    author = {"name": organization.name}
    if organization.website:
        author["uri"] = organization.website
    generator.author(author)
    generator.language(site.language)
    generator.generator("actionmail")  # no version: an upgrade alone doesn't change the feed
    newest = max((entry.date for entry in entries), default=dt.date(1970, 1, 1))
    generator.updated(dt.datetime.combine(newest, dt.time(0), zone))
    for entry in entries:
        day = dt.datetime.combine(entry.date, dt.time(0), zone)
        item = generator.add_entry(order="append")
        item.id(entry.url)
        item.title(entry.subject)
        item.link(href=entry.url, rel="alternate", type="text/html")
        item.summary(entry.preheader)
        item.published(day)
        item.updated(day)
    data: bytes = generator.atom_str(pretty=True)
    return data
