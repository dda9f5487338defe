"""What the two web servers (``actionmail preview`` and ``actionmail serve``) hold a request to, whatever serves it.

- :func:`body_length` — a request's Content-Length, strictly parsed and capped, or why the request is refused.
- :func:`is_loopback` — whether a host to serve on keeps a server on this machine.

Nothing here knows about http.server, Starlette or uvicorn.
"""

from __future__ import annotations

import ipaddress
import re
from http import HTTPStatus

# A body bigger than this is not from either server's own pages (a test send's address; an unsubscribe form).
MAX_BODY = 64 * 1024
_DIGITS = re.compile(r"[0-9]{1,18}")


class Refused(Exception):
    """A request a server won't read: the status to answer with, and why."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def body_length(content_length: list[str], transfer_encoding: str | None, limit: int = MAX_BODY) -> int:
    """How many bytes of body to read, from a request's Content-Length headers; :class:`Refused` if none can be.

    Strict, as h11 is: digits only (no sign, no spaces inside), one value, at most ``limit``.
    """
    if transfer_encoding is not None:
        # Neither server's pages stream a body; http.server can't read a chunked one, and would read the chunks as
        # the next request.
        raise Refused(HTTPStatus.NOT_IMPLEMENTED, "Transfer-Encoding is not accepted: send a Content-Length")
    values = {value.strip() for value in content_length}
    if not values:
        return 0
    if len(values) > 1:
        raise Refused(HTTPStatus.BAD_REQUEST, "more than one Content-Length")
    (value,) = values
    if not _DIGITS.fullmatch(value):
        raise Refused(HTTPStatus.BAD_REQUEST, "Content-Length is not a number of bytes")
    length = int(value)
    if length > limit:
        raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a body over {limit // 1024} KB is not accepted")
    return length


def is_loopback(host: str) -> bool:
    """Does serving on ``host`` keep a server on this machine?"""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # another name: it may well reach beyond this machine
