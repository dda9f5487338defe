"""Variants: which version of the day's email each reader gets, rendered once per version, not per reader.

A newsletter file can have translations beside it (``2019-08-01-ring.es.yaml`` next to ``2019-08-01-ring.yaml``).
Readers are grouped by the data the email actually uses: their language, when there is a translation in it, and
their district, when the email names a per-district group or writes ``{district}``. Everything else about a
reader — their name, their unsubscribe link — is filled into the rendered variant per reader
(:meth:`actionmail.render.Rendered.personalize`).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from actionmail import load, merge, tally, tokens
from actionmail.config import Project, load_project
from actionmail.errors import InvalidInput, Problem, shown
from actionmail.newsletter import GroupTarget, Newsletter, load_newsletter
from actionmail.render import Rendered, render, slug_for, view

LANGUAGES = ("en", "es")


class Reader(Protocol):
    """What variants need of a subscriber (actionmail.audience.Subscriber has it)."""

    @property
    def id(self) -> int: ...
    @property
    def email(self) -> str: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def district(self) -> str | None: ...
    @property
    def zip(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def fields(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class VariantKey:
    language: str
    district: str | None  # None: the district is unknown, or the email does not depend on it

    def sort_key(self) -> tuple[str, bool, int, str]:
        """Language, then districts in numeric order (2 before 10), then the fallback last."""
        district = self.district or ""
        return self.language, self.district is None, int(district) if district.isdigit() else 0, district


@dataclass(frozen=True)
class Edition:
    """A day's newsletter and its translations, by language."""

    path: Path
    project: Project
    default_language: str
    newsletters: Mapping[str, Newsletter]
    paths: Mapping[str, Path]
    uses_district: bool  # does any version name a per-district group or write {district}?
    # The day the email goes out, when a send is on a later day than the newsletter's date: every variant's
    # countdowns are counted from it (see :meth:`going_out_on`). None: as of the newsletter's date.
    sent_on: dt.date | None = None

    @functools.cached_property
    def districts(self) -> frozenset[str]:
        """The districts that make a variant of their own (none, when the email doesn't depend on district)."""
        return frozenset(self.project.officials.districts) if self.uses_district else frozenset()

    def key_for(self, reader: Reader) -> VariantKey:
        """Runs once per reader: set lookups only."""
        return self.key(reader.language, reader.district)

    def key(self, language: str | None, district: str | None) -> VariantKey:
        """The variant of readers with this language and district."""
        return VariantKey(
            language if language in self.newsletters and language else self.default_language,
            district if district in self.districts else None,
        )

    def label(self, key: VariantKey) -> str:
        """ "en · district 3", "en · district unknown", or "es · all districts" where districts don't matter."""
        if key.district:
            return f"{key.language} · district {key.district}"
        return f"{key.language} · " + ("district unknown" if self.uses_district else "all districts")

    def render(self, key: VariantKey) -> Rendered:
        newsletter = self.newsletters[key.language]
        return render(
            newsletter,
            self.project,
            district=key.district,
            slug=slug_for(self.path),
            today=self.sent_on,
            issue=tally.issue_of(self.path),
        )

    def going_out_on(self, day: dt.date) -> Edition:
        """This edition as it goes out on ``day``: "in 5 days" counted from that day, not from the newsletter's
        date, and no countdown to a day already past then. A send renders its variants once, from this."""
        return dataclasses.replace(self, sent_on=day if day != self.date else None)

    @property
    def date(self) -> dt.date:
        """The newsletter's date (its translations have the same: :func:`load_edition` makes sure)."""
        return self.newsletters[self.default_language].date


def send_day(project: Project, at: dt.datetime | None = None) -> dt.date:
    """The day an email sent now (or at ``at``) goes out, in the organization's time zone: the day its readers'
    countdowns are counted from, and its dates judged by."""
    zone = zoneinfo.ZoneInfo(project.settings.organization.timezone)
    return (at or dt.datetime.now(dt.UTC)).astimezone(zone).date()


def translations(path: Path) -> dict[str, Path]:
    """The files beside ``path`` that translate it: ``NAME.es.yaml`` for ``NAME.yaml``."""
    if re.search(r"\.[a-z]{2}$", path.stem):  # this file is itself a translation
        return {}
    found = {}
    for language in LANGUAGES:
        candidate = path.with_name(f"{path.stem}.{language}{path.suffix}")
        if candidate.is_file():
            found[language] = candidate
    return found


