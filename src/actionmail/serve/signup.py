"""The sign-up form on ``actionmail serve``, confirmed by email (double opt-in); mounted by
:func:`actionmail.serve.app.create_app` unless ``[signup] enabled = false``.

Routes, under the path of ``[signup] url`` (:class:`~actionmail.serve.paths.SignupPath`; default ``/signup``):

- ``GET /signup``: the form (email, first name, ZIP code, district from officials.yaml or "I don't know",
  language), in the visitor's language where the templates have it (``?lang=es``, else ``Accept-Language``).
- ``POST /signup``: a field with a problem gets the form again (400), each problem at its field. Any other post
  gets "Check your inbox" — whatever becomes of it: a new address, a member, one that bounced, one over its limit,
  or a bot's. What happens next happens after the answer has gone (a background task: the database, then the
  provider), and the connection is closed with it, so not even the time the answer takes (nor the next request's
  on the same connection) tells one from another.
- ``GET /signup/confirm/{token}``: the link in the confirmation email. A page with a Confirm button that changes
  nothing (mail scanners fetch every link); an expired link, a forged or altered one: a 400 page saying so.
- ``POST /signup/confirm/{token}`` with ``action=confirm``: the click. The address is an active member with source
  ``signup`` (or an unsubscribed one is resubscribed, history ``signup``), and the time is its consent's
  (:meth:`Signups.confirm`). Nothing makes anyone a member but this.
- ``GET /signup/snippet``: the form to paste into the organization's own website.

Bots, without a third-party captcha: a field hidden from people that bots fill in (:data:`form.HONEYPOT`); the
time the form was served, signed, in a hidden field, and a post quicker than ``[signup] min_seconds`` after it; the
limits per address and per client network (:mod:`actionmail.audience.signups`). The organization's own copy of the
form is static HTML, with no time in it: a post without one is taken only from the organization's websites
(``Origin``, or ``Referer``), which a browser sends and a crude bot doesn't. A bot's post gets the very answer a
person's gets, and nothing is sent: it learns nothing from trying.

Cross-site posts. ``POST /signup`` is accepted from other origins by design (the snippet posts from the
organization's website). Another site can make a visitor's browser do no more than anyone can do with a form: have
one confirmation email sent, within the limits, to an address — and the email is the protection, since nothing
changes until its link is followed and Confirm pressed. That press (``POST …/confirm/…``) is refused from any page
but the confirmation page itself, as the unsubscribe page's forms are; the link's token is the capability.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import urllib.parse
from typing import Any

import anyio.to_thread
from babel import Locale
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from actionmail import tokens
from actionmail.audience.signups import Confirmed, Form, Limits, Outcome, Pending, Signups
from actionmail.config import Project
from actionmail.errors import ActionmailError, InvalidInput
from actionmail.serve import form
from actionmail.serve.app import Blocking, Service, _form, _from_the_page, _headers, _outcome
from actionmail.serve.mailer import Mailer
from actionmail.serve.pages import Pages, masked_address
from actionmail.serve.paths import SignupPath

logger = logging.getLogger("actionmail.serve")
TEMPLATE = "serve/signup.html"


def routes(svc: Service, blocking: Blocking) -> list[Route]:
    """The sign-up's routes, or none when ``[signup] enabled = false``."""
    if not svc.project.settings.signup.enabled:
        return []
    return SignupService(svc, blocking).routes()


def check(svc: Service) -> SignupPath | None:
    """What ``actionmail serve`` checks before it starts: where the form is, and the provider its emails go
    through (its settings; its secrets are read when it first sends). None when sign-ups are off."""
    if not svc.project.settings.signup.enabled:
        return None
    path = SignupPath.parse(svc.project.settings.signup.url, svc.path)
    from actionmail import providers

    why = " (serve sends the sign-up's confirmation emails through it; [signup] enabled = false turns the sign-up off)"
    try:
        providers.build(svc.project).close()
    except InvalidInput as e:
        raise InvalidInput(dataclasses.replace(problem, fix=problem.fix + why) for problem in e.problems) from None
    return path


