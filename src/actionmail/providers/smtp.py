"""SMTP: one message per recipient, each over a connection kept open per sending thread.

Any mail server or provider relay takes it (SES, Resend, Brevo, Postmark and SendGrid all have one). SMTP has
no batch templating, so every recipient's message is built whole (:mod:`actionmail.providers.mime`).

A batch is one recipient (``max_batch = 1``): the engine retries or fails a batch as a whole, and SMTP has no
idempotency key, so a batch of many messages failing at its tenth (say, ``454 Throttling failure``) would have
its first nine resent. With one message a batch, each outcome is exactly that recipient's. Connections are
still reused across batches: the engine calls :meth:`SMTP.send` from several threads, and each thread keeps
its own connection (smtplib's ``SMTP`` is not thread-safe).

Reference: providers.md §9 (smtplib practice, verified locally; SES SMTP reply codes from AWS's docs).
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from collections.abc import Mapping
from typing import ClassVar

from actionmail.config.providers import SMTP_PASSWORD, ProviderSettings, SMTPSettings
from actionmail.providers import mime
from actionmail.providers.base import Batch, BatchResult, Provider, ProviderError

PASSWORD = SMTP_PASSWORD


class SMTP(Provider):
    name = "smtp"
    max_batch = 1  # see the module docstring: one message, one outcome
    settings_model: ClassVar[type[ProviderSettings]] = SMTPSettings
    settings: SMTPSettings
    idle_check: ClassVar[float] = 5.0  # seconds unused after which a connection is checked (NOOP) before reuse

    def __init__(self, settings: ProviderSettings, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(settings, environ)
        self._local = threading.local()  # .conn and .used: this thread's connection and when it last worked
        self._open: set[smtplib.SMTP] = set()  # every thread's connection, for close()
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None

    def send(self, batch: Batch) -> BatchResult:
        if len(batch.recipients) > self.max_batch:
            raise ProviderError(self.name, f"{len(batch.recipients)} recipients in one batch; at most {self.max_batch}")
        if batch.envelope.send_at is not None:
            raise ProviderError(self.name, "SMTP cannot schedule delivery: send without a delivery time")
        result = BatchResult()
        for recipient in batch.recipients:
            try:
                message = mime.message(batch, recipient)
                data = mime.encode(message, mime.WIRE)
            except mime.UnsafeHeader as e:
                result.rejected[recipient.key] = str(e)
                continue
            refused = self._deliver(mime.sender(batch), recipient.email, data)
            if refused:
                result.rejected[recipient.key] = refused
            else:
                result.accepted[recipient.key] = str(message["Message-ID"])
        return result

    def close(self) -> None:
        with self._lock:
            connections, self._open = self._open, set()
        for conn in connections:
            _quit(conn)

    # --- one message --------------------------------------------------------------------------------------
    def _deliver(self, sender: str, address: str, data: bytes) -> str | None:
        """Send ``data`` to ``address``; None when accepted, the server's words when it refused the address."""
        if not address.isascii():
            return "a non-ASCII address needs SMTPUTF8, which actionmail does not use"
        for attempt in (1, 2):
            conn = self._connection()
            in_data = False
            try:
                code, reply = conn.mail(sender)
                if code == 421 and attempt == 1:  # the server is closing this connection: open another
                    self._discard(conn)
                    continue
                if code != 250:
                    raise self._refused(conn, "refused the sender", sender, code, reply)
                code, reply = conn.rcpt(address)
                if code >= 500:  # this address, for good: 550 5.1.1 no such user, etc.
                    conn.rset()
                    return f"{code} {reply.decode(errors='replace')}"
                if code not in (250, 251):
                    raise self._refused(conn, "refused the recipient for now", address, code, reply)
                in_data = True
                code, reply = conn.data(data)  # raises SMTPDataError if DATA itself is refused
            except smtplib.SMTPDataError as e:
                raise self._refused(conn, "refused the message", address, e.smtp_code, e.smtp_error) from None
            except (smtplib.SMTPServerDisconnected, OSError) as e:
                self._discard(conn)
                if in_data:  # the message may have been taken before the line dropped
                    what = "no answer in time" if isinstance(e, TimeoutError) else "connection lost"
                    raise ProviderError(
                        self.name, f"{what} after sending a message", transient=True, maybe_sent=True
                    ) from None
                if attempt == 2 or isinstance(e, TimeoutError):
                    raise ProviderError(self.name, f"connection lost: {e}", transient=True) from None
                continue  # an idle connection the server had closed: nothing was sent, so once more
            if code != 250:
                raise self._refused(conn, "refused the message", address, code, reply)
            self._local.used = time.monotonic()
            return None
        raise AssertionError("unreachable")  # pragma: no cover

    def _refused(self, conn: smtplib.SMTP | None, what: str, whom: str, code: int, reply: bytes | str) -> ProviderError:
        """4xx: not now (SES: 454 Throttling failure); 5xx: not ever, for this message or sender."""
        if conn is not None:
            if code == 421:  # "closing transmission channel" (RFC 5321 §3.8): this connection is done
                self._discard(conn)
            else:
                try:
                    conn.rset()  # ready for the next message
                except (smtplib.SMTPException, OSError):
                    self._discard(conn)
        text = _text(reply)
        return ProviderError(self.name, f"the server {what} ({whom}): {code} {text}", transient=400 <= code < 500)

    # --- connections --------------------------------------------------------------------------------------
    def _connection(self) -> smtplib.SMTP:
        conn: smtplib.SMTP | None = getattr(self._local, "conn", None)
        if conn is not None and time.monotonic() - self._local.used > self.idle_check:
            try:
                alive = conn.noop()[0] == 250
            except (smtplib.SMTPException, OSError):
                alive = False
            if not alive:
                self._discard(conn)
                conn = None
        if conn is None:
            conn = self._connect()
            self._local.conn, self._local.used = conn, time.monotonic()
            with self._lock:
                self._open.add(conn)
        return conn

    def _discard(self, conn: smtplib.SMTP) -> None:
        with self._lock:
            self._open.discard(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        conn.close()  # no QUIT: the connection is broken, or the server is ending it

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        password = self.secret(PASSWORD, what="SMTP password") if s.username else None
        context = self._tls() if s.security != "none" else None
        conn: smtplib.SMTP | None = None
        where = f"{s.host}:{s.port or (465 if s.security == 'tls' else 587)}"
        try:
            if s.security == "tls":
                conn = smtplib.SMTP_SSL(s.host, s.port or 465, timeout=s.timeout, context=context)
            else:
                conn = smtplib.SMTP(s.host, s.port or 587, timeout=s.timeout)
            conn.ehlo()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise ProviderError(self.name, f"{where} does not offer STARTTLS: it won't be used unencrypted")
                # Always with our verifying context: without one, smtplib skips certificate checks (§9).
                conn.starttls(context=context)
                conn.ehlo()  # the capabilities (AUTH among them) change once TLS is up
            if s.username and password:
                conn.login(s.username, password)
            return conn
        except ProviderError:
            _close(conn)
            raise
        except ssl.SSLCertVerificationError as e:
            _close(conn)
            raise ProviderError(
                self.name,
                f"{where}'s certificate is not trusted ({e.verify_message}): "
                "if it is signed by your own CA, set ca_file in [providers.smtp]",
            ) from None
        except smtplib.SMTPAuthenticationError as e:
            _close(conn)
            raise ProviderError(
                self.name,
                f"{where} refused the login ({e.smtp_code} {_text(e.smtp_error)}): "
                f"check username in [providers.smtp] and {PASSWORD}",
            ) from None
        except smtplib.SMTPNotSupportedError:
            _close(conn)
            raise ProviderError(
                self.name, f"{where} offers no login (AUTH): remove username, or check security"
            ) from None
        except smtplib.SMTPResponseException as e:
            _close(conn)
            raise self._refused(None, "refused the connection", where, e.smtp_code, e.smtp_error) from None
        except (smtplib.SMTPException, OSError) as e:
            _close(conn)
            raise ProviderError(self.name, f"could not connect to {where}: {e}", transient=True) from None

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            try:
                self._context = ssl.create_default_context(cafile=self.settings.ca_file)
            except (OSError, ssl.SSLError) as e:
                raise ProviderError(self.name, f"cannot read ca_file {self.settings.ca_file}: {e}") from None
        return self._context


def _quit(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


def _close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        conn.close()


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
