"""One recipient's complete message as MIME, for the providers that take whole messages (SMTP, SES, the outbox).

Built with the standard library's ``email`` package (RFC 5322 headers, RFC 2047 encoded words for non-ASCII
names and subjects, quoted-printable or base64 bodies as the content needs), so nothing here is hand-encoded.
"""

from __future__ import annotations

import datetime as dt
import email.headerregistry
import email.policy
import email.utils
import re
from email.message import EmailMessage, MIMEPart

from actionmail.providers.base import Batch, Recipient

TAG_HEADER = "X-Actionmail-Tag"  # the newsletter (Envelope.tag), for filtering at the provider and in mailboxes
SEND_HEADER = "X-Actionmail-Send"  # the send in our ledger (Envelope.send_id), to match bounces to it

_NEWLINES = re.compile(r"[\r\n]+")


class _URIList(email.headerregistry.UnstructuredHeader, email.headerregistry.BaseHeader):
    """List-Unsubscribe, a list of ``<URI>``s, folded only between them.

    The default folding rewrites a word longer than a line (any real unsubscribe URL) as RFC 2047 encoded words,
    which mailbox providers don't decode in this header: their one-click button would be gone (RFC 2369 §2 wants
    each URI as it is). A line may be up to 998 characters (RFC 5322 §2.1.1).
    """

    def fold(self, *, policy: email.policy.Policy) -> str:
        value = str(self)
        if not value.isascii():
            return super().fold(policy=policy)
        return f"{self.name}: " + f",{policy.linesep} ".join(re.split(r"(?<=>)\s*,\s*", value)) + policy.linesep


_headers = email.headerregistry.HeaderRegistry()
_headers.map_to_type("list-unsubscribe", _URIList)
# 7-bit bodies (quoted-printable, or base64 where shorter), so any relay takes them, 8BITMIME or not.
POLICY = email.policy.default.clone(header_factory=_headers, cte_type="7bit")
"""email's default policy with the two changes above; ``\\n`` line ends, as for a file."""
WIRE = POLICY.clone(linesep="\r\n")
"""The same with CRLF line ends, as SMTP and SES's raw messages want: ``message(...).as_bytes(policy=WIRE)``."""


def sender(batch: Batch) -> str:
    """The bare From address: the SMTP envelope sender (MAIL FROM)."""
    return email.utils.parseaddr(batch.envelope.from_)[1]


def message(batch: Batch, recipient: Recipient) -> EmailMessage:
    """The message ``recipient`` gets: multipart/alternative, text then HTML (the last part is the preferred one,
    RFC 2046 §5.1.4), both UTF-8, with every header a list message needs."""
    subject, html, text = batch.content(recipient)
    envelope = batch.envelope
    msg = EmailMessage(policy=POLICY)
    # A line break inside a header value would end the header (and email raises on it): a merge value such as
    # a subscriber's name must never be able to add a header of its own.
    msg["From"] = _one_line(envelope.from_)
    # batch.to() is right for JSON APIs, but its RFC 2047 form of a non-ASCII name would be decoded here and
    # written back unquoted ("Zoë <Q>" then swallows the address): build the address from its parts instead.
    msg["To"] = email.headerregistry.Address(_one_line(recipient.name or ""), addr_spec=recipient.email)
    if envelope.reply_to:
        msg["Reply-To"] = _one_line(envelope.reply_to)
    msg["Subject"] = _one_line(subject)
    msg["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    # Set here rather than by the relay, so our ledger can match bounces and complaints to this message.
    msg["Message-ID"] = email.utils.make_msgid(domain=sender(batch).rpartition("@")[2] or None)
    for name, value in batch.headers(recipient).items():
        msg[name] = _one_line(value)
    msg[TAG_HEADER] = _one_line(envelope.tag)
    msg[SEND_HEADER] = _one_line(envelope.send_id)
    msg["MIME-Version"] = "1.0"
    msg.make_alternative()
    for content, subtype in ((text, "plain"), (html, "html")):
        part = MIMEPart(policy=POLICY)  # not msg.add_alternative: its parts would each get a MIME-Version
        part.set_content(content, subtype=subtype, charset="utf-8")
        msg.attach(part)  # type: ignore[arg-type]  # typeshed asks for an EmailMessage; any MIMEPart will do
    return msg


def _one_line(value: str) -> str:
    return _NEWLINES.sub(" ", value).strip()
