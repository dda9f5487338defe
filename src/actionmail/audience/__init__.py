"""Subscribers: who gets each day's email, in the database (a SQLite file next to actionmail.toml, or PostgreSQL).

The public API, for the send and preview commands and for scripts:

- :class:`Store` — ``Store.open(path)``; ``subscribers(segment)`` streams the active members in send order,
  ``count(segment)``, ``get(email)``, ``email_of(id)``, ``add``, ``unsubscribe``, ``resubscribe``,
  ``import_csv``, ``export_csv`` (with ``everyone``, the backup that ``import_csv`` restores),
  ``suppress_events``, ``suppressions``, ``remove_suppression``.
- :class:`Segment` — ``Segment.parse("district=3 tag=volunteer")``.
- :class:`Subscriber`, :class:`Status` — what ``subscribers()`` yields.
- :func:`database_location` — where a project's database is (the SQLite file, or PostgreSQL).

Sign-ups through ``actionmail serve``'s form, their limits and the consent each confirmation records, are
:mod:`actionmail.audience.signups` (imported by those who use them).
"""

from __future__ import annotations

from actionmail.audience.model import Addressee, Status, Subscriber
from actionmail.audience.segment import Segment
from actionmail.audience.store import Store, SuppressEvent, Suppression, SuppressReport
from actionmail.audience.upsert import Change, ImportReport
from actionmail.config import Project
from actionmail.database import Location, locate

__all__ = [
    "Addressee",
    "Change",
    "ImportReport",
    "Segment",
    "Status",
    "Store",
    "Subscriber",
    "SuppressEvent",
    "SuppressReport",
    "Suppression",
    "database_location",
]


def database_location(project: Project) -> Location:
    """The project's database: ``ACTIONMAIL_DATABASE_URL`` where it is set; else ``[database] url`` in
    actionmail.toml; else the SQLite file ``[audience] database``, relative to that file (the current directory
    when there is no actionmail.toml). See :mod:`actionmail.database`."""
    configured: Location = project.settings.database.url or project.root / project.settings.audience.database
    return locate(configured)
