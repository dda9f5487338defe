"""One recipient's complete message as MIME, for the providers that take whole messages (SMTP, SES, the outbox).

Built with the standard library's ``email`` package (RFC 5322 headers, RFC 2047 encoded words for non-ASCII
names and subjects, quoted-printable or base64 bodies as the content needs), so nothing here is hand-encoded.
"""

from __future__ import annotations

import datetime as dt
import email.errors
import email.header
import email.headerregistry
import email.policy
import email.utils
import re
from email.message import EmailMessage, MIMEPart

from actionmail.providers.base import Batch, Recipient, header_text

# RFC 5322 specials and whitespace at either end: a display name with any of them is written as a quoted string.
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]|^\s|\s$')
TAG_HEADER = "X-Actionmail-Tag"  # the newsletter (Envelope.tag), for filtering at the provider and in mailboxes
SEND_HEADER = "X-Actionmail-Send"  # the send in our ledger (Envelope.send_id), to match bounces to it


class UnsafeHeader(ValueError):
    """A message whose headers would not be the ones we wrote (a value that reads as a header of its own, or an
    address the email package cannot write). The provider reports its recipient as refused, with this reason."""


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


# The ignore below: typeshed's AddressHeader.init and BaseHeader.init differ; email's registry combines them so.
class _Mailboxes(email.headerregistry.AddressHeader, email.headerregistry.BaseHeader):  # type: ignore[misc]
    """To: each address written whole, its display name quoted or RFC 2047-encoded by us.

    The default folding takes a display name longer than a line apart into atoms and drops its quotes: a long
    name holding ``: a@evil.example`` (a member's name, say) then reads as that address (found by the fuzz test
    in tests/test_send_headers.py). Here a name that needs quotes is quoted, and one that is not ASCII, or too
    long for one line, is written as encoded words (email.header folds them safely, between words).
    """

    def fold(self, *, policy: email.policy.Policy) -> str:
        written = []
        for address in self.addresses:
            name, spec = address.display_name, address.addr_spec
            if not spec.isascii():  # SMTPUTF8 addresses: the email package's own way
                return super().fold(policy=policy)
            if not name:
                written.append(spec)
                continue
            phrase = name if not _SPECIALS.search(name) else email.utils.quote(name).join('""')
            if not name.isascii() or len(self.name) + len(phrase) + len(spec) > 900:
                header = email.header.Header(name, "utf-8", maxlinelen=78, header_name=self.name)
                phrase = header.encode(linesep=policy.linesep)
            written.append(f"{phrase} <{spec}>")
        return f"{self.name}: " + f",{policy.linesep} ".join(written) + policy.linesep


class _Subject(email.headerregistry.UnstructuredHeader, email.headerregistry.BaseHeader):
    """Subject: folded from its first line.

    The default folding moves a run of words that would fit on a continuation line to the next line whole, even
    from a first line that holds only ``Subject:``: a 76-character subject became ``Subject:`` and an empty first
    line (seen with Python 3.11; some clients then show the subject starting with a space). An ASCII subject is
    folded by the email package's Header instead, which fills each line, the first one too, and breaks after a
    comma or at a space; a subject with non-ASCII words keeps the default, which writes those words as RFC 2047
    encoded words and can always split one to start on the first line.
    """

    def fold(self, *, policy: email.policy.Policy) -> str:
        value = str(self)
        folded = super().fold(policy=policy)
        if not value.isascii() or not folded.startswith(f"{self.name}:{policy.linesep}"):
            return folded
        width = policy.max_line_length or 78
        header = email.header.Header(value, "us-ascii", maxlinelen=width, header_name=self.name)
        return f"{self.name}: {header.encode(linesep=policy.linesep)}{policy.linesep}"


_headers = email.headerregistry.HeaderRegistry()
_headers.map_to_type("list-unsubscribe", _URIList)
_headers.map_to_type("subject", _Subject)
_headers.map_to_type("to", _Mailboxes)
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
    # Every value goes through header_text: a line break inside a header value would end the header, and so
    # would one inside an encoded word, which the email package decodes (see header_text). A merge value such as
    # a subscriber's name must never be able to add a header of its own; encode() checks that none did.
    msg["From"] = header_text(envelope.from_)
    # batch.to() is right for JSON APIs, but its RFC 2047 form of a non-ASCII name would be decoded here and
    # written back unquoted ("Zoë <Q>" then swallows the address): build the address from its parts instead.
    try:
        msg["To"] = email.headerregistry.Address(batch.name(recipient) or "", addr_spec=recipient.email)
    except (ValueError, IndexError, email.errors.HeaderParseError):
        raise UnsafeHeader(f"the address {recipient.email!r} cannot be written in a To header") from None
    if envelope.reply_to:
        msg["Reply-To"] = header_text(envelope.reply_to)
    msg["Subject"] = subject  # batch.content made it safe
    msg["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    # Set here rather than by the relay, so our ledger can match bounces and complaints to this message.
    msg["Message-ID"] = email.utils.make_msgid(domain=sender(batch).rpartition("@")[2] or None)
    for name, value in batch.headers(recipient).items():
        msg[name] = value  # batch.headers made them safe
    msg[TAG_HEADER] = header_text(envelope.tag)
    msg[SEND_HEADER] = header_text(envelope.send_id)
    msg["MIME-Version"] = "1.0"
    msg.make_alternative()
    for content, subtype in ((text, "plain"), (html, "html")):
        part = MIMEPart(policy=POLICY)  # not msg.add_alternative: its parts would each get a MIME-Version
        part.set_content(content, subtype=subtype, charset="utf-8")
        msg.attach(part)  # type: ignore[arg-type]  # typeshed asks for an EmailMessage; any MIMEPart will do
    return msg


def encode(msg: EmailMessage, policy: email.policy.Policy = POLICY) -> bytes:
    """``msg`` as bytes, once its header block is checked to hold the headers set on it and no others.

    header_text keeps injected headers out; this makes sure of it whatever the email package's version does when
    it folds (a header line is only ever a header we set, or the continuation of one), and raises
    :class:`UnsafeHeader` rather than let a message with a header of a member's making go out.
    """
    data = msg.as_bytes(policy=policy)
    linesep = policy.linesep.encode()
    head = data.split(linesep * 2, 1)[0]
    starts = [line.split(b":", 1)[0].lower() for line in head.split(linesep) if line[:1] not in (b" ", b"\t")]
    if starts != [name.lower().encode() for name in msg]:
        raise UnsafeHeader("a value in this message would have added a header of its own: not sent")
    return data
