"""Check: load newsletters, validate them, and render every variant, collecting every problem on the way.

`actionmail check` and, later, `send` run this before anything goes out. A newsletter passes when it validates
against the model (with its officials), and each variant — every district, and readers whose district is
unknown — renders to HTML under Gmail's clipping size.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from actionmail import variants
from actionmail.config import Project, find_root, load_project
from actionmail.errors import InvalidInput, Problem, UsageError, shown
from actionmail.newsletter import Newsletter, load_newsletter
from actionmail.render import Rendered, render, slug_for

# Gmail hides everything after about 102 KB of HTML behind "[Message clipped]", the unsubscribe link included.
CLIP_BYTES = 100 * 1024

slug = slug_for


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


def check_files(files: Iterable[Path]) -> list[Problem]:
    problems: list[Problem] = []
    projects: dict[Path | None, Project] = {}
    for path in files:
        try:
            root = find_root(path)
            if root not in projects:
                projects[root] = load_project(path)
            project = projects[root]
            newsletter = load_newsletter(path, project.officials, project.settings.organization.country)
            problems += check_rendered(path, project, newsletter)
            if variants.translations(path):
                variants.load_edition(path)  # the translations agree with this file on language and date
        except InvalidInput as e:
            problems += [p for p in e.problems if p not in problems]
    return problems


def check_rendered(path: Path, project: Project, newsletter: Newsletter) -> list[Problem]:
    rendered = [render(newsletter, project, district=d, slug=slug(path)) for d in [None, *project.officials.districts]]
    return size_problems(path, rendered)


def size_problems(path: Path, rendered: Iterable[Rendered]) -> list[Problem]:
    """Every variant whose HTML Gmail would clip."""
    problems = []
    for version in rendered:
        size = len(version.html.encode())
        if size > CLIP_BYTES:
            which = f"the district {version.district} version" if version.district else "the HTML"
            problems.append(
                Problem(
                    shown(path),
                    None,
                    "",
                    f"{which} is {size / 1024:.0f} KB; Gmail clips emails over about 102 KB, "
                    "hiding the unsubscribe link",
                    "shorten the background or move detail to a linked page",
                )
            )
    return problems
