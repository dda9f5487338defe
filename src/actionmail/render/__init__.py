"""Render: a validated newsletter in, the email's subject, preheader, HTML and plain text out.

Pure: no network, no environment variables, no clock. The same model and project always give the same
strings, which is what the golden tests hold it to.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import jinja2

from actionmail.config import Project
from actionmail.errors import InvalidInput
from actionmail.newsletter import Newsletter
from actionmail.render import templates, view
from actionmail.render.html import compile_mjml

# Values that differ per recipient are left in the output as merge tags; the send step fills them in
# (see MERGE_TAGS). Everything else is rendered once per variant.
UNSUBSCRIBE_URL = "[[unsubscribe_url]]"
MERGE_TAGS = (UNSUBSCRIBE_URL,)


@dataclass(frozen=True)
class Rendered:
    subject: str
    preheader: str
    language: str
    mjml: str
    html: str
    text: str

    def personalize(self, values: dict[str, str]) -> tuple[str, str]:
        """HTML and text with the merge tags replaced, e.g. ``{"unsubscribe_url": "https://…"}``."""
        html, text = self.html, self.text
        for name, value in values.items():
            html = html.replace(f"[[{name}]]", value)
            text = text.replace(f"[[{name}]]", value)
        return html, text


def render(newsletter: Newsletter, project: Project, *, district: str | None = None, slug: str = "") -> Rendered:
    """Render ``newsletter`` for readers in ``district`` (None: readers whose district is unknown)."""
    language = newsletter.language or project.settings.organization.language
    search_path = (project.template_dir, templates.builtin_templates())
    env = templates.environment(tuple(p for p in search_path if p.is_dir()), language)
    context = {
        "n": newsletter,
        "v": view.build(newsletter, project, district, slug),
        "org": project.settings.organization,
        "email": project.settings.email,
        "colors": project.settings.colors,
        "social": project.settings.social,
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "direction": "rtl" if language in ("ar", "he", "fa", "ur") else "ltr",
        "preheader_padding": "&#847;&zwnj;&nbsp;" * 60,
    }
    try:
        mjml = env.get_template("email.mjml").render(context)
        text = _tidy(env.get_template("email.txt").render(context))
    except jinja2.TemplateError as e:
        raise _template_problem(e, search_path) from None
    return Rendered(newsletter.subject, newsletter.preheader, language, mjml, compile_mjml(mjml), text)


def _template_problem(error: jinja2.TemplateError, search_path: tuple[Path, ...]) -> InvalidInput:
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
    return {"unsubscribe_url": project.settings.email.unsubscribe_url.format(token="preview")}


def _tidy(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def slug_for(path: Path) -> str:
    """The web-version slug of a newsletter file: its name without the leading date."""
    return re.sub(r"^\d{4}-\d{2}-\d{2}-?", "", path.stem) or path.stem
