"""Build the web edition: every newsletter in ``newsletters/`` as a page at its web address, its events as
calendar files, an index newest first, and an Atom feed, in a directory that any static host can serve.

Everything is read, checked and rendered before anything is written: a newsletter that doesn't validate (every
problem of every file is reported), an address that would lead out of the directory or that two newsletters
share, or a template mistake leaves the site as it was. Then the pages are written, then the index and the feed
(which never link to a page not yet there), then what earlier builds wrote and this one no longer has is
removed, and the list of what is published (:mod:`actionmail.web.manifest`) is written last.

Left out: a newsletter with ``web: false`` (for members only), and one dated after today, in the organization's
time zone, which is published on its day (a draft for tomorrow isn't news yet).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import filelock

from actionmail import variants
from actionmail.config import Project
from actionmail.errors import ActionmailError, InvalidInput, Problem, UsageError, shown
from actionmail.newsletter import Newsletter
from actionmail.render import slug_for, view
from actionmail.variants import Edition
from actionmail.web import files, manifest, paths
from actionmail.web.feed import feed
from actionmail.web.manifest import Entry, Manifest
from actionmail.web.pages import Pages, Published

NEWSLETTERS = "newsletters"
LOCK = ".actionmail-web.lock"
LOCK_WAIT = 60  # seconds: writing takes a few; rendering, the long part, is done before the lock is taken
_RENAME = "rename the file: its name after the date is the slug in the address"


@dataclass(frozen=True)
class Built:
    """What a build or a publish wrote, removed and left out."""

    output: Path
    index: Path  # the index's first page
    pages: tuple[Path, ...]  # one for each newsletter it published
    calendars: tuple[Path, ...]
    site: tuple[Path, ...]  # the index's pages and the feed
    changed: tuple[Path, ...]  # of all those, the files whose bytes changed (the others were already so)
    removed: tuple[Path, ...]  # files an earlier build wrote that nothing publishes now
    members_only: tuple[Path, ...] = ()  # newsletter files with web: false
    later: tuple[Path, ...] = ()  # newsletter files dated after today


def build(project: Project, output: Path, *, today: dt.date | None = None) -> Built:
    """Write the whole site into ``output``, from every newsletter of ``project`` dated ``today`` or before
    (default: today in the organization's time zone)."""
    site = paths.site(project)
    day = today or variants.send_day(project)
    editions = _load(project)
    members_only = [e for e in editions if not _newsletter(e).web]
    later = [e for e in editions if _newsletter(e).web and e.date > day]
    pages = Pages(project, site)
    published = _render(project, pages, [e for e in editions if _newsletter(e).web and e.date <= day])
    return _write(
        project,
        pages,
        output,
        published,
        lambda earlier: [p.entry for p in published],
        _earlier(output, damaged_ok=True),
        members_only=tuple(e.path for e in members_only),
        later=tuple(e.path for e in later),
    )


def publish(project: Project, edition: Edition, output: Path) -> Built:
    """Publish one newsletter (after it is sent): write its page and calendars, and the index and the feed
    again, with the newsletters published before (from the list in ``output``, without rendering them).

    A newsletter with ``web: false`` is not published, and its page is removed if it was published before.
    """
    site = paths.site(project)
    earlier = _earlier(output)
    pages = Pages(project, site)
    source = _source(project, edition.path)
    web = _newsletter(edition).web

    def others(listed: Manifest | None) -> list[Entry]:
        return [entry for entry in (listed.newsletters if listed else ()) if entry.source != source]

    published = _render(project, pages, [edition], others(earlier)) if web else []
    return _write(
        project,
        pages,
        output,
        published,
        lambda listed: [*others(listed), *(p.entry for p in published)],
        earlier,
        members_only=() if web else (edition.path,),
    )


def _write(
    project: Project,
    pages: Pages,
    output: Path,
    published: Sequence[Published],
    entries: Callable[[Manifest | None], list[Entry]],
    earlier: Manifest | None,
    *,
    members_only: tuple[Path, ...] = (),
    later: tuple[Path, ...] = (),
) -> Built:
    """Write what was rendered, then the index and the feed of ``entries`` (given what is published), then remove
    what is no longer published; the list of what is, last."""
    site = pages.site
    newest, whole = _whole_site(project, pages, entries(earlier))  # every check before the directory is touched
    with _writing(output):
        listed = _earlier(output, damaged_ok=earlier is None)
        if listed != earlier:  # another build or publish wrote meanwhile
            earlier, (newest, whole) = listed, _whole_site(project, pages, entries(listed))
        changed = []
        for item in published:
            changed += [file for file, data in item.files.items() if files.write(output, file, data)]
        changed += [file for file, data in whole.items() if files.write(output, file, data)]
        now = Manifest(newsletters=tuple(newest), site=tuple(str(file) for file in whole))
        removed = files.remove(output, earlier.files - now.files) if earlier else []
        files.write(output, PurePosixPath(manifest.NAME), now.dump())
    return Built(
        output=output,
        index=output / site.index_file(1),
        pages=tuple(output / next(iter(item.files)) for item in published),
        calendars=tuple(output / file for item in published for file in list(item.files)[1:]),
        site=tuple(output / file for file in whole),
        changed=tuple(output / file for file in changed),
        removed=tuple(removed),
        members_only=members_only,
        later=later,
    )


def _whole_site(
    project: Project, pages: Pages, entries: Iterable[Entry]
) -> tuple[list[Entry], dict[PurePosixPath, bytes]]:
    """The entries newest first, and the index's pages and the feed of them."""
    site = pages.site
    newest = sorted(entries, key=lambda entry: (entry.date, entry.source), reverse=True)
    owned = {PurePosixPath(file): entry.source for entry in newest for file in entry.files}
    index = pages.index(newest)
    _check_places(owned, {file: "the index" for file in index} | {site.feed_file: "the feed"}, project)
    return newest, {**index, site.feed_file: feed(site, project, newest[: project.settings.web.page_size])}


def _earlier(output: Path, *, damaged_ok: bool = False) -> Manifest | None:
    """What is published in ``output``. A build, which writes everything, takes a damaged list for none (what it
    listed is then only not removed); a publish can't do without it."""
    try:
        return manifest.read(output)
    except InvalidInput:
        if damaged_ok:
            return None
        raise


@contextlib.contextmanager
def _writing(output: Path) -> Iterator[None]:
    """One build or publish at a time writes ``output`` (a send's publish during a build): the other waits."""
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ActionmailError(f"can't create {shown(output)}: {e.strerror}: check the path") from None
    lock = filelock.FileLock(output / LOCK)
    try:
        lock.acquire(timeout=LOCK_WAIT)
    except filelock.Timeout:
        raise UsageError(
            f"another build is writing {shown(output)} and has for {LOCK_WAIT} seconds: wait for it to finish"
        ) from None
    except OSError as e:  # a directory the user can read and not write (a web server's), say
        raise ActionmailError(
            f"can't lock {shown(output / LOCK)}: {e.strerror}: check that {shown(output)} can be written to"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _load(project: Project) -> list[Edition]:
    """Every newsletter in the project's newsletters/ (with its translations); every problem of every file."""
    directory = project.root / NEWSLETTERS
    if not directory.is_dir():
        raise UsageError(f"{shown(directory)}: no such directory: run this in the project, where actionmail.toml is")
    found = sorted(
        path
        for path in directory.iterdir()
        if path.suffix in (".yaml", ".yml") and path.is_file() and not re.search(r"\.[a-z]{2}$", path.stem)
    )
    editions: list[Edition] = []
    problems: list[Problem] = []
    for path in found:
        try:
            editions.append(variants.load_edition(path, project))
        except InvalidInput as e:
            problems += e.problems
    if problems:
        raise InvalidInput(problems)
    return editions


def _render(
    project: Project, pages: Pages, editions: Sequence[Edition], others: Sequence[Entry] = ()
) -> list[Published]:
    """Each edition's page and calendars, in memory; every address that can't be a page of its own is a problem
    of its newsletter file."""
    owners = {PurePosixPath(file): entry.source for entry in others for file in entry.files}
    out, problems = [], []
    for edition in editions:
        newsletter = _newsletter(edition)
        url = view.web_version_url(project, newsletter.date, slug_for(edition.path))
        assert url is not None  # paths.site has made sure there is a web_version_url
        source = _source(project, edition.path)
        try:
            item = pages.newsletter(edition, source, url)
        except paths.Unsafe as e:
            problems.append(Problem(shown(edition.path), None, "", f"its web address {url} {e}", _RENAME))
            continue
        taken = [owners[file] for file in item.files if file in owners]
        if taken:
            what = f"its web address {url} is also that of {taken[0]}"
            problems.append(Problem(shown(edition.path), None, "", what, _RENAME))
            continue
        owners.update(dict.fromkeys(item.files, source))
        out.append(item)
    if problems:
        raise InvalidInput(problems)
    return out


def _check_places(owned: Mapping[PurePosixPath, str], site: Mapping[PurePosixPath, str], project: Project) -> None:
    """No newsletter's file is where the index or the feed goes, nor where another's file needs a directory."""
    clashes = [(owned[file], site[file]) for file in owned.keys() & site.keys()]
    everything = {**site, **owned}
    for file, owner in everything.items():
        clashes += [(owner, everything[parent]) for parent in file.parents if parent in everything]
    sources = set(owned.values())
    problems = set()
    for first, second in clashes:
        source, other = (first, second) if first in sources else (second, first)  # the newsletter is to be renamed
        problems.add(Problem(shown(project.root / source), None, "", f"its web address is where {other} goes", _RENAME))
    if problems:
        raise InvalidInput(problems)


def _newsletter(edition: Edition) -> Newsletter:
    return edition.newsletters[edition.default_language]


def _source(project: Project, path: Path) -> str:
    """The newsletter file as the list names it: relative to the project."""
    try:
        return path.resolve().relative_to(project.root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()
