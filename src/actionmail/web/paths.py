"""Where the web edition's files go: from each newsletter's web address (``[email] web_version_url``, filled in
by :func:`actionmail.render.view.web_version_url`, the function that writes the email's link) to a file in the
output directory, at the same path.

The site's URL space is the output directory's: ``https://www.example.org/actions/2019/8/1/ring`` is
``actions/2019/8/1/ring/index.html`` (a static host serves a directory's index.html at the address without
``.html``), its calendars are beside it, and the index and feed are at the part of the address before the first
field (``actions/index.html``, ``actions/feed.xml``), so publishing the directory at the site's root adds the
newsletters' pages and touches nothing of the rest of the site.

A web address is hostile input too (a file name is a slug, and settings are typed by hand): a path is made only
of segments that are plain names, never ``..``, ``.hidden``, an empty one or one with a slash in it, encoded
(``%2e%2e``) or not, and a file is written only where it resolves inside the output directory.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from actionmail import load, syntax
from actionmail.config import SETTINGS_FILE, Project
from actionmail.errors import ActionmailError, InvalidInput, Problem, shown
from actionmail.render import view

FEED = "feed.xml"
INDEX = "index.html"
_PAGE_FILE = (".html", ".htm")
# The scheme and host, then the path up to the first field: the index goes there.
_BASE = re.compile(r"^https?://[^/{}?#]+/")


class Unsafe(ValueError):
    """A web address whose path can't be a file in the output directory; the message says why."""


@dataclass(frozen=True)
class Place:
    """Where one newsletter's page is: its address, the path that links to it on the site, and its file."""

    url: str  # as the email links to it
    link: str  # the page's path on the site (…/slug/ for a directory's index.html: no redirect)
    file: PurePosixPath  # relative to the output directory

    def beside(self, name: str) -> PurePosixPath:
        """The file of ``name`` published with this page (:func:`actionmail.render.view.beside`)."""
        return PurePosixPath(*_segments(urllib.parse.urlsplit(view.beside(self.url, name)).path))


@dataclass(frozen=True)
class Site:
    """The web edition's addresses, from ``[email] web_version_url`` and ``[web]``."""

    url: str  # https://www.example.org/actions/: where the index is
    title: str
    signup_url: str
    language: str

    @property
    def path(self) -> str:
        """The index's path on the host: /actions/."""
        return urllib.parse.urlsplit(self.url).path

    @property
    def folder(self) -> PurePosixPath:
        return PurePosixPath(*_segments(self.path))

    @property
    def feed_url(self) -> str:
        return self.url + FEED

    @property
    def feed_path(self) -> str:
        return self.path + FEED

    @property
    def feed_file(self) -> PurePosixPath:
        return self.folder / FEED

    def index_path(self, number: int) -> str:
        """The path of the index's page ``number`` (1 is the newest)."""
        return self.path if number == 1 else f"{self.path}page/{number}/"

    def index_url(self, number: int) -> str:
        return self.url if number == 1 else f"{self.url}page/{number}/"

    def index_file(self, number: int) -> PurePosixPath:
        return self.folder / INDEX if number == 1 else self.folder / "page" / str(number) / INDEX

    def place(self, page_url: str) -> Place:
        """Where the page at ``page_url`` goes; :class:`Unsafe` when that would be outside the site."""
        parts = urllib.parse.urlsplit(page_url)
        if parts.query or parts.fragment:
            raise Unsafe("has a query or a fragment (after ? or #), which a file on a static host can't have")
        if not page_url.startswith(self.url):
            raise Unsafe(f"is not under {self.url}, where the index is")
        file = file_for(parts.path)
        link = parts.path if file.name != INDEX or parts.path.endswith("/") else parts.path + "/"
        return Place(page_url, link, file)