def limits(project: Project) -> Limits:
    settings = project.settings.signup
    return Limits(
        every=dt.timedelta(minutes=settings.address_minutes),
        per_day=settings.address_per_day,
        per_client=settings.client_per_hour,
        valid_for=dt.timedelta(hours=settings.link_hours),
    )


class SignupService:
    """The sign-up's handlers, over the service's pages and store pool, and a mailer of their own."""

    def __init__(self, svc: Service, blocking: Blocking) -> None:
        self.svc = svc
        self.blocking = blocking
        project = svc.project
        self.settings = project.settings.signup
        self.path = SignupPath.parse(self.settings.url, svc.path)
        self.signer = form.Signer(tokens.secret_key(), project.settings.email.list_id)
        self.limits = limits(project)
        self.mailer = Mailer(project, svc.pages)
        offered = _offered(project, svc.pages)
        # The language of pages and posts that name none (a form of one language has no choice to make): the
        # organization's where the form offers it, else the first it offers.
        organization = str(project.settings.organization.language)
        self.default_language = organization if organization in offered else offered[0]
        languages = [(code, _language_name(code)) for code in offered]
        self.choices = form.Choices(_districts(project), languages, project.settings.organization.country,
                                    self.default_language)  # fmt: skip
        # Where a visitor who doesn't know their district finds it: the per-district group's own link.
        self.lookup = next((g.lookup for g in project.officials.groups if g.per_district and g.lookup), None)
        sites = [project.settings.organization.website, *self.settings.origins]
        self.websites = {origin for url in sites if url and (origin := _origin(url))}

    def routes(self) -> list[Route]:
        prefix = self.path.prefix
        return [
            Route(prefix, self.signup, methods=["GET", "POST"]),
            Route(f"{prefix}/confirm/{{token}}", self.confirm, methods=["GET", "POST"]),
            Route(f"{prefix}/snippet", self.snippet, methods=["GET"]),
        ]

    # The form

    async def signup(self, request: Request) -> Response:
        if request.method != "POST":
            _outcome(request, "signup: form")
            return self._form_page(self._language(request), {}, {})
        posted = await _form(request)
        language = self._language(request, posted.get("language"))
        filled = form.read(posted, self.choices)
        if filled.form is None:
            _outcome(request, f"signup: to fix ({', '.join(filled.errors)})")
            return self._form_page(language, filled.values, filled.errors, 400)
        bot = self._bot(request, posted)
        task = None
        if bot is not None:
            _outcome(request, f"signup: not sent ({bot})")
        else:
            client = self.signer.client(request.client.host if request.client else None)
            task = BackgroundTask(self._request, request, filled.form, client)
        html = self._render("sent", "Check your inbox", language, address=filled.form.email)
        # Closed once answered: a next request on the same connection would wait for the work after the answer,
        # and its wait would tell what that work was (an email sent, or none).
        return HTMLResponse(html, 200, {**_headers(self.svc), "Connection": "close"}, background=task)

    def _bot(self, request: Request, posted: dict[str, str]) -> str | None:
        """Why this post looks like a bot's, or None."""
        if posted.get(form.HONEYPOT, "").strip():
            return "the hidden field was filled in"
        started = posted.get(form.STARTED)
        if not started:
            sender = _sender(request)
            return None if sender in self.websites else f"no form time, from {sender or 'no origin'}"
        waited = self.signer.waited(started)
        if waited is None:
            return "a form time that is not ours"
        if waited < self.settings.min_seconds:
            return f"sent {max(waited, 0):.1f} s after the form"
        return None

    async def _request(self, request: Request, signup: Form, client: str) -> None:
        """After the answer: record the sign-up and, if it is to have one, send its confirmation email."""
        try:
            outcome, pending = await self.blocking(self._record, signup, client)
            if pending is not None:
                url = self.path.confirm_url(self.signer.link_token(pending))
                try:
                    await anyio.to_thread.run_sync(
                        self.mailer.confirmation, f"signup-{pending.id}", signup.email, url, pending.language,
                        self.settings.link_hours,
                    )  # fmt: skip
                except Exception as e:  # a ProviderError, or anything else: the person may simply try again
                    if isinstance(e, ActionmailError):
                        logger.error("signup %d: the confirmation email was not sent: %s", pending.id, _masked(e))
                    else:
                        logger.exception("signup %d: the confirmation email was not sent", pending.id)
                    await self.blocking(self._failed, pending)
                    outcome = Outcome.FAILED
            _outcome(request, f"signup: {outcome}" + (f" ({pending.id})" if pending else ""))
        except Exception:
            logger.exception("signup: error")
            _outcome(request, "signup: error")

    def _record(self, signup: Form, client: str) -> tuple[Outcome, Pending | None]:
        with self.svc.members.store() as store:
            return Signups(store, self.limits).request(signup, client)

    def _failed(self, pending: Pending) -> None:
        with self.svc.members.store() as store:
            Signups(store, self.limits).failed(pending)

    # The confirmation link

    async def confirm(self, request: Request) -> Response:
        token = request.path_params.get("token")
        pending = await self.blocking(self._find, token)
        if pending is None:
            _outcome(request, "signup: invalid link")
            return self._page(400, "invalid", "This link is not valid", None)
        if pending.confirmed_at is not None:
            _outcome(request, "signup: link used before")
            return self._page(200, "used", "You are subscribed", pending.language)
        if pending.expired(self.limits):
            _outcome(request, "signup: expired link")
            return self._page(400, "expired", "This link has expired", pending.language)
        if request.method != "POST":
            _outcome(request, "signup: confirm page")
            return self._page(200, "confirm", "Confirm your subscription", pending.language, pending)
        posted = await _form(request)
        if posted.get("action") != "confirm":
            _outcome(request, "signup: form not understood")
            detail = "This request did not say what to do."
            return self._page(400, "bad_request", "Nothing was changed", pending.language, detail=detail)
        if not _from_the_page(request, self.path.origin):
            _outcome(request, "signup: refused: form from another site")
            return self._page(403, "refused", "Nothing was changed", pending.language)
        confirmed = await self.blocking(self._confirm, pending)
        _outcome(request, f"signup: {confirmed} ({pending.id})")
        if confirmed is Confirmed.EXPIRED:
            return self._page(400, "expired", "This link has expired", pending.language)
        if confirmed is Confirmed.ALREADY:
            return self._page(200, "used", "You are subscribed", pending.language)
        if confirmed is Confirmed.STOPPED:
            return self._page(200, "stopped", "Nothing was changed", pending.language, pending)
        welcome = self.settings.welcome and confirmed in (Confirmed.JOINED, Confirmed.RESUBSCRIBED)
        task = BackgroundTask(self._welcome, pending) if welcome else None
        response = self._page(200, "confirmed", "You are subscribed", pending.language, pending, welcome=welcome)
        response.background = task
        return response

    def _find(self, token: str | None) -> Pending | None:
        """The sign-up a genuine link token names; None for any other text."""
        signup_id = self.signer.link_id(token)
        if token is None or signup_id is None:
            return None
        with self.svc.members.store() as store:
            pending = Signups(store, self.limits).find(signup_id)
        return pending if pending is not None and self.signer.link_names(token, pending) else None

    def _confirm(self, pending: Pending) -> Confirmed:
        with self.svc.members.store() as store:
            return Signups(store, self.limits).confirm(pending.id)

    async def _welcome(self, pending: Pending) -> None:
        from actionmail.serve import welcome

        try:
            sent = await anyio.to_thread.run_sync(welcome.send, self.mailer, pending, self.signer.key)
            logger.info("signup %d: welcome: %s", pending.id, sent)
        except Exception:
            logger.exception("signup %d: the welcome email was not sent", pending.id)

    # The snippet

    async def snippet(self, request: Request) -> Response:
        language = self._language(request)
        env, lang = self.svc.pages.environment(language)
        code = env.get_template("serve/snippet.html").render(
            self._choices(lang), signup_url=self.path.url, lang=lang, country=self.choices.country
        )
        _outcome(request, "signup: snippet")
        return HTMLResponse(self._render("snippet", "A sign-up form for your website", language, snippet=code),
                            200, _headers(self.svc))  # fmt: skip

    # Pages

    def _form_page(self, language: str, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Response:
        values = {name: values.get(name, "") for name in form.FIELDS}
        values["language"] = values["language"] or language
        html = self._render("form", "Sign up", language, values=values, errors=errors, started=self.signer.started())
        return HTMLResponse(html, status, _headers(self.svc))

    def _page(
        self, status: int, page: str, title: str, language: str | None, pending: Pending | None = None, **context: Any
    ) -> HTMLResponse:
        if pending is not None and pending.email is not None:
            context["masked_email"] = masked_address(pending.email)
        return HTMLResponse(self._render(page, title, language, **context), status, _headers(self.svc))

    def _render(self, page: str, title: str, language: str | None, **context: Any) -> str:
        language = language or self.default_language
        _, lang = self.svc.pages.environment(language)
        context.setdefault("errors", {})
        return self.svc.pages.render(
            page, title, template=TEMPLATE, language=language, signup_url=self.path.prefix,
            link_hours=self.settings.link_hours, country=self.choices.country, **self._choices(lang), **context,
        )  # fmt: skip

    def _choices(self, lang: str) -> dict[str, Any]:
        languages = list(self.choices.languages)
        return {
            "districts": self.choices.districts,
            "district_lookup": self.lookup,
            "languages": languages,
            "other_languages": [(code, name) for code, name in languages if code != lang],
        }

    def _language(self, request: Request, chosen: str | None = None) -> str:
        """The page's language: the one chosen in the form, else ``?lang=``, else the browser's first that is
        offered, else :attr:`default_language`."""
        offered = [code for code, _ in self.choices.languages]
        for candidate in (chosen, request.query_params.get("lang"), *_accepted(request)):
            if candidate in offered:
                return candidate
        return self.default_language


def _offered(project: Project, pages: Pages) -> list[str]:
    """The languages the form offers: ``[signup] languages``, else the organization's and every other one the
    pages speak."""
    organization = str(project.settings.organization.language)
    wanted: list[str] = [*project.settings.signup.languages] or [organization, "en", "es"]
    spoken = [code for code in dict.fromkeys(wanted) if pages.environment(code)[1] == code]
    return spoken or ["en"]


def _districts(project: Project) -> list[tuple[str, str]]:
    """Each district of officials.yaml, with the name of whoever represents it in the first per-district group."""
    officials = project.officials
    names: dict[str, str] = {}
    for group in officials.groups:
        if group.per_district:
            for member_id in group.members:
                official = officials.official(member_id)
                if official.district is not None:
                    names.setdefault(official.district, official.name)
    return [(district, names.get(district, "")) for district in officials.districts if district]


def _language_name(code: str) -> str:
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def _accepted(request: Request) -> list[str]:
    """The languages of ``Accept-Language``, most wanted first, as bare codes ('es-MX' is 'es')."""
    weighted = []
    for index, part in enumerate(request.headers.get("accept-language", "").split(",")[:20]):
        tag, _, rest = part.strip().partition(";")
        quality = 1.0
        if rest.strip().startswith("q="):
            try:
                quality = float(rest.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag.split("-")[0].lower()))
    return [code for _, _, code in sorted(weighted)]


_ADDRESS = re.compile(r"[^\s'\"<>:,;]+@([^\s'\"<>:,;]+)")


def _masked(error: Exception) -> str:
    """A provider's error for the log, with any address in it cut short (a provider may quote the recipient)."""
    return _ADDRESS.sub(lambda found: f"…@{found[1]}", str(error))


def _sender(request: Request) -> str | None:
    """The origin a browser says a post comes from: ``Origin``, else ``Referer``'s (lowercased), else None."""
    origin = request.headers.get("origin", "").strip().lower()
    if origin and origin != "null":
        return origin
    referer = request.headers.get("referer")
    return _origin(referer) if referer else None


def _origin(url: str) -> str | None:
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:  # "http://[::1": not a URL, so no origin
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()
