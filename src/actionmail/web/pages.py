"""The web edition's pages and files, made in memory: each newsletter's page and calendars, and the index.

A newsletter's page is the email itself, rendered by :func:`actionmail.render.render` from the same templates
for readers whose district is unknown, with ``web`` set (a Sign up link where the email has the reader's
unsubscribe link) and every per-reader merge field given what a reader without that value gets: its fallback.
``web/page.html`` then gives it a <head> for the web (description, canonical address, feed, Open Graph and
Twitter card tags) and the site's bar. Nothing is written here: a build renders everything before it writes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from markupsafe import Markup

from actionmail import merge
from actionmail.config import Project
from actionmail.errors import InvalidInput
from actionmail.merge import Merge
from actionmail.newsletter import Event
from actionmail.render import Web, render, slug_for, template_problem, templates, view
from actionmail.variants import Edition
from actionmail.web import calendar
from actionmail.web.manifest import Entry
from actionmail.web.paths import Site

# The document mjml writes: the doctype, <html …>, <head>…</head> and <body …>…</body>.
_DOCUMENT = re.compile(
    r"\s*(?:<!doctype[^>]*>)?\s*<html(?P<html>[^>]*)>\s*<head>(?P<head>.*?)</head>\s*"
    r"<body(?P<body_attributes>[^>]*)>(?P<body>.*)</body>\s*</html>\s*",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class Published:
    """One newsletter on the site: its index entry and its files (the page first, then its calendars)."""

    entry: Entry
    files: dict[PurePosixPath, bytes]


def neutral(text: str) -> str:
    """A newsletter's text as a reader the site knows nothing of reads it: each merge field's fallback."""
    return Merge.parse(merge.fill_variant(text, {}, escape=False), escape=False).fill({})


class Pages:
    def __init__(self, project: Project, site: Site) -> None:
        self.project, self.site = project, site
        self._search_path = tuple(p for p in (project.template_dir, templates.builtin_templates()) if p.is_dir())
        self._common: dict[str, Any] = {"site": site, "org": project.settings.organization}
        css = self._render(site.language, "web/site.css", colors=project.settings.colors)
        # Made from validated hex colours; as it is, since a <style> element's text is not HTML.
        self._common["css"] = Markup(css.strip())

    def newsletter(self, edition: Edition, source: str, url: str) -> Published:
        """The page and calendars of ``edition``'s newsletter (its own language: translations stay in email),
        whose web address is ``url``."""
        project, site = self.project, self.site
        newsletter = edition.newsletters[edition.default_language]
        place = site.place(url)
        slug = slug_for(edition.path)
        rendered = render(newsletter, project, slug=slug, web=Web(site.signup_url))
        if "unsubscribe_url" in rendered.merge_fields:
            raise InvalidInput.one(
                self._template_file("email.mjml"),
                "the web edition's page would have the unsubscribe link of a reader in it",
                "put the unsubscribe link inside {% if not web %} … {% endif %}, as the built-in email.mjml does",
            )
        personalized = rendered.personalize({})  # every merge field its fallback: the email for nobody in particular
        email = _DOCUMENT.fullmatch(personalized.html)
        if email is None:
            raise InvalidInput.one(
                self._template_file("email.mjml"),
                "its HTML has no <head> and <body> to put on the web",
                "keep <mjml>, <mj-head> and <mj-body> in it",
            )
        headline, description = neutral(newsletter.headline), neutral(newsletter.preheader)
        page = self._render(
            rendered.language,
            "web/page.html",
            n=newsletter,
            headline=headline,
            description=description,
            url=url,
            published=newsletter.date.isoformat(),
            html_attributes=Markup(email["html"]),
            email_head=Markup(email["head"].strip()),
            body_attributes=Markup(email["body_attributes"]),
            email_body=Markup(email["body"]),
            locale=self._locale(rendered.language),
        )
        files = {place.file: page.encode()}
        for event, name in view.event_files(newsletter):
            text = neutral(self._event_text(rendered.language, event))
            files[place.beside(name)] = calendar.calendar(
                event, newsletter, project, url, name, neutral(event.title), text
            )
        entry = Entry(
            source=source,
            date=newsletter.date,
            subject=personalized.subject,
            headline=headline,
            preheader=description,
            language=rendered.language,
            url=url,
            link=place.link,
            files=tuple(str(file) for file in files),
        )
        return Published(entry, files)

    def index(self, entries: Sequence[Entry]) -> dict[PurePosixPath, bytes]:
        """The index's pages: ``entries`` (newest first), ``[web] page_size`` to a page; one page when empty."""
        size = self.project.settings.web.page_size
        chunks = [entries[start : start + size] for start in range(0, len(entries), size)] or [[]]
        site, language = self.site, self.site.language
        pages = {}
        for number, chunk in enumerate(chunks, start=1):
            html = self._render(
                language,
                "web/index.html",
                entries=chunk,
                number=number,
                count=len(chunks),
                newer=site.index_path(number - 1) if number > 1 else None,
                older=site.index_path(number + 1) if number < len(chunks) else None,
                url=site.index_url(number),
                locale=self._locale(language),
            )
            pages[site.index_file(number)] = html.encode()
        return pages

    def _event_text(self, language: str, event: Event) -> str:
        """The event's description for its calendar file (web/event.txt)."""
        text = self._render(language, "web/event.txt", e=event)
        return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.strip().splitlines()))

    def _render(self, language: str, name: str, **context: Any) -> str:
        env = templates.environment(self._search_path, language)
        try:
            return env.get_template(name).render(self._common, language=language, **context)
        except jinja2.TemplateError as e:
            raise template_problem(e, self._search_path) from None

    def _template_file(self, name: str) -> Path:
        return next((p / name for p in self._search_path if (p / name).is_file()), Path(name))

    def _locale(self, language: str) -> str:
        """Open Graph's locale: en_US."""
        return f"{language}_{self.project.settings.organization.country}"
