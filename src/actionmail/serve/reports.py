"""Report links: "Let us know you called" and a survey's one-tap answers, counted once per member.

Each member's email carries their own links (:mod:`actionmail.tally`): ``{report_url}/ISSUE/QUESTION/ANSWER``,
where ``{report_url}`` is ``[email] report_url`` (by default ``/act/{token}`` on the unsubscribe host) with their
token, signed for this purpose only (:data:`actionmail.tokens.REPORT`: it can't unsubscribe anyone, and an
unsubscribe token can't answer).

- ``GET`` (and ``HEAD``): a page with one button, "Yes, I called" or "Answer: Yes". It counts nothing: mail
  security gateways and "safe links" proxies fetch every link in an email, and a fetch is not a member's answer.
- ``POST`` with ``action=report`` (the button): the answer is recorded (:mod:`actionmail.audience.reports`),
  with the member's district and whom they were asked to call where that depends on it; then "Thank you", and
  how many have answered so far. Once per member per question: a second answer replaces the first.
- A token that is forged, altered, foreign or a deleted member's; an issue with no newsletter file in
  ``newsletters/``, a question or answer the file doesn't ask; a link older than :data:`DAYS` days after the
  issue's date: a 400 page saying nothing was counted. Never a 500 for anything a client sends.

The page's form is held to the same rule as the unsubscribe page's (:func:`actionmail.serve.app._from_the_page`):
refused (403) when the browser says it comes from another site, so no other site can answer for a member.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from actionmail import tally, tokens, variants, yesterday
from actionmail.audience import Store, Subscriber
from actionmail.audience.reports import Recorded, Report
from actionmail.config import Project
from actionmail.errors import InvalidInput, UsageError
from actionmail.newsletter import ISSUE_NAME, Newsletter, load_newsletter
from actionmail.serve.app import Blocking, Service, _form, _from_the_page, _headers, _outcome
from actionmail.serve.paths import UnsubscribePath

logger = logging.getLogger("actionmail.serve")

DAYS = 30  # a report link counts for this many days after its issue's date
NEWSLETTERS = "newsletters"  # where the issues are, under the project's root (as `actionmail new` writes them)
CACHED = 32  # newsletters kept loaded: a day's links are answered within days of it


@dataclass(frozen=True)
class ReportPath:
    """Where report links are answered: the path of ``[email] report_url`` before the token (``/act/``)."""

    url: str  # the template, e.g. "https://www.example.org/act/{token}"
    origin: str  # where the page's own form comes from
    prefix: str

    @classmethod
    def parse(cls, project: Project, unsubscribe: UnsubscribePath) -> ReportPath:
        url = project.settings.email.report_url_template
        parts = urllib.parse.urlsplit(url.replace("{token}", "TOKEN"))
        prefix = urllib.parse.unquote(parts.path).removesuffix("TOKEN")
        if unsubscribe.prefix.startswith(prefix) or prefix.startswith(unsubscribe.prefix):
            raise UsageError(
                f"actionmail.toml: email.report_url: '{url}' and unsubscribe_url '{unsubscribe.url}' share the path "
                f"{prefix}: actionmail serve could not tell them apart: write report_url like "
                '"https://www.example.org/act/{token}"'
            )
        return cls(url, f"{parts.scheme}://{parts.netloc}".lower(), prefix)

    @property
    def pattern(self) -> str:
        return f"{self.prefix}{{token}}/ISSUE/QUESTION/ANSWER"


@dataclass(frozen=True)
class Asked:
    """What a report link asks, found in its issue's newsletter."""

    newsletter: Newsletter
    question: tally.Question
    answer: str

    @property
    def label(self) -> str:
        return self.question.answers[self.answer]


class Issues:
    """The newsletters report links name, loaded on demand from ``newsletters/ISSUE.yaml`` and kept while the file
    is unchanged (a few at a time). Thread-safe: request threads share it."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self._directory = project.root / NEWSLETTERS
        self._loaded: OrderedDict[str, tuple[tuple[int, int], Newsletter | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, issue: str) -> Newsletter | None:
        """The newsletter of ``issue``, or None: no such file, or one that no longer loads (which is logged)."""
        if len(issue) > 200 or not _ISSUE.fullmatch(issue):
            return None  # checked before the name comes near the file system
        path = yesterday.issue_file(self._directory, issue)
        try:
            stat = path.stat() if path is not None else None
        except OSError:  # removed since it was found
            stat = None
        if path is None or stat is None:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._loaded.get(issue)
            if cached is not None and cached[0] == version:
                self._loaded.move_to_end(issue)
                return cached[1]
        newsletter = self._load(path)
        with self._lock:
            self._loaded[issue] = (version, newsletter)
            while len(self._loaded) > CACHED:
                self._loaded.popitem(last=False)
        return newsletter

    def _load(self, path: Path) -> Newsletter | None:
        region = self._project.settings.organization.country
        try:
            return load_newsletter(path, self._project.officials, region)
        except InvalidInput as e:
            logger.error("report links to %s can't be counted while it doesn't load: %s", path.name, e.problems[0])
        except OSError as e:  # removed, or made unreadable, since it was found
            logger.error("report links to %s can't be counted: %s", path.name, e)
        return None


_ISSUE = re.compile(ISSUE_NAME)


def prepare(svc: Service) -> ReportPath:
    """What report links need, checked before serving (`actionmail serve` does, before uvicorn starts): where they
    are answered, and pages that have their button."""
    path = ReportPath.parse(svc.project, svc.path)
    # An organization's own copy of serve/page.html from before report links has no content block for
    # serve/report.html to fill: its pages would have no button. Say so now, not to each member.
    sample = svc.pages.render("report", "Call", template="serve/report.html", kind="call")
    if 'value="report"' not in sample:
        raise UsageError(
            "templates/serve/page.html has no {% block content %} around the page's body, which the report links' "
            "pages (serve/report.html) fill: add it, as the built-in page.html has it"
        )
    return path


def routes(svc: Service, blocking: Blocking) -> list[Route]:
    """The report links' routes, for :func:`actionmail.serve.app.create_app` to mount; their store and file work
    runs through ``blocking``, in the worker threads the unsubscribe routes' work runs in."""
    answering = _Answering(svc, blocking)
    return [Route(f"{answering.path.prefix}{{rest:path}}", answering.endpoint, methods=["GET", "HEAD", "POST"])]


