"""Reading back what a provider knows, page by page: the part of every provider's pull that is the same.

A pull is a *pass* over a few *stages* — one per list or event stream the provider keeps (Mailgun: bounces,
complaints, unsubscribes, events) — each read page by page. A provider module says how to fetch one page of a
stage given the provider's own page token (a ``next`` URL, an offset, a ``NextToken``), and turns records into
:class:`~actionmail.feedback.FeedbackEvent`\\ s through its ``actionmail.feedback`` module, where its names map to
kinds; :func:`run` does the rest the same way for all:

- **retried** like the send: a transient failure (429 with the provider's wait, 5xx, a dropped connection) is
  retried with exponential backoff and jitter; a GET changes nothing, so "maybe sent" does not matter here;
- **bounded** against an API that loops: a page token seen before in the stage, the same page twice in a row,
  too many empty pages in a row, or more than :data:`MAX_PAGES` pages in one pass end it with a clear
  :class:`ProviderError`; a page's records and bytes are capped too;
- **resumable**: the cursor (JSON text, opaque to the caller) says which pass, stage and page come next, and
  what was seen; a call reads at most ``pages`` pages and returns it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import tenacity

from actionmail.feedback.events import FeedbackEvent
from actionmail.providers.base import ProviderError, Pull

# A pass longer than this is an API that never ends its paging (at 100–1,000 records a page, 10,000 pages is
# one to ten million records: far beyond any list an organization's sends make).
MAX_PAGES = 10_000
# Empty pages in a row that still name a next page (SES may answer an empty page with a NextToken; a few are
# normal, hundreds are a loop).
MAX_EMPTY = 50
# Records one page may hold: every stage asks for 1,000 at most (Brevo's events, 5,000); more is not an answer to
# what was asked.
MAX_RECORDS = 10_000
# Page tokens remembered per stage to notice a circle (a longer circle still ends at MAX_PAGES).
REMEMBERED = 64
MAX_TOKEN = 4096  # characters: a page token (a URL with its query) longer than this is not one


@dataclass(frozen=True)
class Retry:
    """How a page that failed for now is retried: the send's rules (delivery.Pace's defaults)."""

    attempts: int = 6
    backoff: float = 1.0  # first wait, seconds; doubles, with jitter
    max_wait: float = 120.0  # longest wait; a provider asking for longer ends the call (go on later)


@dataclass
class Page:
    """One page of a stage: its events, what was not an event, and the token of the next page (None: the last)."""

    events: list[FeedbackEvent] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    next: str | None = None
    size: int = 0  # records on the page, events or not: an empty page with a next token counts toward MAX_EMPTY
    digest: str = ""  # what the page held, to notice an API answering the same page again


@dataclass(frozen=True)
class Stage:
    """One list or event stream of a pass: ``fetch(token)`` reads the page ``token`` names (None: the first)."""

    name: str
    fetch: Callable[[str | None], Page]


# A pass's stages for its window (since, until): their number and order must not depend on the window (a cursor
# names a stage by its place).
Stages = Callable[[dt.datetime | None, dt.datetime], Sequence[Stage]]


@dataclass
class _Cursor:
    provider: str
    scope: str  # "all" for pull(), "send:<hash>" for pull_send(): a cursor belongs to one question
    since: dt.datetime | None
    until: dt.datetime | None  # the end of this pass's window, fixed when it starts
    stage: int = 0
    token: str | None = None
    pages: int = 0  # pages read in this pass
    empty: int = 0  # empty pages in a row, in this stage
    seen: list[str] = field(default_factory=list)  # digests of this stage's tokens, the most recent last
    last: str = ""  # digest of the previous page's content

    def dump(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "provider": self.provider,
                "scope": self.scope,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "stage": self.stage,
                "token": self.token,
                "pages": self.pages,
                "empty": self.empty,
                "seen": self.seen,
                "last": self.last,
            },
            separators=(",", ":"),
        )


def bad_cursor(provider: str, why: str) -> ProviderError:
    return ProviderError(
        provider, f"the stored sync position cannot be used ({why}): sync again from a date (--since) to start over"
    )


def _time(value: Any, provider: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise bad_cursor(provider, "a time in it is not a time")
    return when


def load_cursor(text: str, provider: str, scope: str, stages: int) -> _Cursor:
    """The cursor ``text`` (as :func:`run` wrote it) for this provider and question, or a clear ProviderError."""
    try:
        data = json.loads(text) if isinstance(text, str) and len(text) <= 64 * 1024 else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or data.get("v") != 1:
        raise bad_cursor(provider, "it is not one actionmail wrote")
    if data.get("provider") != provider:
        raise bad_cursor(provider, f"it is {str(data.get('provider'))[:40]!r}'s, not {provider!r}'s")
    if data.get("scope") != scope:
        raise bad_cursor(provider, "it belongs to another question (a send's events, or all of them)")
    numbers = [data.get(k) for k in ("stage", "pages", "empty")]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers):
        raise bad_cursor(provider, "its counts are not counts")
    token, seen, last = data.get("token"), data.get("seen"), data.get("last")
    if not (token is None or (isinstance(token, str) and len(token) <= MAX_TOKEN)):
        raise bad_cursor(provider, "its page token is not one")
    if not (isinstance(seen, list) and len(seen) <= REMEMBERED and all(isinstance(s, str) for s in seen)):
        raise bad_cursor(provider, "its page history is not one")
    if not isinstance(last, str) or data["stage"] > stages:
        raise bad_cursor(provider, "its stage is not one of this provider's")
    return _Cursor(
        provider,
        scope,
        _time(data.get("since"), provider),
        _time(data.get("until"), provider),
        data["stage"],
        token,
        data["pages"],
        data["empty"],
        list(seen),
        last,
    )


def digest(*parts: object) -> str:
    """A short digest of ``parts`` (a page token, a page's records), to compare without keeping them."""
    return hashlib.sha256(repr(parts).encode("utf-8", "replace")).hexdigest()[:16]


def run(
    provider: str,
    scope: str,
    stages: Stages,
    since: dt.datetime | None,
    cursor: str | None,
    pages: int,
    overlap: dt.timedelta,
    retry: Retry | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> Pull:
    """Read up to ``pages`` pages of the pass ``cursor`` is in (or of a new one over ``since``…now), whose
    stages ``stages(since, until)`` gives (:data:`Stages`)."""
    if since is not None and since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    if pages < 1:
        raise ValueError("pages must be at least 1")
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    retry = retry or Retry()
    count = len(stages(since, clock()))
    state = load_cursor(cursor, provider, scope, count) if cursor is not None else _Cursor(provider, scope, since, None)
    if state.until is None:  # a new pass: its window ends now, whatever happens while it is read
        state.until = clock()
    plan = stages(state.since, state.until)
    events: list[FeedbackEvent] = []
    skipped: list[str] = []
    for _ in range(pages):
        if state.stage >= len(plan):
            break
        stage = plan[state.stage]
        page = _fetch(provider, stage, state.token, retry)
        state.pages += 1
        events.extend(page.events)
        skipped.extend(f"{stage.name}: {why}" for why in page.skipped[:1000])
        _check(provider, stage.name, state, page)
        if page.next is None:
            state.stage, state.token, state.empty, state.seen, state.last = state.stage + 1, None, 0, [], ""
        else:
            state.token = page.next
    if state.stage >= len(plan):  # the pass is over: the next one starts where it ended, less the delay
        state = _Cursor(provider, scope, state.until - overlap, None)
        return Pull(events=events, cursor=state.dump(), complete=True, skipped=skipped)
    return Pull(events=events, cursor=state.dump(), complete=False, skipped=skipped)


def _check(provider: str, stage: str, state: _Cursor, page: Page) -> None:
    """Stop an API that loops: a token seen before, the same page again, endless empty pages, a pass too long."""
    if state.pages > MAX_PAGES:
        raise ProviderError(
            provider, f"{stage}: more than {MAX_PAGES:,} pages in one pass; stopping, as the API seems to loop"
        )
    if page.size > MAX_RECORDS:
        raise ProviderError(provider, f"{stage}: a page of {page.size:,} records, more than asked for")
    if page.next is None:
        return
    if len(page.next) > MAX_TOKEN:
        raise ProviderError(provider, f"{stage}: the API named a next page {len(page.next):,} characters long")
    token = digest(page.next)
    if token in state.seen or page.next == state.token:
        raise ProviderError(
            provider, f"{stage}: the API's paging went round in a circle (a next page it had named before); stopping"
        )
    if page.size and page.digest and page.digest == state.last:
        raise ProviderError(provider, f"{stage}: the API answered the same page twice; stopping, as it seems to loop")
    state.empty = 0 if page.size else state.empty + 1
    if state.empty > MAX_EMPTY:
        raise ProviderError(provider, f"{stage}: {MAX_EMPTY} empty pages in a row that each named a next; stopping")
    state.seen = [*state.seen, token][-REMEMBERED:]
    state.last = page.digest


def _fetch(provider: str, stage: Stage, token: str | None, retry: Retry) -> Page:
    def retryable(error: BaseException) -> bool:
        if not isinstance(error, ProviderError) or not error.transient:
            return False
        asked = _asked(error)
        return asked is None or asked <= retry.max_wait

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = (_asked(error) if isinstance(error, ProviderError) else None) or 0.0
        exponential = tenacity.wait_exponential(multiplier=retry.backoff, max=retry.max_wait)
        backoff = (exponential + tenacity.wait_random(0, retry.backoff))(state)
        return min(retry.max_wait, max(asked, backoff))

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(retryable),
        wait=wait,
        stop=tenacity.stop_after_attempt(retry.attempts),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            return stage.fetch(token)
    raise AssertionError("unreachable: tenacity reraises the last failure")  # pragma: no cover


def _asked(error: ProviderError) -> float | None:
    asked = error.retry_after
    return asked if asked is not None and math.isfinite(asked) and asked >= 0 else None


def scope_of(tag: str, message_ids: Sequence[str]) -> str:
    """The scope of a pull_send cursor: the send it asks about."""
    return "send:" + digest(tag, sorted(message_ids))


def records(provider: str, stage: str, body: Any, key: str | None) -> list[Any]:
    """The list of records in a page's JSON: ``body[key]``, or ``body`` itself when ``key`` is None. A missing (or
    null) ``key`` is no records; a page that is not a JSON object, or records that are not a list, is a clear
    ProviderError, never a TypeError."""
    if key is None:
        found = body
    elif isinstance(body, dict):
        found = body.get(key)
        if found is None:
            return []  # "no items" written as a missing key
    else:
        found = None
    if not isinstance(found, list):
        where = f"'{key}'" if key else "the page"
        raise ProviderError(provider, f"{stage}: {where} is not a list of records: check base_url")
    return found


Reader = Callable[[Mapping[str, Any]], "FeedbackEvent | list[FeedbackEvent] | None"]


def read_page(items: list[Any], read: Reader) -> Page:
    """A page of records read into events by ``read`` (an ``actionmail.feedback`` function); a record that is not
    an object, or that ``read`` finds names no one, is skipped and said so. ``next`` is left for the caller."""
    page = Page(size=len(items), digest=digest(items))
    for index, item in enumerate(items):
        found = read(item) if isinstance(item, dict) else None
        if isinstance(found, FeedbackEvent):
            page.events.append(found)
        elif found:
            page.events.extend(found)
        else:
            why = "is not an object" if not isinstance(item, dict) else "names no address, or nothing we know"
            page.skipped.append(f"record [{index}] {why}")
    return page


def offset_pager(
    provider: str, items_at: Callable[[int], tuple[list[Any], int | None]], read: Reader, limit: int
) -> Callable[[str | None], Page]:
    """Pages of an API paged by ``offset``: ``items_at(offset)`` gives a page's records and, where the API says,
    how many there are in all; the last page is a short one, or the one that reaches that total."""

    def fetch(token: str | None) -> Page:
        if token is not None and not (token.isdigit() and len(token) <= 12):
            raise bad_cursor(provider, "its page offset is not one")
        offset = int(token) if token else 0
        items, total = items_at(offset)
        page = read_page(items, read)
        reached = offset + len(items)
        more = len(items) >= limit and (total is None or reached < total)
        page.next = str(reached) if more else None
        return page

    return fetch


def count(value: Any) -> int | None:
    """A page's total (Postmark's ``TotalCount``, Brevo's ``count``) if it is a count."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
