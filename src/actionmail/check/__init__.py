"""Check: load newsletters, validate them, render every variant, and look for what volunteers miss.

`actionmail check` runs this, and `send` refuses while errors remain. A newsletter is first validated against the
model (with its officials); one that validates is rendered in every variant — every district, when the email
names a per-district group, and readers whose district is unknown — and handed, as a :class:`Draft`, to each
check in :data:`CHECKS`. A check is a plain function from a draft to the problems it finds, errors or warnings
(:class:`~actionmail.errors.Severity`), each pointing at the file and, where it comes from the YAML, the line
and key. A check whose tool is slow to start (SpamAssassin) is a :class:`BatchCheck`, run once for all the
files, in :data:`BATCH_CHECKS`. docs/checks.md lists them all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from actionmail import load as yaml_source
from actionmail import tally, variants
from actionmail.check import accessibility, content, deliverability, languages, links, online, spam, yesterday
from actionmail.check.draft import Draft
from actionmail.config import Project, find_root, load_project
from actionmail.errors import InvalidInput, Problem, Severity, UsageError, shown
from actionmail.newsletter import Newsletter, load_newsletter, validate_newsletter
from actionmail.officials import DEFAULT_SET
from actionmail.render import Rendered, render, slug_for

__all__ = [
    "BATCH_CHECKS",
    "CHECKS",
    "BatchCheck",
    "Draft",
    "Today",
    "check_edition",
    "check_files",
    "collect",
    "errors",
    "load",
    "make_draft",
]

# Gmail hides everything after about 102 KB of HTML behind "[Message clipped]", the unsubscribe link included.
CLIP_BYTES = 100 * 1024
# From here on, a warning: the day's email usually grows by a late edit or two.
CLIP_WARNING_BYTES = 75 * 1024

slug = slug_for

Check = Callable[[Draft], Iterable[Problem]]


def size(draft: Draft) -> Iterator[Problem]:
    """Gmail clips an email's HTML over about 102 KB, hiding the rest — the unsubscribe link and address included."""
    yield from size_problems(draft.path, draft.rendered)


# Each check is a function of a Draft; they run in this order and their problems are reported together.
CHECKS: list[Check] = [
    size,
    links.links,
    links.lost_links,
    content.placeholders,
    content.weekdays,
    content.dates,
    content.officials,
    content.phones,
    content.scripts,
    content.voting,
    yesterday.figures,
    yesterday.link_names,
    deliverability.subject,
    deliverability.preheader,
    deliverability.postal_address,
    deliverability.unsubscribe,
    deliverability.sender,
    deliverability.logo,
    accessibility.accessibility,
    languages.languages,
    languages.bilingual,
]

T = TypeVar("T")


@dataclass(frozen=True)
class BatchCheck(Generic[T]):
    """A check that runs once over every newsletter of a run, for tools that are slow to start: SpamAssassin
    loads its rules once for all the newsletters (about a second), not once each.

    ``take`` keeps what the check needs of each draft (the drafts themselves are not kept: a directory may hold a
    year of newsletters); ``run`` then finds the problems in all of it, after the checks above.
    """

    take: Callable[[Draft], T | None]
    run: Callable[[Sequence[T]], Iterable[Problem]]


BATCH_CHECKS: list[BatchCheck[Any]] = [BatchCheck(spam.sample, spam.spam)]


def load(path: Path) -> tuple[Project, Newsletter]:
    """The project ``path`` belongs to, and the validated newsletter."""
    project = load_project(path)
    return project, load_newsletter(path, project.officials, project.settings.organization.country)


