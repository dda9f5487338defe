"""``check --online``: does every web address the newsletters' own text links to answer?

Each distinct URL is asked once, however many newsletters and variants link to it: HEAD first (cheap), then
GET when HEAD fails, since many servers answer HEAD with 403, 404, 405 or 501 while the page itself is fine.
Requests run in threads, each with a timeout; addresses that answered well are remembered for a day in the
user's cache directory, so checking a directory of newsletters again is quick and doesn't hammer anyone.

This is the one place outside ``providers/`` that uses requests: the house rule keeps network access out of
loading and rendering, and this check exists to touch the network, only when asked.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

from actionmail import __version__
from actionmail.check.draft import Draft
from actionmail.errors import Problem, Severity

TIMEOUT = 10.0  # seconds, per request
# Asked when no address of the newsletters answered at all, to tell "these links are broken" from "this machine
# is offline": hosts that are always up (IANA keeps them for examples and documentation), by name, so that a
# machine whose DNS doesn't answer counts as offline too.
PROBES: tuple[tuple[str, int], ...] = (("example.com", 443), ("www.iana.org", 443))
PROBE_TIMEOUT = 5.0  # seconds, for the name lookup and the connection together
WORKERS = 8
CACHE_TTL = 24 * 3600  # seconds an address that answered well is not asked again
USER_AGENT = f"actionmail/{__version__} (link check)"


@dataclass(frozen=True)
class Answer:
    status: int | None  # the final HTTP status, after redirects; None when there was no answer
    error: str = ""  # why there was no answer
    timed_out: bool = False
    remembered: bool = False  # from the cache, not asked this time

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400


def cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "actionmail" / "links.json"


def reachability(
    drafts: Iterable[Draft],
    *,
    timeout: float = TIMEOUT,
    workers: int = WORKERS,
    cache: Path | None = None,
    now: float | None = None,
    probes: Sequence[tuple[str, int]] | None = None,
) -> list[Problem]:
    """A problem for each link, in each newsletter, whose address doesn't answer or answers with an error.

    When no address answered at all and neither do the ``probes`` (host, port; :data:`PROBES` by default), the
    machine is offline: one warning says so, instead of an error for every link.
    """
    probes = PROBES if probes is None else probes
    where: dict[str, list[tuple[Draft, str]]] = {}  # URL → (draft, link text) of each newsletter linking to it
    for draft in drafts:
        for document in draft.documents:
            for anchor in document.iter("a"):
                href = (anchor.get("href") or "").strip()
                # The newsletter's own links: those of the settings and officials.yaml change seldom, and the web
                # version is only published when the email is sent.
                if not href.lower().startswith(("https://", "http://")) or not draft.find_url(href):
                    continue
                entries = where.setdefault(href, [])
                if all(d is not draft for d, _ in entries):
                    entries.append((draft, " ".join(anchor.text_content().split())))
    answers = fetch_all(list(where), timeout=timeout, workers=workers, cache=cache or cache_file(), now=now)
    asked = [answer for answer in answers.values() if not answer.remembered]
    if asked and all(answer.status is None for answer in asked) and not any_answers(probes, PROBE_TIMEOUT):
        names = " or ".join(host for host, _ in probes)
        count = f"{len(asked)} address{'es' if len(asked) != 1 else ''}"
        return [
            Problem(
                "check --online",
                None,
                "",
                f"no address answered, nor did {names}: this machine seems to be offline, so {count} linked to "
                "could not be checked",
                "connect to the internet and check again (the other checks ran)",
                Severity.WARNING,
            )
        ]
    problems = []
    for url, answer in answers.items():
        if answer.ok:
            continue
        for draft, text in where[url]:
            if answer.timed_out:
                what, severity = f"{url} did not answer within {timeout:g} s", Severity.WARNING
            elif answer.status is None:
                what, severity = f"{url} could not be reached ({answer.error})", Severity.ERROR
            else:
                what, severity = f"{url} answered {answer.status} {_reason(answer.status)}", Severity.ERROR
            label = f" ('{text}')" if text else ""
            problems.append(
                draft.problem(
                    draft.find_url(url),
                    what + label,
                    "correct the address, or link to another page",
                    severity,
                    near=url,
                )
            )
    return problems


def any_answers(addresses: Sequence[tuple[str, int]], timeout: float) -> bool:
    """Does any of these (host, port) accept a connection within ``timeout`` seconds, name lookup included?

    Each is tried in a daemon thread: a name lookup has no timeout of its own, and a resolver that doesn't answer
    would otherwise hold the check (and the interpreter's exit) for as long as it likes.
    """
    answered = threading.Event()
    done = threading.Semaphore(0)

    def connect(address: tuple[str, int]) -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                answered.set()
        except OSError:
            pass
        finally:
            done.release()

    for address in addresses:
        threading.Thread(target=connect, args=(address,), daemon=True).start()
    deadline = time.monotonic() + timeout
    for _ in addresses:
        if answered.is_set() or not done.acquire(timeout=max(0.0, deadline - time.monotonic())):
            break
    return answered.is_set()


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def fetch_all(
    urls: list[str], *, timeout: float, workers: int, cache: Path, now: float | None = None
) -> dict[str, Answer]:
    """Each URL's answer, asking only those not answered well within :data:`CACHE_TTL`."""
    now = time.time() if now is None else now
    remembered = _read_cache(cache)
    answers = {url: Answer(int(remembered[url]["status"]), remembered=True) for url in urls
               if url in remembered and now - remembered[url]["checked"] < CACHE_TTL}  # fmt: skip
    todo = [url for url in urls if url not in answers]
    if todo:
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            for url, answer in zip(todo, pool.map(lambda u: fetch(u, timeout), todo), strict=True):
                answers[url] = answer
                if answer.ok and answer.status is not None:
                    remembered[url] = {"status": answer.status, "checked": now}
        _write_cache(cache, remembered)
    return {url: answers[url] for url in urls}


def fetch(url: str, timeout: float) -> Answer:
    """HEAD, then GET if HEAD didn't answer well; redirects followed."""
    headers = {"User-Agent": USER_AGENT}
    try:
        with requests.head(url, allow_redirects=True, timeout=timeout, headers=headers) as response:
            if response.status_code < 400:
                return Answer(response.status_code)
        with requests.get(url, allow_redirects=True, timeout=timeout, headers=headers, stream=True) as response:
            return Answer(response.status_code)  # the body is never read: the status is all we want
    except requests.Timeout:
        return Answer(None, "timed out", timed_out=True)
    except requests.TooManyRedirects:
        return Answer(None, "too many redirects")
    except requests.RequestException as e:
        return Answer(None, type(e).__name__.replace("Error", " error").strip().lower())


def _read_cache(path: Path) -> dict[str, dict[str, float]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: ask again
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, data: dict[str, dict[str, float]]) -> None:
    # Written to a temporary file and renamed, so a check running at the same time never reads half a file.
    with contextlib.suppress(OSError):  # a read-only cache directory only makes the next check slower
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(f.name, path)
