"""Variants: which version of the day's email each reader gets, rendered once per version, not per reader.

A newsletter file can have translations beside it (``2019-08-01-ring.es.yaml`` next to ``2019-08-01-ring.yaml``).
Readers are grouped by the data the email actually uses: their language, when there is a translation in it, and
their district in each district set the email uses (a set is used when the email names one of its per-district
groups, or writes ``{district}`` or ``{district.SET}``): a variant is one combination of districts, rendered once
for all the readers who have it. Everything else about a reader — their name, their unsubscribe link — is filled
into the rendered variant per reader (:meth:`actionmail.render.Rendered.personalize`).
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
from actionmail.officials import DEFAULT_SET
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
    district: str | None  # of the default set; None: unknown, or the email does not depend on it
    # The district of each other set the email uses, in the directory's order of sets: (("congress", "7"),).
    others: tuple[tuple[str, str | None], ...] = ()

    @property
    def districts(self) -> dict[str, str | None]:
        """Every set's district in this variant (the default set's under :data:`DEFAULT_SET`)."""
        return {DEFAULT_SET: self.district, **dict(self.others)}

    def sort_key(self) -> tuple[object, ...]:
        """Language, then districts in numeric order (2 before 10), then the fallback last; set by set."""
        return (self.language, *_order(self.district), *(part for _, d in self.others for part in _order(d)))


def _order(district: str | None) -> tuple[bool, int, str]:
    text = district or ""
    return district is None, int(text) if text.isdigit() else 0, text


@dataclass(frozen=True)
class Edition:
    """A day's newsletter and its translations, by language."""

    path: Path
    project: Project
    default_language: str
    newsletters: Mapping[str, Newsletter]
    paths: Mapping[str, Path]
    # The district sets any version uses (names a per-district group of, or writes {district} / {district.SET}),
    # the default set first.
    sets: tuple[str, ...]
    # The day the email goes out, when a send is on a later day than the newsletter's date: every variant's
    # countdowns are counted from it (see :meth:`going_out_on`). None: as of the newsletter's date.
    sent_on: dt.date | None = None

    @property
    def used_sets(self) -> tuple[str, ...]:
        """The district sets this email depends on, the default set first."""
        return self.sets

    @property
    def uses_district(self) -> bool:
        """Does the email depend on any district?"""
        return bool(self.used_sets)

    @functools.cached_property
    def other_sets(self) -> tuple[str, ...]:
        """The sets the email uses other than the default one: each a part of :attr:`VariantKey.others`."""
        return tuple(s for s in self.used_sets if s != DEFAULT_SET)

    @functools.cached_property
    def districts(self) -> frozenset[str]:
        """The default set's districts that make a variant of their own (none, when the email doesn't use it)."""
        return self.districts_of(DEFAULT_SET)

    @functools.cached_property
    def _set_districts(self) -> dict[str, frozenset[str]]:
        return {name: frozenset(self.project.officials.districts_of(name)) for name in self.used_sets}

    def districts_of(self, district_set: str) -> frozenset[str]:
        """The districts of ``district_set`` that make a variant of their own (none, where the email doesn't use
        the set)."""
        return self._set_districts.get(district_set, frozenset())

    def key_for(self, reader: Reader) -> VariantKey:
        """Runs once per reader: set lookups only. A reader's districts of the other sets are its ``districts``
        ({"congress": "7"}, as :class:`actionmail.audience.Subscriber` has them), where it has them."""
        others = getattr(reader, "districts", None) if self.other_sets else None
        return self.key(reader.language, reader.district, others)

    def key(
        self, language: str | None, district: str | None, others: Mapping[str, str | None] | None = None
    ) -> VariantKey:
        """The variant of readers with this language and district (of the default set), and ``others``: their
        districts of the other sets ({"congress": "7"})."""
        return VariantKey(
            language if language in self.newsletters and language else self.default_language,
            district if district in self.districts else None,
            tuple((s, d if (d := (others or {}).get(s)) in self.districts_of(s) else None) for s in self.other_sets),
        )

    def covering_keys(self) -> list[VariantKey]:
        """Every district of each district set the email uses, with the other sets' unknown, and every set
        unknown, in each language: what a send's content hash covers and the preview offers. For one set, that
        is every variant there can be; for several, not every combination (7 council districts times 10
        congressional ones), but every part of one: a combination's email is made of the parts that its
        districts' variants show, so any change to what some reader would get changes one of these."""
        keys: list[VariantKey] = []
        for language in self.newsletters:
            for district_set in self.used_sets:
                for district in self.project.officials.districts_of(district_set):
                    if district_set == DEFAULT_SET:
                        keys.append(self.key(language, district))
                    else:
                        keys.append(self.key(language, None, {district_set: district}))
            keys.append(self.key(language, None))
        return keys

    def label(self, key: VariantKey) -> str:
        """ "en · district 3", "en · district unknown", "en · district 3 · congress 7", or "es · all districts"
        where districts don't matter."""
        if not self.uses_district:
            return f"{key.language} · all districts"
        parts = [key.language]
        for name in self.used_sets:
            district = key.districts.get(name)
            parts.append(f"{name} {district}" if district else f"{name} unknown")
        return " · ".join(parts)

    def render(self, key: VariantKey) -> Rendered:
        newsletter = self.newsletters[key.language]
        return render(
            newsletter,
            self.project,
            district=key.district,
            districts=dict(key.others),
            slug=slug_for(self.path),
            today=self.sent_on,
            issue=tally.issue_of(self.path),
        )

    def going_out_on(self, day: dt.date) -> Edition:
        """This edition as it goes out on ``day``: "in 5 days" counted from that day, not from the newsletter's
        date, and no countdown to a day already past then. A send renders its variants once, from this."""
        return dataclasses.replace(self, sent_on=day if day != self.date else None)

    @property
    def day(self) -> dt.date:
        """The day this edition is rendered for: the day it goes out, or the newsletter's date."""
        return self.sent_on or self.date

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
    used = set().union(*(used_sets(n, project) for n in newsletters.values()))
    sets = tuple(s for s in [*project.officials.sets, *sorted(used)] if s in used)
    return Edition(path, project, default, newsletters, paths, tuple(dict.fromkeys(sets)))


