"""Render: a validated newsletter in, the email's subject, preheader, HTML and plain text out.

Pure: no network, no environment variables, no clock. The same model and project always give the same
strings, which is what the golden tests hold it to.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import jinja2

from actionmail.config import Project
from actionmail.errors import InvalidInput
from actionmail.merge import DISTRICT_PREFIX, Merge, fill_variant
from actionmail.newsletter import Newsletter
from actionmail.render import templates, view
from actionmail.render.html import compile_mjml

# Values that differ per reader stay in the output as merge fields (see actionmail.merge); Rendered.personalize
# fills them. Everything else is rendered once per variant.
UNSUBSCRIBE_URL = "{unsubscribe_url}"
# Languages written right to left: the email's dir. The others are left to right.
RTL_LANGUAGES = templates.RTL_LANGUAGES


@dataclass(frozen=True)
class Web:
    """Rendering for the web edition (actionmail.web) instead of the inbox. The templates show a Sign up link
    where the email has its unsubscribe link and "View this email in your browser" (``web`` in their context is
    this; None in an email), and link the page's own files by their path on the site."""

    signup_url: str


@dataclass(frozen=True)
class Personalized:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Rendered:
    """One variant of a newsletter, with the per-reader merge fields still in it."""

    subject: str
    preheader: str
    language: str
    district: str | None
    mjml: str
    html: str
    text: str
    districts: Mapping[str, str | None] = field(default_factory=dict, compare=False)  # other sets: {"congress": "9"}
    _merges: tuple[Merge, Merge, Merge] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        merges = (
            Merge.parse(self.subject, escape=False),
            Merge.parse(self.html, escape=True),
            Merge.parse(self.text, escape=False),
        )
        object.__setattr__(self, "_merges", merges)

    @property
    def merges(self) -> tuple[Merge, Merge, Merge]:
        """Subject, HTML and text, split at their per-reader fields: what providers send from."""
        return self._merges

    @property
    def merge_fields(self) -> frozenset[str]:
        """The per-reader fields this variant uses, e.g. {"first_name", "unsubscribe_url"}."""
        return frozenset().union(*(m.names for m in self._merges))

    def personalize(self, values: Mapping[str, str | None]) -> Personalized:
        """The email for one reader: ``values`` such as ``{"first_name": "Ana", "unsubscribe_url": "https://…"}``.

        Cheap by design (joins precomputed pieces), since it runs once per recipient.
        """
        subject, html, text = (m.fill(values) for m in self._merges)
        return Personalized(subject, html, text)


def render(
    newsletter: Newsletter,
    project: Project,
    *,
    district: str | None = None,
    districts: Mapping[str, str | None] | None = None,
    slug: str = "",
    today: dt.date | None = None,
    web: Web | None = None,
    issue: str | None = None,
) -> Rendered:
    """Render ``newsletter`` for readers in ``district`` (None: readers whose district is unknown), and in
    ``districts`` of the other district sets ({"congress": "7"}; a set left out or None: unknown).

    ``issue`` names it in the links that count members' reports (:mod:`actionmail.tally`): the file's name
    without .yaml, as the send ledger and `actionmail serve` know it; left out, its date and ``slug``.

    ``today`` is the day the email goes out, when that isn't the newsletter's date (a send on a later day): its
    countdowns ("in 5 days") are counted from it, and a day already past then gets none. Left out, everything
    is as of the newsletter's date, as `render` and the preview show it. ``web``: the page of the web edition,
    with nothing of any reader's in it, instead of the email.
    """
    language = newsletter.language or project.settings.organization.language
    search_path = (project.template_dir, templates.builtin_templates())
    env = templates.environment(tuple(p for p in search_path if p.is_dir()), language, newsletter.bilingual)
    sent_on = today or newsletter.date
    context = {
        "n": newsletter,
        "v": view.build(
            newsletter,
            project,
            district,
            slug,
            issue or f"{newsletter.date}-{slug}".rstrip("-"),
            web=web is not None,
            districts=districts,
        ),
        "org": project.settings.organization,
        "email": project.settings.email,
        "colors": project.settings.colors,
        "social": project.settings.social,
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "web": web,
        "direction": templates.direction(language),
        "preheader_padding": "&#847;&zwnj;&nbsp;" * 60,
        "sent_on": sent_on,
    }
    if sent_on != newsletter.date:
        # Templates write countdown(n.date, day), an organization's own copies too: counting from the send day
        # here makes each of them right on the day the email is read.
        context["countdown"] = functools.partial(cast(Callable[..., str], env.globals["countdown"]), today=sent_on)
    try:
        mjml = env.get_template("email.mjml").render(context)
        text = _tidy(env.get_template("email.txt").render(context))
    except jinja2.TemplateError as e:
        raise template_problem(e, search_path) from None
    variant = {"district": district, **{f"{DISTRICT_PREFIX}{k}": v for k, v in (districts or {}).items()}}
    return Rendered(
        subject=fill_variant(newsletter.subject, variant, escape=False),
        preheader=fill_variant(newsletter.preheader, variant, escape=False),
        language=language,
        district=district,
        mjml=mjml,
        html=fill_variant(compile_mjml(mjml), variant, escape=True),
        text=fill_variant(text, variant, escape=False),
        districts=dict(districts or {}),
    )


def template_problem(error: jinja2.TemplateError, search_path: tuple[Path, ...]) -> InvalidInput:
    """A mistake in a template (most likely an organization's own copy) as a problem line, not a traceback."""
    line: int | None
    if isinstance(error, jinja2.TemplateSyntaxError):
        file, line = error.filename or error.name or "template", error.lineno
    else:  # raised while rendering: the innermost frame that belongs to a template file says where
        roots = tuple(str(p) for p in search_path)
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(roots)]
        file, line = (frames[-1].filename, frames[-1].lineno) if frames else ("template", None)
    return InvalidInput.one(file, f"template error: {error.message}", "correct the template", line=line)


def sample_values(project: Project) -> dict[str, str]:
    """Stand-ins for the per-reader merge tags, for a rendered file someone opens by hand."""
    email = project.settings.email
    return {
        "unsubscribe_url": email.unsubscribe_url.format(token="preview"),
        "report_url": email.report_url_template.format(token="preview"),
    }


def _tidy(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def slug_for(path: Path) -> str:
    """The web-version slug of a newsletter file: its name without the leading date."""
    return re.sub(r"^\d{4}-\d{2}-\d{2}-?", "", path.stem) or path.stem
