"""The web edition (`actionmail web build`, and `send` after each send) served from its directory, so that one
`actionmail serve` can host the pages the emails' "View in your browser" links go to, beside the unsubscribe
links: every file of ``[web] output`` at its path, an ``index.html`` for a directory's address, and never the
build's own bookkeeping (its dotfiles: the list of what it published, its lock, files being written)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from actionmail.config import Project


class Site:
    """The site's files, read-only (GET and HEAD); a path with a dot-name in it is not one of them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = StaticFiles(directory=directory, html=True, check_dir=False, follow_symlink=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if any(part.startswith(".") for part in str(scope.get("path", "")).split("/")):
            raise HTTPException(404)
        if not self.directory.is_dir():  # not built yet: every page is "not found", not an error
            raise HTTPException(404)
        await self.files(scope, receive, send)


class _SiteMount(Mount):
    """``/``, less the paths of serve's own routes: a path one of them takes, even with another method (a PUT to an
    unsubscribe link, a GET of a webhook), stays theirs, so the router answers it (405), not the site (404)."""

    def __init__(self, site: Site, own: Sequence[BaseRoute]) -> None:
        super().__init__("/", app=site, name="site")
        self.own = list(own)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if any(route.matches(scope)[0] is not Match.NONE for route in self.own):
            return Match.NONE, {}
        return super().matches(scope)


def mount(project: Project, own: Sequence[BaseRoute]) -> Mount:
    """The route that serves the site, after ``own``, serve's other routes, whose paths it leaves to them."""
    return _SiteMount(Site(project.root / project.settings.web.output), own)