def load_edition(path: Path, project: Project | None = None) -> Edition:
    """Load a newsletter and its translations; every problem in any of them is reported at once. ``project``:
    the project it belongs to, when already loaded (for many newsletters, read its settings once)."""
    project = project or load_project(path)
    region = project.settings.organization.country
    newsletter = load_newsletter(path, project.officials, region)
    default: str = newsletter.language or project.settings.organization.language
    newsletters: dict[str, Newsletter] = {default: newsletter}
    paths: dict[str, Path] = {default: path}
    problems: list[Problem] = []
    for language, other in translations(path).items():
        try:
            translated = load_newsletter(other, project.officials, region)
        except InvalidInput as e:
            problems += e.problems
            continue
        if (translated.language or project.settings.organization.language) != language:
            problems.append(
                Problem(
                    shown(other),
                    1,
                    "language",
                    f"a translation named .{language} is not in '{language}'",
                    f"write 'language: {language}' in it",
                )
            )
        elif translated.date != newsletter.date:
            problems.append(
                Problem(
                    shown(other),
                    1,
                    "date",
                    f"the translation's date {translated.date} is not {newsletter.date}",
                    f"use the same date as {shown(path)}",
                )
            )
        elif language != default:
            newsletters[language], paths[language] = translated, other
    if problems:
        raise InvalidInput(problems)
    by_district = any(uses_district(n, project) for n in newsletters.values())
    return Edition(path, project, default, newsletters, paths, by_district)


def uses_district(newsletter: Newsletter, project: Project) -> bool:
    per_district = {g.id for g in project.officials.groups if g.per_district}
    actions = [*newsletter.actions, *newsletter.bonus]
    if any(isinstance(t, GroupTarget) and t.group in per_district for a in actions for t in a.targets):
        return True
    alternatives = [alt for a in actions for alt in a.alternatives]  # "if this applies to you": for districts
    if any(alt.districts or any(isinstance(t, GroupTarget) and t.group in per_district for t in alt.targets)
           for alt in alternatives):  # fmt: skip
        return True
    texts = (text for _, text in load.strings(newsletter.model_dump()))
    return any(match[1] == "district" for text in texts for match in merge.TAG.finditer(text))


def describe(edition: Edition, key: VariantKey) -> str:
    """Who this variant names that others don't: each per-district group's member for its district."""
    directory = edition.project.officials
    per_district = [g for g in directory.groups if g.per_district and _targets_group(edition, g.id)]
    parts = []
    for group in per_district:
        member = directory.member_for(group, key.district)
        if member is None:
            parts.append(f"{group.label}: lookup link and all {len(group.members)}")
        else:
            phone = f" {view.phone_view(member.phones[0], edition.project.settings.organization.country).display}"
            parts.append(f"{member.name}{phone if member.phones else ''}")
    return "; ".join(parts)


def _targets_group(edition: Edition, group_id: str) -> bool:
    actions = [a for n in edition.newsletters.values() for a in (*n.actions, *n.bonus)]
    return any(isinstance(t, GroupTarget) and t.group == group_id for a in actions for t in a.targets)


def plan(edition: Edition, readers: Iterable[Reader]) -> dict[VariantKey, int]:
    """How many readers get each variant. Streams: memory grows with the number of variants, not of readers."""
    counts: collections.Counter[VariantKey] = collections.Counter()
    for reader in readers:
        counts[edition.key_for(reader)] += 1
    return _sorted(counts)


def plan_counts(edition: Edition, groups: Iterable[tuple[str | None, str | None, int]]) -> dict[VariantKey, int]:
    """The same as :func:`plan`, from counts per (language, district) such as the store's GROUP BY gives."""
    counts: collections.Counter[VariantKey] = collections.Counter()
    for language, district, number in groups:
        counts[edition.key(language, district)] += number
    return _sorted(counts)


def _sorted(counts: Mapping[VariantKey, int]) -> dict[VariantKey, int]:
    return {key: counts[key] for key in sorted(counts, key=VariantKey.sort_key)}


def reader_values(reader: Reader, project: Project, key: bytes | None) -> dict[str, str | None]:
    """The per-reader merge values. Without a secret key, the unsubscribe and report links are preview stand-ins."""
    return ReaderValues(project, key)(reader)


class ReaderValues:
    """:func:`reader_values` for many readers of one project, as a send makes them: the settings are looked up
    once, not once per reader."""

    def __init__(self, project: Project, key: bytes | None, fields: Collection[str] | None = None) -> None:
        """``fields``: the merge fields the email uses, when known (a send's variant): a report link's token, a
        second HMAC per reader, is made only for an email that has report links."""
        email = project.settings.email
        self._list_id, self._key = email.list_id, key
        # The URLs around their tokens, split once: joining the parts costs less than str.format per reader.
        self._url = email.unsubscribe_url.format(token="\0").split("\0")
        self._report_url = email.report_url_template.format(token="\0").split("\0")
        self._reports = fields is None or "report_url" in fields

    def __call__(self, reader: Reader) -> dict[str, str | None]:
        key, list_id = self._key, self._list_id
        token = "preview" if key is None else tokens.make(key, list_id, reader.id, reader.email)
        values: dict[str, str | None] = {
            "first_name": reader.first_name,
            "last_name": reader.last_name,
            "email": reader.email,
            "zip": reader.zip,
            "unsubscribe_url": token.join(self._url),
        }
        if self._reports:
            report = "preview" if key is None else tokens.make(key, list_id, reader.id, reader.email, tokens.REPORT)
            values["report_url"] = report.join(self._report_url)
        if reader.fields:
            values.update({f"{merge.FIELD_PREFIX}{name}": value for name, value in reader.fields.items()})
        return values