def used_sets(newsletter: Newsletter, project: Project) -> set[str]:
    """The district sets ``newsletter`` depends on: those of the per-district groups it names, the default set
    where it writes ``{district}``, and SET where it writes ``{district.SET}``."""
    per_district = {g.id: g.set_name for g in project.officials.groups if g.per_district}
    actions = [*newsletter.actions, *newsletter.bonus]
    found = {
        per_district[t.group]
        for a in actions
        for t in a.targets
        if isinstance(t, GroupTarget) and t.group in per_district
    }
    found |= view.committee_sets(newsletter, project.officials)  # each district's readers see their member
    for alternative in (alt for a in actions for alt in a.alternatives):  # "if this applies to you": by district
        if alternative.districts:
            found.add(DEFAULT_SET)
        found |= {per_district[t.group] for t in alternative.targets
                  if isinstance(t, GroupTarget) and t.group in per_district}  # fmt: skip
    texts = (text for _, text in load.strings(newsletter.model_dump()))
    for text in texts:
        for match in merge.TAG.finditer(text):
            name, _, district_set = match[1].partition(".")
            if name == "district":
                found.add(district_set or DEFAULT_SET)
    return found


def uses_district(newsletter: Newsletter, project: Project) -> bool:
    """Does ``newsletter`` depend on the default set's district (the one variants have always had)?"""
    return DEFAULT_SET in used_sets(newsletter, project)


def describe(edition: Edition, key: VariantKey) -> str:
    """Who this variant names that others don't: each per-district group's members for its district."""
    directory = edition.project.officials
    per_district = [g for g in directory.groups if g.per_district and _targets_group(edition, g.id)]
    parts = []
    districts = key.districts
    for group in per_district:
        members = directory.members_for(group, districts.get(group.set_name))
        if not members:
            parts.append(f"{group.label}: lookup link and all {len(group.members)}")
        for member in members:
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


def plan_counts(
    edition: Edition, groups: Iterable[tuple[str | None, str | None, Mapping[str, str], int]]
) -> dict[VariantKey, int]:
    """The same as :func:`plan`, from counts per (language, district, other sets' districts), such as the
    store's GROUP BY gives (:meth:`Store.count_by_variant`)."""
    counts: collections.Counter[VariantKey] = collections.Counter()
    for language, district, others, number in groups:
        counts[edition.key(language, district, others)] += number
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
