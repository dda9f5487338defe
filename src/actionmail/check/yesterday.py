"""The next day's figure (``yesterday:``): warn when it names no earlier newsletter, or has gone stale.

Stale means that what the subscriber database knows now is not what the figure says: members reported on that
issue (or changed an answer) after ``as_of``, when the figure was counted; or a later issue, still before this
one, has reports of its own, so "yesterday" is not the latest. The database is only read, and only if it is
there: without one (a fresh checkout, CI), only the file names and dates are checked. And the other way round: a
newsletter whose counted links would not work, because its file name can't be a part of a link.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator

from actionmail import audience, tally, yesterday
from actionmail.audience.reports import read_only
from actionmail.check.draft import Draft
from actionmail.errors import Problem, Severity, shown
from actionmail.newsletter import ISSUE_NAME


def figures(draft: Draft) -> Iterator[Problem]:
    """``yesterday:`` names an earlier newsletter beside this one, and its figures are the latest."""
    said = draft.newsletter.yesterday
    if said is None:
        return
    directory = draft.path.parent
    path = yesterday.issue_file(directory, said.issue)
    if path is None:
        yield draft.problem(
            ("yesterday", "issue"),
            f"there is no newsletter {said.issue}.yaml beside this one",
            "write the file name (without .yaml) of the newsletter the figures are from",
            Severity.WARNING,
        )
        return
    date = yesterday.date_of(path)
    if date is not None and date >= draft.newsletter.date:
        yield draft.problem(
            ("yesterday", "issue"),
            f"{said.issue} is dated {date}, not before this newsletter",
            "take the figures from an earlier newsletter",
            Severity.WARNING,
        )
        return
    zone = zoneinfo.ZoneInfo(draft.project.settings.organization.timezone)
    as_of = said.as_of if said.as_of.tzinfo else said.as_of.replace(tzinfo=zone)
    status = f"`actionmail status {shown(path)}` shows them now"
    with read_only(audience.database_location(draft.project)) as reports:
        if reports is None:
            return
        latest = reports.latest(said.issue)
        newer = [
            (when, issue)
            for when, issue, _ in yesterday.reported_issues(directory, reports)
            if (date or dt.date.min) < when < draft.newsletter.date
        ]
    if newer:
        when, issue = max(newer)
        yield draft.problem(
            ("yesterday", "issue"),
            f"{issue} ({when}) came after {said.issue}, and members reported on it: these figures are not the latest",
            f"write them from {issue} (`actionmail status` shows them), or remove 'yesterday'",
            Severity.WARNING,
        )
    elif latest is not None and latest > as_of:
        yield draft.problem(
            ("yesterday", "as_of"),
            f"members reported on {said.issue} after these figures were counted: they are out of date",
            f"update the text and as_of: {status}",
            Severity.WARNING,
        )


def link_names(draft: Draft) -> Iterator[Problem]:
    """A newsletter that asks members to report back through actionmail serve needs a file name that can be part
    of the links (letters, digits, hyphens, underscores), since the links name the issue by it."""
    issue = tally.issue_of(draft.path)
    if tally.questions(draft.newsletter) and not re.fullmatch(ISSUE_NAME, issue):
        yield draft.problem(
            None,
            f"the file name '{issue}' can't be part of the report links this newsletter's buttons need",
            "rename the file with letters, digits and hyphens only, like 2019-08-01-ring.yaml",
        )
