"""The shared part of HTTP providers: one pooled requests session, and failures sorted the same way for all.

A failure is *transient* when waiting may help (429, 5xx, connection trouble) and *maybe sent* when the
request may have reached the provider before it failed (the connection broke or timed out after the body was
sent). The engine retries transient failures; a maybe-sent one it retries only with an idempotency key.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import requests
import requests.adapters

from actionmail import __version__
from actionmail.config.providers import HTTPSettings, ProviderSettings
from actionmail.providers.base import Provider, ProviderError


class HTTPProvider(Provider):
    """A provider reached over HTTPS with requests. Subclasses build the request and read the answer."""

    settings: HTTPSettings
    settings_model: ClassVar[type[ProviderSettings]] = HTTPSettings
    # Statuses that mean "not now" rather than "never", beyond 429 and 5xx (e.g. Resend's 409 for a
    # concurrent request with the same idempotency key).
    transient_statuses: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, settings: ProviderSettings, environ: Mapping[str, str] | None = None, pool: int = 8) -> None:
        super().__init__(settings, environ)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"actionmail/{__version__}"
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def url(self, path: str) -> str:
        return self.settings.base_url.rstrip("/") + "/" + path.lstrip("/")

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """POST and return a 2xx response; raise ProviderError, sorted, for anything else."""
        # Never follow a redirect: requests strips only Authorization on the way to another host, so custom auth
        # headers (X-Postmark-Server-Token, api-key) would go along; and a 301/302 turns the POST into a GET
        # whose 200 page would read as success.
        kwargs.setdefault("allow_redirects", False)
        try:
            response = self.session.post(self.url(path), timeout=self.settings.timeout, **kwargs)
        except (requests.ConnectTimeout, requests.exceptions.SSLError) as e:
            raise ProviderError(self.name, f"could not connect: {type(e).__name__}", transient=True) from None
        except requests.ConnectionError as e:
            # Refused before anything was sent, or broken after the request went out: only the first is safe.
            sent = not _refused(e)
            what = "connection dropped" if sent else "could not connect"
            raise ProviderError(self.name, f"{what}: {type(e).__name__}", transient=True, maybe_sent=sent) from None
        except requests.Timeout:
            raise ProviderError(self.name, "no answer in time", transient=True, maybe_sent=True) from None
        status = response.status_code
        if 200 <= status < 300:  # not response.ok, which lets a 3xx through
            return response
        if 300 <= status < 400:
            where = response.headers.get("Location", "elsewhere")
            message = f"the API answered with a redirect to {where}: set base_url to the API's own address"
        else:
            message = self.error_message(response)
        raise ProviderError(
            self.name,
            message,
            status=status,
            body=response.text,
            transient=self.transient(response),
            retry_after=self.retry_after(response),
        )

    def transient(self, response: requests.Response) -> bool:
        """Whether a failed call may work later; subclasses read their error body where the status isn't enough
        (Resend's 409 means "retry" for one error name and "never" for another)."""
        status = response.status_code
        return status == 429 or status >= 500 or status in self.transient_statuses

    def error_message(self, response: requests.Response) -> str:
        """The provider's own explanation; subclasses read their error body's field."""
        return response.reason or "request refused"

    def retry_after(self, response: requests.Response) -> float | None:
        """Seconds to wait, from Retry-After (seconds or an HTTP date); subclasses add their own headers.

        None, so that the engine backs off on its own, for anything else a server may send ("soon", "-5", a
        number of days in seconds, a date that isn't one): a header must never turn a refused call into a crash.
        """
        value = response.headers.get("Retry-After")
        if not value:
            return None
        waited = seconds(value)
        return waited if waited is not None else until(value)

    def close(self) -> None:
        self.session.close()


# A wait in seconds as Retry-After gives it (RFC 9110 §10.2.3: a non-negative decimal integer), allowing a
# fraction; ten digits at most, three centuries: longer than any real wait, and the engine gives up long before.
_SECONDS = re.compile(r"\s*(\d{1,10}(?:\.\d{1,6})?)\s*")


def seconds(value: str | None) -> float | None:
    """A header's number of seconds to wait, or None if it isn't one."""
    found = _SECONDS.fullmatch(value or "")
    return float(found[1]) if found else None


def until(value: str | None) -> float | None:
    """Seconds from now until a header's date (an HTTP date, or any RFC 5322 date), at least 0; None if it isn't
    one. A date without a zone, or with ``-0000`` (RFC 5322 §3.3: "no information about the local time zone"),
    is taken as UTC, which the email package leaves to its caller."""
    try:
        when = email.utils.parsedate_to_datetime(value or "")
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _refused(error: requests.ConnectionError) -> bool:
    """True when the connection was never made (nothing was sent)."""
    text = repr(error)
    return any(marker in text for marker in ("NewConnectionError", "ConnectionRefused", "Failed to establish"))
