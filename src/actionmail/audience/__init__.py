"""Subscribers: who gets each day's email, in one SQLite database next to actionmail.toml.

The public API, for the send and preview commands and for scripts:

- :class:`Store` — ``Store.open(path)``; ``subscribers(segment)`` streams the active members in send order,
  ``count(segment)``, ``get(email)``, ``email_of(id)``, ``add``, ``unsubscribe``, ``resubscribe``,
  ``import_csv``, ``export_csv`` (with ``everyone``, the backup that ``import_csv`` restores),
  ``suppress_events``, ``suppressions``, ``remove_suppression``.
- :class:`Segment` — ``Segment.parse("district=3 tag=volunteer")``.
- :class:`Subscriber`, :class:`Status` — what ``subscribers()`` yields.
- :func:`database_path` — where a project's database is.

Sign-ups through ``actionmail serve``'s form, their limits and the consent each confirmation records, are
:mod:`actionmail.audience.signups` (imported by those who use them).
"""

from __future__ import annotations

from pathlib import Path

from actionmail.audience.model import Addressee, Status, Subscriber
from actionmail.audience.segment import Segment
from actionmail.audience.store import Store, SuppressEvent, Suppression, SuppressReport
from actionmail.audience.upsert import Change, ImportReport
from actionmail.config import Project

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
    "database_path",
]


def database_path(project: Project) -> Path:
    """The project's subscriber database: ``[audience] database`` in actionmail.toml, relative to that file
    (the current directory when there is no actionmail.toml)."""
    return project.root / project.settings.audience.database
