"""The ASGI application (Starlette): one-click unsubscribe, the unsubscribe page, and ``/healthz``.

Routes, under the path of ``[email] unsubscribe_url`` (:mod:`actionmail.serve.paths`):

- ``POST …/{token}`` with the form field ``List-Unsubscribe=One-Click`` (RFC 8058; URL-encoded or multipart):
  unsubscribes at once, 200 and a one-line body, never a redirect. Again: 200, nothing changes.
- ``POST /webhooks/{provider}`` (mailgun, sendgrid, postmark, ses, resend, brevo): a provider's events, verified
  as that provider signs them (:mod:`actionmail.feedback`) before a byte is read as an event, then applied to the
  subscriber database once each (:mod:`actionmail.feedback.journal`). A request that fails verification is
  answered 401/400 (503 while the provider's ``ACTIONMAIL_<PROVIDER>_WEBHOOK_*`` settings are missing, so it
  retries) and changes nothing. SES's subscription confirmation is confirmed by fetching its (checked) URL.
- ``GET …/{token}``: a page that changes nothing (link scanners and "safe links" proxies fetch every URL in an
  email), with an "Unsubscribe" button whose form POSTs ``action=unsubscribe`` (and an optional reason); then
  "You are unsubscribed", with an "Undo" button (``action=undo``) for :data:`~members.UNDO_DAYS` days.
- A token that is forged, altered, foreign, a deleted member's, or no token at all: a 400 page saying the link is
  not valid and how to reach the organization. Never a 500 for anything a client sends; an error of ours is a
  page without details, its traceback in the log.

Cross-site requests. No cookie, session or login is used: the token in the URL is the capability (RFC 8058 §3
forbids the mail provider's POST any other context), so a page on another site has nothing of the member's to
ride on, and can do only what anyone holding the link can do anyway, and only if it knows the link. One-click
POSTs come from mail providers' servers, cross-site by nature, and are accepted as RFC 8058 says. The page's own
forms are a different body, only ever sent from the page itself; they are refused (403, nothing changed) when the
browser says they come from elsewhere (``Sec-Fetch-Site`` other than same-origin, or an ``Origin`` that is not
this page's), so another site can't make a visitor's browser unsubscribe them with a reason it chose, or — the
one thing the link alone does not do — resubscribe them. No other site may frame the pages either (CSP
``frame-ancestors 'none'``), which stops a button being clicked unseen; ``Referrer-Policy: no-referrer`` keeps the
token out of the Referer of the page's links.

Each request is logged in one line, with the token, anything after it and the client's address cut short.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actionmail import audience, database, feedback, tokens
from actionmail.config import Project, load_project
from actionmail.errors import UsageError
from actionmail.feedback import journal
from actionmail.httpguard import MAX_BODY, Refused, body_length
from actionmail.serve import site
from actionmail.serve.members import POOL, Members, Seen
from actionmail.serve.pages import Pages
from actionmail.serve.paths import UnsubscribePath, mask

logger = logging.getLogger("actionmail.serve")

BODY_SECONDS = 10.0  # a request's body must arrive within this (slowly or not); uvicorn bounds the headers
PROJECT_VARIABLE = "ACTIONMAIL_SERVE_PROJECT"  # how `serve --workers N` tells each worker process the project
ONE_CLICK = ("List-Unsubscribe", "One-Click")
WEBHOOKS = "/webhooks/{provider}"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}

T = TypeVar("T")
# Runs store code in a worker thread (create_app's `blocking`): the routes of signup.py and reports.py are given it.
Blocking = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Service:
    """What the application needs, made once per process: the pages, the members, where the links point."""

    project: Project
    path: UnsubscribePath
    pages: Pages
    members: Members
    # SES via SNS: fetching signing certificates, and confirming a subscription (tests give their own).
    certificates: feedback.CertificateFetcher | None = None
    confirm: Callable[[str], None] = feedback.confirm_subscription

    @property
    def database(self) -> database.Location:
        return audience.database_location(self.project)


def service(project: Project) -> Service:
    """Check everything serving needs (the unsubscribe URL's path, the secret key, the database) and open it."""
    settings = project.settings.email
    path = UnsubscribePath.parse(settings.unsubscribe_url)
    key = tokens.secret_key()
    members = Members(audience.database_location(project), key, settings.list_id)
    return Service(project, path, Pages(project), members)


def from_environment() -> ASGIApp:
    """The application for the project named by :data:`PROJECT_VARIABLE` (uvicorn's factory, in each worker)."""
    configure_logging()
    return create_app(service(load_project(Path(os.environ.get(PROJECT_VARIABLE) or "."))))


def configure_logging() -> None:
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def create_app(svc: Service) -> ASGIApp:
    limiter: list[anyio.CapacityLimiter] = []

    async def blocking(function: Callable[..., T], *args: Any) -> T:
        """Run store code in a worker thread, no more of them at once than there are stores to lend. A write that
        waited out SQLite's busy timeout (30 s) is a 503 with Retry-After, which mail providers retry."""
        try:
            return await anyio.to_thread.run_sync(partial(function, *args), limiter=limiter[0])
        except Exception as e:
            if not database.busy(e):
                raise
            logger.error("the database stayed busy: %s", e)
            raise HTTPException(503, "busy") from None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limiter.append(anyio.CapacityLimiter(POOL))
        yield
        svc.members.close()

    def page(status: int, name: str, title: str, seen: Seen | None = None, **context: Any) -> HTMLResponse:
        return HTMLResponse(svc.pages.render(name, title, seen, **context), status, _headers(svc))

    def invalid() -> HTMLResponse:
        return page(400, "invalid", "This link is not valid")

    async def unsubscribe(request: Request) -> Response:
        token = svc.path.token(request.path_params.get("rest"), dict(request.query_params))
        if request.method != "POST":
            seen = await blocking(svc.members.look, token)
            _outcome(request, "page" if seen else "invalid link")
            return invalid() if seen is None else HTMLResponse(svc.pages.for_member(seen), 200, _headers(svc))
        form = await _form(request)
        if form.get(ONE_CLICK[0], "").strip().lower() == ONE_CLICK[1].lower():
            seen = await blocking(svc.members.unsubscribe, token, "one-click")
            _outcome(request, "invalid link" if seen is None else f"one-click: {_change(seen, 'unsubscribed')}")
            if seen is None:
                return invalid()
            # RFC 8058: a 200 with a minimal body, never a redirect.
            return PlainTextResponse("You are unsubscribed.\n", 200, _headers(svc))
        action = form.get("action")
        if action not in ("unsubscribe", "undo"):
            _outcome(request, "form not understood")
            detail = "This request did not say what to do."
            return page(400, "bad_request", "Nothing was changed", detail=detail)
        if not _from_the_page(request, svc.path.origin):
            _outcome(request, "refused: form from another site")
            return page(403, "refused", "Nothing was changed")
        if action == "undo":
            seen = await blocking(svc.members.undo, token)
            _outcome(request, "invalid link" if seen is None else f"undo: {_change(seen, 'resubscribed')}")
        else:
            reason = form.get("reason") or None
            seen = await blocking(svc.members.unsubscribe, token, "page", reason)
            _outcome(request, "invalid link" if seen is None else f"page: {_change(seen, 'unsubscribed')}")
        return invalid() if seen is None else HTMLResponse(svc.pages.for_member(seen), 200, _headers(svc))

    async def webhook(request: Request) -> Response:
        provider = request.path_params["provider"]
        if provider not in feedback.PROVIDERS:
            raise HTTPException(404)
        call = feedback.WebhookRequest(request.headers, await request.body(), dt.datetime.now(dt.UTC), os.environ)
        try:
            # In a thread: verifying a signature is CPU work, and SES's may fetch a certificate.
            result = await anyio.to_thread.run_sync(feedback.read_webhook, provider, call, svc.certificates)
            if result.subscribe_url is not None:
                await anyio.to_thread.run_sync(svc.confirm, result.subscribe_url)
        except feedback.WebhookRejected as e:
            _outcome(request, f"{provider}: refused ({e.message})")
            return PlainTextResponse(e.message + "\n", e.status, {**HEADERS, **e.headers})
        applied = await blocking(journal.apply, svc.database, result.events)
        confirmed = " (SNS subscription confirmed)" if result.subscribe_url else ""
        _outcome(request, f"{provider}: {applied}{confirmed}")
        return PlainTextResponse("ok\n", 200, HEADERS)

    async def healthz(request: Request) -> Response:
        try:
            await blocking(svc.members.probe)
        except UsageError as e:
            logger.error("healthz: %s", e)
            return PlainTextResponse("database unavailable\n", 503, HEADERS)
        return PlainTextResponse("ok\n", 200, HEADERS)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return page(404, "not_found", "Page not found")
        if exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            response = page(405, "bad_request", "Nothing was changed", detail="This address does not take that.")
            response.headers["Allow"] = allowed
            return response
        if exc.status_code == 503:
            response = page(503, "error", "Please try again in a minute")
            response.headers["Retry-After"] = "60"
            return response
        return page(exc.status_code, "bad_request", "Nothing was changed", detail=str(exc.detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        # Logged by the guard below, with the traceback; the client learns nothing of it.
        return page(500, "error", "Something went wrong")

    # Built on this module's helpers: imported once they are defined.
    from actionmail.serve import reports, signup

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        *signup.routes(svc, blocking),  # before the unsubscribe path, which may be all of "/{token}"
        *reports.routes(svc, blocking),  # report-backs and survey answers (actionmail.serve.reports)
        Route(svc.path.route, unsubscribe, methods=["GET", "HEAD", "POST"]),
        Route(WEBHOOKS, webhook, methods=["POST"]),
    ]
    routes.append(site.mount(svc.project, routes))  # last: the web edition's pages, at the paths left
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.router.redirect_slashes = False  # RFC 8058: never a redirect; a path that is not ours is a 404 or a 400
    # A provider's batch of events is bigger than any form of the pages.
    limits = {WEBHOOKS.format(provider=provider): feedback.max_body(provider) for provider in feedback.PROVIDERS}
    return Guard(app, svc, limits)


class Guard:
    """Pure ASGI middleware around the whole application: a request's body is capped (:data:`MAX_BODY`, or what
    ``limits`` says for its path) and must arrive within :data:`BODY_SECONDS`; each request gets one log line; and
    an exception is logged with its traceback, never shown."""

    def __init__(self, app: ASGIApp, svc: Service, limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.svc = svc
        self.limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        scope.setdefault("state", {})
        status: list[int] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        try:
            headers = Headers(scope=scope)
            chunked = "chunked" in headers.get("transfer-encoding", "").lower()
            limit = self.limits.get(scope.get("path", ""), MAX_BODY)
            body_length(headers.getlist("content-length"), None, limit)  # refuses a bad or too big Content-Length
            await self.app(scope, _limited(receive, started + BODY_SECONDS, chunked, limit), sending)
        except Refused as e:
            await self._answer(sending, e.status, str(e))
        except Exception:
            logger.exception("%s %s: error", scope.get("method"), self.svc.path.masked(scope.get("path", "")))
            if not status:
                await self._answer(sending, HTTPStatus.INTERNAL_SERVER_ERROR, "")
        finally:
            self._log(scope, status[0] if status else 0, started)

    async def _answer(self, send: Send, status: HTTPStatus, detail: str) -> None:
        if status >= 500:
            html = self.svc.pages.render("error", "Something went wrong")
        else:
            html = self.svc.pages.render(
                "bad_request", "Nothing was changed", detail=f"{detail[:1].upper()}{detail[1:]}."
            )
        await HTMLResponse(html, status, _headers(self.svc))({"type": "http"}, _nothing, send)

    def _log(self, scope: Scope, status: int, started: float) -> None:
        client = scope.get("client")
        outcome = scope["state"].get("outcome")
        query = "?…" if scope.get("query_string") else ""
        logger.info(
            "%s %s %s%s %d %.0fms%s",
            _client(client[0] if client else None),
            scope.get("method"),
            self.svc.path.masked(scope.get("path", "")),
            query,
            status,
            (time.monotonic() - started) * 1000,
            f" {outcome}" if outcome else "",
        )


def _limited(receive: Receive, deadline: float, chunked: bool, limit: int = MAX_BODY) -> Receive:
    """``receive``, held to the body's deadline and size (a chunked body has no Content-Length to check first)."""
    received = 0

    async def limited() -> Message:
        nonlocal received
        try:
            with anyio.fail_after(max(deadline - time.monotonic(), 0.0)):
                message = await receive()
        except TimeoutError:
            raise HTTPException(408, "The request took too long to arrive.") from None
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, f"A body over {limit // 1024} KB is not accepted.")
        return message

    return limited


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


async def _form(request: Request) -> dict[str, str]:
    """The form fields of a POST, first value of each: multipart (RFC 8058's SHOULD), or URL-encoded (what Gmail
    sends), or a body without a Content-Type read as URL-encoded. Never raises but as a 4xx."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        try:
            async with request.form(max_files=0, max_fields=20, max_part_size=MAX_BODY) as form:
                return {name: value for name, value in form.multi_items()[::-1] if isinstance(value, str)}
        except HTTPException:
            raise
        except Exception as e:  # python-multipart's own errors
            raise HTTPException(400, "The form could not be read.") from e
    body = await request.body()
    try:
        fields = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=20)
    except ValueError:
        raise HTTPException(400, "The form has too many fields.") from None
    return dict(fields[::-1])  # the first value of a field given twice


def _from_the_page(request: Request, origin: str) -> bool:
    """Was this form sent from the unsubscribe page itself, as far as the browser says? A request without either
    header is no browser's form post from another site (browsers send Origin with every cross-site POST)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() in ("same-origin", "none")
    sender = request.headers.get("origin")
    if sender is None:
        return True
    here = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    return sender.strip().lower() in (origin, here)


def _outcome(request: Request, text: str) -> None:
    request.state.outcome = text


def _change(seen: Seen, done: str) -> str:
    return done if seen.changed else f"no change ({seen.status})"


def _client(host: str | None) -> str:
    """A client's address for the log, without its last part (an IPv4 address's last byte, or an IPv6
    address's last 80 bits): enough to see a flood from one network, not to name a person."""
    if host is None:
        return "-"
    if ":" in host:
        return ":".join(host.split(":")[:3]) + "::…"
    parts = host.split(".")
    return ".".join([*parts[:3], "…"]) if len(parts) == 4 else mask(host)


def _headers(svc: Service) -> dict[str, str]:
    return {**HEADERS, "Content-Security-Policy": svc.pages.policy}
