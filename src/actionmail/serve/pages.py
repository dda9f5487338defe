"""The service's pages, from the one Jinja2 template ``serve/page.html`` in the built-in templates (which an
organization's own ``templates/serve/page.html`` overrides, as its email templates do), in its colours.

The style sheet is rendered once, put in each page, and allowed by its hash in the Content-Security-Policy: the
pages load nothing, from anywhere, and run no script.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
from typing import Any

import jinja2
from markupsafe import Markup

from actionmail.config import Project
from actionmail.render import templates
from actionmail.serve.members import UNDO_DAYS, Seen
from actionmail.serve.paths import mask

REASON_LENGTH = 500  # characters: what the history keeps of a reason (actionmail.audience.history.MAX_DETAIL)


class Pages:
    def __init__(self, project: Project) -> None:
        settings = project.settings
        self._search_path = tuple(p for p in (project.template_dir, templates.builtin_templates()) if p.is_dir())
        self._language = settings.organization.language
        self._environments: dict[str, tuple[jinja2.Environment, str]] = {}
        env = templates.environment(self._search_path, self._language)
        self.css = env.get_template("serve/page.css").render(colors=settings.colors).strip()
        digest = base64.b64encode(hashlib.sha256(self.css.encode()).digest()).decode()
        # No script, nothing fetched; forms post only back here; no other site may frame the page (a framed
        # button could be clicked by a visitor who can't see what it does).
        self.policy = (
            f"default-src 'none'; style-src 'sha256-{digest}'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'"
        )
        reply = settings.email.reply_to or email.utils.parseaddr(settings.email.from_)[1]
        self._common: dict[str, Any] = {
            "org": settings.organization,
            "list_name": settings.organization.name,
            "contact": reply or None,
            "undo_days": UNDO_DAYS,
            "reason_length": REASON_LENGTH,
            # Made from validated hex colours; as it is, since a <style> element's text is not HTML (an escaped
            # quote would change the style, and its hash).
            "css": Markup(self.css),
        }

    def render(
        self,
        page: str,
        title: str,
        seen: Seen | None = None,
        *,
        template: str = "serve/page.html",
        language: str | None = None,
        **context: Any,
    ) -> str:
        """A page, in the member's language (``seen``'s, or ``language``) where the templates' catalogs have it
        (else the organization's, else English); ``title`` is its English msgid. ``template`` is another page
        built on serve/page.html (the sign-up's ``serve/signup.html``, the report links' ``serve/report.html``)."""
        values = {**self._common, "page": page, "title": title, "detail": "", "can_undo": False, "status": "",
                  "masked_email": "", **context}  # fmt: skip
        language = language or self._language
        if seen is not None:
            values.update(masked_email=masked_address(seen.email), can_undo=seen.can_undo, status=str(seen.status))
            language = seen.language or language
        env, lang = self._environment(language)
        return env.get_template(template).render(values, lang=lang)

    def environment(self, language: str) -> tuple[jinja2.Environment, str]:
        """The templates' environment the pages use for ``language``, and the language it really speaks."""
        return self._environment(language)

    def _environment(self, language: str) -> tuple[jinja2.Environment, str]:
        """The templates' environment for ``language``, and what the page's lang says: ``language`` where its
        catalog translates the page (a catalog made only for the emails may not), else English."""
        if language not in self._environments:
            env, lang = templates.environment(self._search_path, language), language
            if language != "en" and env.from_string('{{ _("Unsubscribe") }}').render() == "Unsubscribe":
                env, lang = templates.environment(self._search_path, "en"), "en"
            self._environments[language] = (env, lang)
        return self._environments[language]

    def for_member(self, seen: Seen) -> str:
        """The page for where a member stands now."""
        if seen.state == "subscribed":
            title = "You are subscribed again" if seen.changed else "Unsubscribe"
            return self.render("resubscribed" if seen.changed else "confirm", title, seen)
        if seen.state == "unsubscribed":
            return self.render("unsubscribed", "You are unsubscribed", seen)
        return self.render("stopped", "You are not on our list", seen)


def masked_address(address: str) -> str:
    """Enough of an address for its owner to know it, not enough for anyone forwarded the link to learn it:
    ``ana.perez@example.org`` is ``ana…@example.org``."""
    local, _, domain = address.rpartition("@")
    return f"{mask(local)}@{domain}"