def collect(paths: Iterable[Path]) -> list[Path]:
    """The newsletter files named, or found (not recursively) in the directories named."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        elif path.exists():
            files.append(path)
        else:
            raise UsageError(f"{path}: no such file or directory")
    return files


# The day a newsletter goes out, as a check judges it: a day, or the day for its project (variants.send_day:
# today in the organization's time zone, as `actionmail check` judges).
Today = dt.date | Callable[[Project], dt.date] | None


def check_files(
    files: Iterable[Path], *, today: Today = None, online_check: bool = False, spam_score: bool = True
) -> list[Problem]:
    """Every problem in these newsletter files, errors and warnings: file by file, in line order.

    ``today``: the day they go out (see :class:`Draft`), or a function of the project that gives it; left out,
    each newsletter is judged as of its own date (the preview's way). ``online_check``:
    also fetch every distinct web address the newsletters link to (:mod:`actionmail.check.online`).
    ``spam_score``: run :data:`BATCH_CHECKS` (SpamAssassin, where installed and not turned off in the settings),
    which take seconds rather than milliseconds.
    """
    checking = _Run(spam_score)
    projects: dict[Path | None, Project] = {}
    urls: list[Draft] = []  # for --online: the drafts (their links), only when asked
    for path in files:
        try:
            root = find_root(path)
            if root not in projects:
                projects[root] = load_project(path)
            project = projects[root]
            data, lines = yaml_source.read_yaml(path)
            region = project.settings.organization.country
            newsletter = validate_newsletter(path, data, lines, project.officials, region)
            day = today(project) if callable(today) else today
            draft = make_draft(path, project, newsletter, today=day, source=(data, lines))
            checking.add(draft)
            if online_check:
                urls.append(draft)
            if variants.translations(path):
                variants.load_edition(path)  # the translations agree with this file on language and date
        except InvalidInput as e:
            _add(checking.problems, e.problems)
    problems = checking.finish()
    if online_check:
        _add(problems, online.reachability(urls))
    return problems


def run(draft: Draft) -> list[Problem]:
    """Every check on one draft."""
    return [problem for check in CHECKS for problem in check(draft)]


def check_edition(
    edition: variants.Edition,
    rendered: Mapping[variants.VariantKey, Rendered],
    *,
    today: dt.date | None = None,
    spam_score: bool = True,
) -> list[Problem]:
    """Every check on an edition about to be sent, as `check` makes them, reusing the variants the send has
    rendered. ``today``, the day it goes out, is by default the day the edition is rendered for
    (:meth:`~actionmail.variants.Edition.going_out_on`)."""
    today = today or edition.sent_on
    checking = _Run(spam_score)
    for language, newsletter in edition.newsletters.items():
        path = edition.paths[language]
        keys = [k for k in edition.covering_keys() if k.language == language]  # each set's districts, then none
        keys = [keys[-1], *sorted(keys[:-1], key=variants.VariantKey.sort_key)]
        versions = [rendered.get(key) or edition.render(key) for key in keys]
        data, lines = yaml_source.read_yaml(path)
        checking.add(Draft(path, edition.project, newsletter, data, lines, versions, today))
    return checking.finish()


class _Run:
    """One run of the checks over several newsletters: each draft's checks as it comes, then the batch checks
    over what they took of every draft."""

    def __init__(self, spam_score: bool) -> None:
        self.problems: list[Problem] = []
        self._batch_checks = BATCH_CHECKS if spam_score else []
        self._taken: list[list[Any]] = [[] for _ in self._batch_checks]

    def add(self, draft: Draft) -> None:
        _add(self.problems, sorted(run(draft), key=lambda p: (p.file, p.line or 0)))
        for batch_check, kept in zip(self._batch_checks, self._taken, strict=True):
            if (item := batch_check.take(draft)) is not None:
                kept.append(item)

    def finish(self) -> list[Problem]:
        for batch_check, kept in zip(self._batch_checks, self._taken, strict=True):
            _add(self.problems, batch_check.run(kept))
        return self.problems


def _add(problems: list[Problem], new: Iterable[Problem]) -> None:
    # Each variant is checked, and most problems are the same in all of them: report each once.
    seen = set(problems)
    for problem in new:
        if problem not in seen:
            problems.append(problem)
            seen.add(problem)


def make_draft(
    path: Path,
    project: Project,
    newsletter: Newsletter,
    *,
    today: dt.date | None = None,
    source: tuple[Any, yaml_source.Lines] | None = None,
) -> Draft:
    """Render ``newsletter``: the district-unknown version, and each district's when the email names one (of
    each district set it uses, the others unknown).

    ``source`` is the file as :func:`actionmail.load.read_yaml` read it, when the caller has it.
    """
    data, lines = source or yaml_source.read_yaml(path)
    used = variants.used_sets(newsletter, project)
    issue = tally.issue_of(path)
    rendered = [render(newsletter, project, slug=slug(path), issue=issue)]
    for name in [s for s in project.officials.sets if s in used]:
        for d in project.officials.districts_of(name):
            district, others = (d, None) if name == DEFAULT_SET else (None, {name: d})
            rendered.append(
                render(newsletter, project, district=district, districts=others, slug=slug(path), issue=issue)
            )
    return Draft(path, project, newsletter, data, lines, rendered, today)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]


def size_problems(path: Path, rendered: Iterable[Rendered]) -> list[Problem]:
    """Every variant whose HTML Gmail would clip (an error), or nearly (a warning)."""
    problems = []
    for version in rendered:
        size = len(version.html.encode())
        if size <= CLIP_WARNING_BYTES:
            continue
        sets = [f"district {version.district}"] if version.district else []
        sets += [f"{name} {d}" for name, d in sorted(version.districts.items()) if d]
        which = f"the {' · '.join(sets)} version" if sets else "the HTML"
        if size > CLIP_BYTES:
            what = f"{which} is {size / 1024:.0f} KB; Gmail clips emails over about 102 KB, hiding the unsubscribe link"
            severity = Severity.ERROR
        else:
            what = f"{which} is {size / 1024:.0f} KB, close to the 102 KB at which Gmail clips an email"
            severity = Severity.WARNING
        problems.append(
            Problem(shown(path), None, "", what, "shorten the background or move detail to a linked page", severity)
        )
    return problems
