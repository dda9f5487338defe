"""Check: load newsletters, validate them, render every variant, and look for what volunteers miss.

`actionmail check` runs this, and `send` refuses while errors remain. A newsletter is first validated against the
model (with its officials); one that validates is rendered in every variant — every district, and readers whose
district is unknown — and handed, as a :class:`Draft`, to each check in :data:`CHECKS`. A check is a plain
function from a draft to the problems it finds, errors or warnings (:class:`~actionmail.errors.Severity`), each
pointing at the file and, where it comes from the YAML, the line and key. A check whose tool is slow to start
(SpamAssassin) is a :class:`BatchCheck`, run once for all the files, in :data:`BATCH_CHECKS`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import lxml.html

from actionmail import load as yaml_source
from actionmail import variants
from actionmail.check import accessibility, spam
from actionmail.config import Project, find_root, load_project
from actionmail.errors import InvalidInput, Problem, Severity, UsageError, shown
from actionmail.newsletter import Newsletter, load_newsletter
from actionmail.render import Rendered, render, slug_for

# Gmail hides everything after about 102 KB of HTML behind "[Message clipped]", the unsubscribe link included.
CLIP_BYTES = 100 * 1024
# From here on, a warning: the day's email usually grows by a late edit or two.
CLIP_WARNING_BYTES = 75 * 1024

slug = slug_for


@dataclass
class Draft:
    """One newsletter as a check sees it: its file, the YAML as written, the model, and every rendered variant."""

    path: Path
    project: Project
    newsletter: Newsletter
    data: Any  # the YAML as parsed, before validation
    lines: yaml_source.Lines  # key path → line, for pointing at where a problem comes from
    rendered: list[Rendered]
    today: dt.date = field(default_factory=dt.date.today)

    @property
    def file(self) -> str:
        return shown(self.path)

    def line(self, loc: yaml_source.Loc) -> int | None:
        return yaml_source.line_for(loc, self.lines)

    def strings(self) -> Iterator[tuple[yaml_source.Loc, str]]:
        """Every string in the YAML with its key path."""
        return yaml_source.strings(self.data)

    def problem(self, loc: yaml_source.Loc, what: str, fix: str, severity: Severity = Severity.ERROR) -> Problem:
        return Problem(self.file, self.line(loc) if loc else None, yaml_source.dotted(loc), what, fix, severity)

    @functools.cached_property
    def documents(self) -> list[lxml.html.HtmlElement]:
        """Each variant's HTML, parsed (in the order of :attr:`rendered`)."""
        return [lxml.html.document_fromstring(version.html) for version in self.rendered]


Check = Callable[[Draft], Iterable[Problem]]


def size(draft: Draft) -> Iterator[Problem]:
    """Gmail clips an email's HTML over about 102 KB, hiding the rest — the unsubscribe link and address included."""
    yield from size_problems(draft.path, draft.rendered)


# Each check is a function of a Draft; they run in this order and their problems are reported together.
CHECKS: list[Check] = [size, accessibility.accessibility]

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


def check_files(files: Iterable[Path], *, today: dt.date | None = None) -> list[Problem]:
    """Every problem in these newsletter files, errors and warnings, in file and line order."""
    problems: list[Problem] = []
    projects: dict[Path | None, Project] = {}
    taken: list[list[Any]] = [[] for _ in BATCH_CHECKS]
    for path in files:
        try:
            root = find_root(path)
            if root not in projects:
                projects[root] = load_project(path)
            project = projects[root]
            newsletter = load_newsletter(path, project.officials, project.settings.organization.country)
            draft = make_draft(path, project, newsletter, today=today)
            problems += [p for check in CHECKS for p in check(draft) if p not in problems]
            for batch_check, kept in zip(BATCH_CHECKS, taken, strict=True):
                if (item := batch_check.take(draft)) is not None:
                    kept.append(item)
            if variants.translations(path):
                variants.load_edition(path)  # the translations agree with this file on language and date
        except InvalidInput as e:
            problems += [p for p in e.problems if p not in problems]
    for batch_check, kept in zip(BATCH_CHECKS, taken, strict=True):
        problems += [p for p in batch_check.run(kept) if p not in problems]
    return problems


def make_draft(path: Path, project: Project, newsletter: Newsletter, *, today: dt.date | None = None) -> Draft:
    data, lines = yaml_source.read_yaml(path)
    rendered = [render(newsletter, project, district=d, slug=slug(path)) for d in [None, *project.officials.districts]]
    return Draft(path, project, newsletter, data, lines, rendered, **({"today": today} if today else {}))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]


def size_problems(path: Path, rendered: Iterable[Rendered]) -> list[Problem]:
    """Every variant whose HTML Gmail would clip (an error), or nearly (a warning)."""
    problems = []
    for version in rendered:
        size = len(version.html.encode())
        if size <= CLIP_WARNING_BYTES:
            continue
        which = f"the district {version.district} version" if version.district else "the HTML"
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