class _Answering:
    def __init__(self, svc: Service, blocking: Blocking) -> None:
        self.svc = svc
        self.blocking = blocking
        self.path = prepare(svc)
        self.issues = Issues(svc.project)

    def page(self, status: int, page: str, title: str, language: str | None = None, **context: Any) -> HTMLResponse:
        html = self.svc.pages.render(page, title, template="serve/report.html", language=language, **context)
        return HTMLResponse(html, status, _headers(self.svc))

    def invalid(self, request: Request, why: str) -> HTMLResponse:
        _outcome(request, f"not counted: {why}")
        return self.page(400, "invalid", "This link is not valid")

    async def endpoint(self, request: Request) -> Response:
        parts = str(request.path_params.get("rest", "")).split("/")
        if len(parts) != 4 or not all(parts):
            return self.invalid(request, "not a report link")
        token, issue, question_id, answer = parts
        newsletter = await self.blocking(self.issues.get, issue)
        if newsletter is None:
            return self.invalid(request, "unknown issue")
        question = tally.questions(newsletter).get(question_id)
        if question is None or answer not in question.answers:
            return self.invalid(request, "unknown question or answer")
        asked = Asked(newsletter, question, answer)
        today = variants.send_day(self.svc.project)
        if today > newsletter.date + dt.timedelta(days=DAYS):
            _outcome(request, "not counted: expired")
            return self.page(400, "expired", "This link has expired", days=DAYS, issue_date=newsletter.date)
        if request.method != "POST":
            found = await self.blocking(self._look, token, issue, asked)
            if found is None:
                return self.invalid(request, "invalid token")
            member, before = found
            _outcome(request, "page")
            return self._confirmation(asked, member, before)
        form = await _form(request)
        if form.get("action") != "report":
            _outcome(request, "form not understood")
            return self.page(400, "bad_request", "Nothing was counted", detail="This request did not say what to do.")
        if not _from_the_page(request, self.path.origin):
            _outcome(request, "refused: form from another site")
            return self.page(403, "refused", "Nothing was counted")
        counted = await self.blocking(self._record, token, issue, asked)
        if counted is None:
            return self.invalid(request, "invalid token")
        member, recorded, count = counted
        _outcome(request, f"{question_id}: {recorded}")
        return self.page(
            200,
            "counted",
            "Thank you",
            member.language,
            survey=question.survey,
            kind=question.action.kind,
            label=asked.label,
            recorded=str(recorded),
            count=count,
        )

    def _confirmation(self, asked: Asked, member: Subscriber, before: str | None) -> HTMLResponse:
        action = asked.question.action
        if asked.question.survey and action.survey is not None:
            earlier = asked.question.answers.get(before or "") if before != asked.answer else None
            return self.page(200, "answer", action.survey.prompt, member.language, label=asked.label, before=earlier)
        return self.page(200, "report", action.title, member.language, kind=action.kind)

    def _member(self, store: Store, token: str) -> Subscriber | None:
        return self.svc.members.member(store, token, tokens.REPORT)

    def _look(self, token: str, issue: str, asked: Asked) -> tuple[Subscriber, str | None] | None:
        """The member a token names, and their answer so far; nothing is written."""
        with self.svc.members.borrow() as store:
            member = self._member(store, token)
            if member is None:
                return None
            return member, store.reports.answer_of(member.id, issue, asked.question.id)

    def _record(self, token: str, issue: str, asked: Asked) -> tuple[Subscriber, Recorded, int] | None:
        with self.svc.members.borrow() as store:
            member = self._member(store, token)
            if member is None:
                return None
            action, directory = asked.question.action, self.svc.project.officials
            # The district kept is the default set's (the council's), where the action names a group of it: for a
            # group of another set alone (congress), whom the member was asked to call is the target, by itself.
            by_district = any(g.district_set is None for g in tally.per_district(action, directory))
            report = Report(
                member.id,
                issue,
                asked.question.id,
                asked.answer,
                member.district if by_district else None,
                tally.target_for(action, directory, member.district, member.districts),
            )
            recorded = store.reports.record(report)
            return member, recorded, store.reports.count(issue, asked.question.id)
