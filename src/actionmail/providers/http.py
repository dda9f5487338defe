"""The shared part of HTTP providers: one pooled requests session, and failures sorted the same way for all.

A failure is *transient* when waiting may help (429, 5xx, connection trouble) and *maybe sent* when the
request may have reached the provider before it failed (the connection broke or timed out after the body was
sent). The engine retries transient failures; a maybe-sent one it retries only with an idempotency key.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any, ClassVar

import requests
import requests.adapters
import urllib3.exceptions

from actionmail import __version__
from actionmail.config.providers import HTTPSettings, ProviderSettings
from actionmail.providers.base import Provider, ProviderError

# A page of a pull larger than this is not one (a page of 1,000 records is some hundreds of KB).
MAX_PAGE_BYTES = 32 * 2**20


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
        return self.request("POST", self.url(path), **kwargs)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Make a call and return its 2xx response; raise ProviderError, sorted, for anything else."""
        # Never follow a redirect: requests strips only Authorization on the way to another host, so custom auth
        # headers (X-Postmark-Server-Token, api-key) would go along; and a 301/302 turns the POST into a GET
        # whose 200 page would read as success.
        kwargs.setdefault("allow_redirects", False)
        try:
            response = self.session.request(method, url, timeout=self.settings.timeout, **kwargs)
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
        if kwargs.get("stream"):  # an error's body is read whole below: not a hostile server's gigabyte
            _read_some(response)
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

    def get_json(self, path_or_url: str, what: str, **kwargs: Any) -> Any:
        """GET a page of a pull and return its JSON; ``path_or_url`` is a path under base_url, or a URL the API
        gave (a ``next`` page), which must be on base_url's own scheme, host and port: the API key goes along.

        The body is read up to :data:`MAX_PAGE_BYTES`; one that is larger, or not JSON, is a ProviderError.
        """
        if "://" in path_or_url:
            url = path_or_url
            if _origin(url) != _origin(self.settings.base_url):
                raise ProviderError(
                    self.name, f"{what}: the API named a next page on another host ({_origin(url)}); not followed"
                )
        else:
            url = self.url(path_or_url)
        response = self.request("GET", url, stream=True, **kwargs)
        try:
            body = response.raw.read(MAX_PAGE_BYTES + 1, decode_content=True)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
            raise ProviderError(self.name, f"{what}: connection dropped: {type(e).__name__}", transient=True) from None
        finally:
            response.close()
        if len(body) > MAX_PAGE_BYTES:
            raise ProviderError(self.name, f"{what}: a page over {MAX_PAGE_BYTES // 2**20} MiB; not read")
        try:
            return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ProviderError(
                self.name, f"{what}: the answer is not JSON: check base_url", status=response.status_code
            ) from None

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


def reading(response: requests.Response) -> bool:
    """Whether the refused call was a read (a pull's GET), which a key allowed only to send may not make."""
    return response.request.method == "GET"


def _refused(error: requests.ConnectionError) -> bool:
    """True when the connection was never made (nothing was sent)."""
    text = repr(error)
    return any(marker in text for marker in ("NewConnectionError", "ConnectionRefused", "Failed to establish"))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:  # a port that is not a number
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _read_some(response: requests.Response, limit: int = 64 * 1024) -> None:
    """Read at most ``limit`` bytes of a streamed response as its content, and let the rest go."""
    try:
        response._content = response.raw.read(limit, decode_content=True) or b""
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        response._content = b""
    response.close()


def _no_constant(name: str) -> Any:
    raise ValueError(name)
