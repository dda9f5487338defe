"""One event as an iCalendar file (RFC 5545), for its "Add to calendar" link: written with the icalendar package.

Its start and end carry their time zone (the event's, else the organization's) with the zone's definition in the
file, so a calendar in another zone shows the right hour. An event without a start time is a day long. Its
description (web/event.txt) is in the newsletter's language, and ends with the newsletter's address.
A "1st and 3rd Tuesdays" recurrence stays words in the description: the file holds the next one, its date.

Nothing in it depends on when it was built: its DTSTAMP is the newsletter's day, its UID the page's address and
the file's name, so rebuilding the site gives the same bytes, and a calendar that imported it knows it again.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
import zoneinfo

import icalendar

from actionmail.config import Project
from actionmail.newsletter import Event, Newsletter

PRODID = "-//actionmail//web edition//EN"


def calendar(
    event: Event, newsletter: Newsletter, project: Project, page_url: str, name: str, summary: str, text: str
) -> bytes:
    """The .ics file ``name`` of ``event``, published with the page at ``page_url``: ``summary`` is its title,
    ``text`` describes it."""
    organization = project.settings.organization
    zone = zoneinfo.ZoneInfo(event.timezone or organization.timezone)
    published = dt.datetime.combine(newsletter.date, dt.time(0), zoneinfo.ZoneInfo(organization.timezone))
    item = icalendar.Event()
    item.add("uid", f"{name.removesuffix('.ics')}.{newsletter.date.isoformat()}@{_host(page_url)}")
    item.add("dtstamp", published.astimezone(dt.UTC))
    if event.start is None:
        item.add("dtstart", event.date)
        item.add("dtend", event.date + dt.timedelta(days=1))
    else:
        item.add("dtstart", dt.datetime.combine(event.date, event.start, zone))
        if event.end is not None:
            item.add("dtend", dt.datetime.combine(event.date, event.end, zone))
    item.add("summary", summary)
    if where := ", ".join(part for part in (event.venue, event.address) if part):
        item.add("location", where)
    elif event.online:
        item.add("location", event.online.url)
    item.add("description", f"{text.strip()}\n\n{page_url}")
    link = event.rsvp or event.online
    item.add("url", link.url if link else page_url)
    item.add("class", "PUBLIC")
    ical = icalendar.Calendar()
    ical.add("prodid", PRODID)
    ical.add("version", "2.0")
    ical.add("calscale", "GREGORIAN")
    ical.add("method", "PUBLISH")
    ical.add_component(item)
    # The zone's rules for the years around the event, not 1970 to 2038: the file stays a few hundred bytes.
    year = event.date.year
    ical.add_missing_timezones(first_date=dt.date(year - 1, 1, 1), last_date=dt.date(year + 2, 1, 1))
    data: bytes = ical.to_ical()
    return data


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or "actionmail"
