"""What keeps the preview to its organizer: a per-run secret in the address it prints, and limits on what a
connection may send and for how long.

Nothing here knows about http.server. What ``actionmail serve`` shares with the preview is in
:mod:`actionmail.httpguard`.

- :class:`Access` — the secret. As Jupyter does it: the command prints ``http://localhost:8000/?token=…``; the first
  request with it gets a cookie (HttpOnly, SameSite=Strict), which the page's own requests (its script's fetches, its
  event stream, its frames) then carry. Another local user, or a web page in the organizer's browser, has neither,
  so it can't read members' data or live unsubscribe links, or make the preview send mail.
- :func:`body_length` — a request's Content-Length, or why the request is refused (never a traceback); it lives in
  :mod:`actionmail.httpguard`, which ``actionmail serve`` shares.
- :class:`DeadlineReader` — a socket reader that gives up once a request has taken too long to arrive, however
  slowly its bytes trickle in (slowloris), where a plain socket timeout would only bound each wait.
"""

from __future__ import annotations

import hmac
import io
import math
import secrets
import socket
import time
from dataclasses import dataclass, field

from actionmail.httpguard import MAX_BODY, Refused, body_length

__all__ = ["FORBIDDEN_MESSAGE", "FORBIDDEN_PAGE", "MAX_BODY", "Access", "DeadlineReader", "Refused", "body_length"]


@dataclass(frozen=True)
class Access:
    """The secret that opens the preview, and the cookie that keeps it open in the browser."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def cookie_name(self) -> str:
        # Cookies are per host, not per port: two previews on one machine each need a name of their own.
        return f"actionmail-preview-{self.port}"

    def cookie(self) -> str:
        """The Set-Cookie value: not readable by scripts, and never sent with a request another site starts."""
        return f"{self.cookie_name}={self.token}; Path=/; HttpOnly; SameSite=Strict"

    def matches(self, candidate: str | None) -> bool:
        """Is ``candidate`` the secret? Compared in constant time, so timing gives nothing away."""
        if candidate is None:
            return False
        return hmac.compare_digest(candidate.encode("utf-8", "replace"), self.token.encode())

    def from_cookies(self, header: str | None) -> str | None:
        """This preview's cookie in a Cookie header (which may hold other sites' junk on localhost)."""
        for part in (header or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie_name:
                return value.strip().strip('"')
        return None


FORBIDDEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>actionmail preview</title></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40em; margin: 3em auto">
<h1>Open the address the preview printed</h1>
<p>This preview opens only with the address that <code>actionmail preview</code> printed in its terminal, the one
ending in <code>?token=…</code>. Open that address (copy it from the terminal); this browser is then let in until
it closes, or until the preview is started again, which prints a new one.</p>
</body></html>
"""
FORBIDDEN_MESSAGE = "open the address that actionmail preview printed (it ends in ?token=…)"


class DeadlineReader(io.RawIOBase):
    """Reads a socket until :attr:`deadline` (time.monotonic), then raises TimeoutError.

    A socket timeout alone bounds each wait for bytes, so a client sending one byte a second keeps a connection
    (and, in a threading server, a thread) forever. Here each wait is given only what is left of the time the
    whole request may take. Writes are left with ``write_timeout``: a browser that stops reading is let go too.
    """

    def __init__(self, connection: socket.socket, write_timeout: float) -> None:
        super().__init__()
        self.connection = connection
        self.write_timeout = write_timeout
        self.deadline = math.inf

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request took too long to arrive")
        self.connection.settimeout(min(remaining, 3600.0))
        try:
            return self.connection.recv_into(buffer)
        finally:
            self.connection.settimeout(self.write_timeout)