def site(project: Project) -> Site:
    """The web edition's addresses; :class:`InvalidInput` pointing at actionmail.toml when its settings can't
    make a site (no web_version_url, or one whose pages wouldn't be files of their own under one index)."""
    settings = project.settings
    template = settings.email.web_version_url
    if template is None:
        raise _setting(project, "is not set: the web edition publishes each newsletter at that address",
                       'set it, e.g. web_version_url = "https://www.example.org/actions/{date}/{slug}"')  # fmt: skip
    if "{slug}" not in template:
        raise _setting(project, "has no {slug}: newsletters of one day would have the same address",
                       "put {slug} at the end of its path")  # fmt: skip
    base = _BASE.match(template)
    if base is None:
        raise _setting(project, "has a field before the path: the index of the web edition needs an address of "
                       "its own", "write the host as it is: https://www.example.org/…/{date}/{slug}")  # fmt: skip
    url = template[: template.index("{")].rsplit("/", 1)[0] + "/"
    sample = view.web_version_url(project, dt.date(2019, 8, 1), "slug")
    assert sample is not None
    try:
        _segments(urllib.parse.urlsplit(url).path)
        result = Site(url, settings.web.title or settings.organization.name, signup_url(project),
                      settings.organization.language)  # fmt: skip
        result.place(sample)
    except Unsafe as e:
        raise _setting(project, f"{syntax.shorten(template)} {e}", "write the address of a page of your site") from None
    return result


def signup_url(project: Project) -> str:
    """``[web] signup_url``; else ``[signup] url``, the form `actionmail serve` answers; by default /signup on the
    host of the unsubscribe links."""
    settings = project.settings
    if settings.web.signup_url:
        return settings.web.signup_url
    if settings.signup.enabled and settings.signup.url:
        return settings.signup.url.rstrip("/")
    parts = urllib.parse.urlsplit(settings.email.unsubscribe_url.format(token="token"))
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/signup", "", ""))


def file_for(path: str) -> PurePosixPath:
    """The file, relative to the output directory, that a static host serves at ``path``: a directory's
    index.html unless the path names an .html file."""
    segments = _segments(path)
    if not segments:
        raise Unsafe("is the host's root, not a page of its own")
    if path.endswith("/") or not segments[-1].lower().endswith(_PAGE_FILE):
        return PurePosixPath(*segments, INDEX)
    return PurePosixPath(*segments)


def _segments(path: str) -> tuple[str, ...]:
    """The path's segments as the host's files are named: decoded (%20 is a space), each a plain name."""
    if not path.startswith("/"):
        raise Unsafe("has no path")
    raw = path[1:].removesuffix("/")
    if not raw:
        return ()
    out = []
    for segment in raw.split("/"):
        try:
            out.append(check_name(urllib.parse.unquote(segment, errors="strict"), segment))
        except UnicodeDecodeError:
            raise Unsafe(f"has {segment!r} in its path, which is not UTF-8 text") from None
    return tuple(out)


def check_name(name: str, written: str | None = None) -> str:
    """``name`` if it is a plain file or directory name (``written``: as the address writes it, for the message)."""
    shown = repr(written if written is not None else name)
    if not name:
        raise Unsafe("has an empty segment (//) in its path")
    if name.startswith("."):
        raise Unsafe(f"has {shown} in its path: a name starting with '.' is hidden, or leads out of the site")
    if "/" in name or "\\" in name or not name.isprintable():
        raise Unsafe(f"has {shown} in its path: a slash or a control character in a name")
    return name


def inside(output: Path, file: PurePosixPath) -> Path:
    """``file`` in ``output``, checked once more where it resolves (a symbolic link could lead elsewhere)."""
    target = output / file
    root = output.resolve()
    if not target.resolve().is_relative_to(root):
        raise ActionmailError(f"{shown(target)} leads out of {shown(output)}: remove the link that leads there")
    return target


def _setting(project: Project, what: str, fix: str) -> InvalidInput:
    file = shown(project.settings_file) if project.settings_file else SETTINGS_FILE
    line = load.line_for(("email", "web_version_url"), project.settings_lines)
    return InvalidInput([Problem(file, line, "email.web_version_url", what, fix)])
