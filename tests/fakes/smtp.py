"""A real SMTP server (aiosmtpd) on 127.0.0.1 with STARTTLS or implicit TLS and AUTH, for the smtp provider.

Recipients choose how they are answered by their local part (providers.md §9 on aiosmtpd's hooks):

- ``bad…@``: ``550 5.1.1`` at RCPT (refused for good); ``later…@``: ``451 4.3.0`` at RCPT (not now);
- ``spam…@``: ``554 5.6.0`` after DATA (the message refused); ``slow…@``: ``451 4.4.2`` after DATA;
- ``vanish…@``: the connection is closed after the message was read, before the server answers.

Every message taken is kept in :attr:`SMTPServer.delivered`, parsed; :attr:`SMTPServer.connections` counts the
distinct connections that sent mail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.parser
import email.policy
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as Server
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

USER, PASSWORD = "action", "correct horse battery staple"


@dataclass(frozen=True)
class Certificates:
    ca: Path  # what a client must trust
    cert: Path  # the server's chain (leaf, for localhost and 127.0.0.1)
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificates(directory: Path) -> Certificates:
    """A throw-away CA and a server certificate it signed, valid for a day; EC keys, so it takes milliseconds."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "actionmail test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = Certificates(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def free_port() -> int:
    # aiosmtpd 1.4.6's Controller can't take port=0: its readiness probe connects to port 0 (providers.md §9).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SMTPServer:
    """The handler (aiosmtpd calls its ``handle_*`` hooks) and what it saw."""

    delivered: list[Delivered] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)  # one per connection that sent MAIL FROM
    logins: list[tuple[str, str]] = field(default_factory=list)
    busy: int = 0  # answer this many MAIL FROMs with 421, as SES does for too many connections
    controller: Controller | None = None

    @property
    def connections(self) -> int:
        return len(self.servers)

    def kick(self) -> None:
        """Close every connection from the server's side, as a relay does to idle ones."""
        assert self.controller is not None
        for server in self.servers:
            if server.transport is not None:
                self.controller.loop.call_soon_threadsafe(server.transport.close)

    # --- aiosmtpd hooks -----------------------------------------------------------------------------------
    def authenticate(self, server: Server, session: Session, envelope: Envelope, mechanism: str, data: Any) -> Any:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)  # False: aiosmtpd answers 535

    async def handle_MAIL(
        self, server: Server, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.busy:
            self.busy -= 1
            return "421 4.7.0 Too many concurrent SMTP connections"
        if all(server is not seen for seen in self.servers):
            self.servers.append(server)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Server, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("bad"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("later"):
            return "451 4.3.0 Temporary service failure"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Server, session: Session, envelope: Envelope) -> str:
        first = envelope.rcpt_tos[0]
        if first.startswith("spam"):
            return "554 5.6.0 Message rejected: content"
        if first.startswith("slow"):
            return "451 4.4.2 Timeout waiting for data from client"
        assert isinstance(envelope.content, bytes) and isinstance(envelope.mail_from, str)
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), message))
        if first.startswith("vanish"):
            assert server.transport is not None
            server.transport.abort()
            await asyncio.sleep(0)
        return "250 2.0.0 Ok: queued"


def start(handler: SMTPServer, certificates: Certificates, *, implicit_tls: bool) -> Controller:
    """Listen on 127.0.0.1: STARTTLS required before AUTH, or TLS from the first byte (SMTPS)."""
    context = certificates.server_context()
    tls: dict[str, Any]
    if implicit_tls:
        # aiosmtpd doesn't see the outer TLS layer, so it must not ask for STARTTLS before AUTH (aiosmtpd#281).
        tls = {"ssl_context": context, "auth_require_tls": False}
    else:
        tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=handler.authenticate,
        auth_required=True,
        ready_timeout=5.0,
        **tls,
    )
    handler.controller = controller
    controller.start()
    return controller
