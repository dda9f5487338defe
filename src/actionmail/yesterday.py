"""The next day's figure: what members reported of the previous issue, for a newsletter's ``yesterday``.

"Yesterday 212 of you called our district City Councilmember. Thank you!" Members see their reports counted,
which is the point of asking for them. `actionmail new` writes the figure from the previous issue's tallies
(:func:`figures`); `actionmail check` warns when it has gone stale (:mod:`actionmail.check.yesterday`).

The previous issue is the newest newsletter in the same directory, dated before the new one, that members
reported on through `actionmail serve`: a day without reports (a weekend, an issue that asked nothing) is
passed over, and an issue that is not in that directory is not considered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel.dates import format_date
from babel.lists import format_list

from actionmail import audience, load, syntax, tally
from actionmail.audience.reports import Reports, read_only
from actionmail.config import Project
from actionmail.errors import InvalidInput
from actionmail.newsletter import (
    CommitteeTarget,
    GroupTarget,
    HotlineTarget,
    InlineTarget,
    LookupTarget,
    Newsletter,
    OfficialTarget,
)
from actionmail.newsletter import load_newsletter as _load
from actionmail.officials import Directory


@dataclass(frozen=True)
class Figures:
    """What `new` writes under ``yesterday:``."""

    text: str
    issue: str
    as_of: dt.datetime

    def yaml(self) -> str:
        """The ``yesterday:`` block, as YAML (the text in double quotes, escaped as JSON escapes it, which YAML
        reads the same)."""
        return (
            f"yesterday:\n  text: {json.dumps(self.text, ensure_ascii=False)}\n  issue: {self.issue}\n"
            f"  as_of: {self.as_of.isoformat()}\n"
        )


def figures(project: Project, directory: Path, day: dt.date, now: dt.datetime | None = None) -> Figures | None:
    """The figure for a newsletter of ``day`` in ``directory``, from the previous issue's tallies; None when no
    earlier issue there has any (or there is no subscriber database yet: nothing is created)."""
    with read_only(audience.database_location(project)) as reports:
        if reports is None:
            return None
        found = previous(project, directory, day, reports)
        if found is None:
            return None
        issue, newsletter = found
        counted = tally.tallies(newsletter, reports.rows(issue), project.officials)
    zone = zoneinfo.ZoneInfo(project.settings.organization.timezone)
    as_of = (now or dt.datetime.now(dt.UTC)).astimezone(zone).replace(microsecond=0)
    text = sentence(newsletter, counted, project.officials, day)
    return None if text is None else Figures(text, issue, as_of)


def previous(project: Project, directory: Path, day: dt.date, reports: Reports) -> tuple[str, Newsletter] | None:
    """The newest issue in ``directory`` dated before ``day`` that members reported on, loaded (one that no longer
    loads is passed over)."""
    region = project.settings.organization.country
    for date, issue, path in sorted(reported_issues(directory, reports), reverse=True):
        if date >= day:
            continue
        try:
            return issue, _load(path, project.officials, region)
        except InvalidInput:
            continue
    return None


def reported_issues(directory: Path, reports: Reports) -> list[tuple[dt.date, str, Path]]:
    """The issues members reported on whose file is in ``directory`` and has a date: each with that date and file."""
    found = []
    for issue in reports.issues():
        path = issue_file(directory, issue)
        date = date_of(path) if path else None
        if path is not None and date is not None:
            found.append((date, issue, path))
    return found


def issue_file(directory: Path, issue: str) -> Path | None:
    """``directory/ISSUE.yaml`` (or ``.yml``), if it is there."""
    return next((p for p in (directory / f"{issue}.yaml", directory / f"{issue}.yml") if p.is_file()), None)


# Each file's date by a digest of its bytes: `check` asks for the date of every issue members reported on, for
# every newsletter it checks (a year of them: 200 files read 200 times each took 54 s; once each, under a second).
# By the bytes rather than the modification time, which the file system keeps to a few milliseconds: an edit
# within them, to a date of the same length, would have gone unseen.
_DATES: dict[bytes, dt.date | None] = {}
_DATES_KEPT = 4096


def date_of(path: Path) -> dt.date | None:
    """A newsletter file's ``date``, read without validating the rest; None if it has none that can be read."""
    key = _digest(path)
    if key is None:
        return None
    if key in _DATES:
        return _DATES[key]
    date = _read_date(path)
    if _digest(path) == key:  # not changed while it was read: the date is that of these bytes
        if len(_DATES) >= _DATES_KEPT:
            _DATES.clear()
        _DATES[key] = date
    return date


def _digest(path: Path) -> bytes | None:
    """Of what :func:`actionmail.load.read_yaml` reads (a file larger than it reads has no date)."""
    try:
        with path.open("rb") as f:
            return hashlib.blake2b(f.read(syntax.MAX_BYTES + 1), digest_size=16).digest()
    except OSError:
        return None


def _read_date(path: Path) -> dt.date | None:
    try:
        data, _ = load.read_yaml(path)
    except InvalidInput:
        return None
    date = data.get("date") if isinstance(data, dict) else None
    return date if isinstance(date, dt.date) and not isinstance(date, dt.datetime) else None


def sentence(newsletter: Newsletter, tallies: Iterable[tally.Tally], directory: Directory, day: dt.date) -> str | None:
    """ "Yesterday 212 of you called Lisa Herbold, and 80 of you answered "Will you march?": Yes 60%, No 40%.
    Thank you!" — in English: the author edits it, and translates it for a newsletter in another language."""
    parts = [_part(t, directory) for t in tallies if t.total]
    if not parts:
        return None
    days = (day - newsletter.date).days
    if days == 1:
        when = "Yesterday"
    elif 1 < days < 7:
        when = f"On {format_date(newsletter.date, 'EEEE', locale='en')},"
    else:
        when = f"On {format_date(newsletter.date, 'MMMM d', locale='en')},"  # a comma: not "On August 9 3 of you"
    said = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f", and {parts[-1]}"
    return f"{when} {said}. Thank you!"


_VERBS = {"call": "called", "email": "emailed", "thank": "thanked"}


def _part(counted: tally.Tally, directory: Directory) -> str:
    action = counted.question.action
    if counted.question.survey and action.survey is not None:
        answers = sorted((a for a in counted.answers if a.count), key=lambda a: -a.count)
        shares = ", ".join(f"{a.label} {a.share:.0%}" for a in answers)
        return f'{counted.total} of you answered "{action.survey.prompt}": {shares}'
    who = [_who(t, directory) for t in action.targets]
    if action.kind in _VERBS and who:
        return f"{counted.total} of you {_VERBS[action.kind]} {format_list(who, locale='en')}"
    return f'{counted.total} of you told us you did it: "{action.title}"'


def _who(target: object, directory: Directory) -> str:
    if isinstance(target, OfficialTarget):
        return directory.official(target.official).name
    if isinstance(target, GroupTarget):
        return target.label or directory.group(target.group).label
    if isinstance(target, LookupTarget | HotlineTarget):
        return target.label
    if isinstance(target, CommitteeTarget):
        return f"the members of the {target.committee}"
    assert isinstance(target, InlineTarget)
    return target.name
