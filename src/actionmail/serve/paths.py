"""Where the service answers: the path of ``[email] unsubscribe_url``, read from the same setting the emails are
made from, so that what is sent and what is served cannot drift apart."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from actionmail.errors import UsageError

_MARK = "ACTIONMAILTOKEN0"  # stands for {token} while the URL is taken apart: URL-safe, and in no real URL


@dataclass(frozen=True)
class UnsubscribePath:
    """``https://www.example.org/unsubscribe/{token}`` is answered at ``/unsubscribe/…``; the token is what is
    between :attr:`prefix` and :attr:`suffix` of the path, or the value of the query parameter :attr:`query`."""

    url: str  # the setting, e.g. "https://www.example.org/unsubscribe/{token}"
    origin: str  # "https://www.example.org": where the page's own forms come from
    prefix: str  # the path before the token ("/unsubscribe/"), or the whole path when the token is in the query
    suffix: str = ""
    query: str | None = None

    @classmethod
    def parse(cls, url: str) -> UnsubscribePath:
        if url.count("{token}") != 1:
            raise _problem(url, "{token} must be in it once")
        parts = urllib.parse.urlsplit(url.replace("{token}", _MARK))
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        path = urllib.parse.unquote(parts.path) or "/"
        if _MARK in path:
            prefix, suffix = path.split(_MARK)
            return cls(url, origin, prefix, suffix)
        for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            if value == _MARK:
                return cls(url, origin, path, query=name)
        raise _problem(url, "{token} must be a part of the path, or a query parameter's whole value")

    @property
    def route(self) -> str:
        """The path the application routes (Starlette's syntax): everything under the prefix."""
        return self.prefix if self.query is not None else f"{self.prefix}{{rest:path}}"

    @property
    def pattern(self) -> str:
        """The path with ``{token}`` in it, as the command shows it: ``/unsubscribe/{token}``."""
        return (
            f"{self.prefix}?{self.query}={{token}}"
            if self.query is not None
            else f"{self.prefix}{{token}}{self.suffix}"
        )

    def token(self, rest: str | None, query: dict[str, str]) -> str | None:
        """The token in a request's path (what the route matched as ``rest``) or query; None if not there."""
        if self.query is not None:
            return query.get(self.query)
        if rest is None or not rest.endswith(self.suffix):
            return None
        return rest[: len(rest) - len(self.suffix)] if self.suffix else rest

    def masked(self, path: str) -> str:
        """``path`` for a log line: the token (or whatever stands in its place) cut to its first characters."""
        if self.query is None and path.startswith(self.prefix) and len(path) > len(self.prefix):
            return self.prefix + mask(path[len(self.prefix) :])
        # A part as long as a token may be one (a sign-up's confirmation link is "/signup/confirm/<id>-<mac>"),
        # or shaped like a member's (a report link's).
        return "/".join(mask(part) if _secret(part) else part for part in path.split("/"))


@dataclass(frozen=True)
class SignupPath:
    """``[signup] url`` (default: ``/signup`` on the unsubscribe URL's host): the form at its path, the
    confirmation links under ``…/confirm/``, the snippet for the organization's website at ``…/snippet``."""

    url: str  # the public address, e.g. "https://www.example.org/signup": the snippet posts there, links go under it
    origin: str  # "https://www.example.org": where the confirmation page's own form comes from
    prefix: str  # "/signup": where the service answers

    @classmethod
    def parse(cls, url: str | None, unsubscribe: UnsubscribePath) -> SignupPath:
        if url is None:
            return cls(unsubscribe.origin + "/signup", unsubscribe.origin, "/signup")
        parts = urllib.parse.urlsplit(url)
        path = urllib.parse.unquote(parts.path).rstrip("/")
        if parts.query or parts.fragment or not path or "{" in path:
            raise UsageError(
                f"actionmail.toml: signup.url: '{url}': the sign-up page needs a path of its own, with no query: "
                'write it like "https://www.example.org/signup"'
            )
        return cls(url.rstrip("/"), f"{parts.scheme}://{parts.netloc}".lower(), path)

    def confirm_url(self, token: str) -> str:
        return f"{self.url}/confirm/{token}"


# A member's token (a report link's, say: /act/{token}/…): an id, a dot and a MAC. One for a low id is short
# enough to pass for any other part of a path, so it is recognised by its shape.
_TOKEN_SHAPED = re.compile(r"[0-9]+\.[A-Za-z0-9_-]{8,}")


def _secret(part: str) -> bool:
    """Whether a part of a path may be a token or an address, to be cut short in the log."""
    return "@" in part or len(part) >= 20 or _TOKEN_SHAPED.fullmatch(part) is not None


def mask(text: str) -> str:
    """The first three characters of a token, an address or anything else a log must not hold in full."""
    return text if len(text) <= 3 else text[:3] + "…"


def _problem(url: str, what: str) -> UsageError:
    return UsageError(
        f"actionmail.toml: email.unsubscribe_url: '{url}': {what} for actionmail serve to answer it: write it like "
        '"https://www.example.org/unsubscribe/{token}"'
    )
