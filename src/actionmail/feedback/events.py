"""The normalised event: what a provider says happened to one message for one recipient.

Every provider's names map onto :class:`Kind` in that provider's module (``classify``), the one place each
mapping lives; ``subscribers suppress FILE`` (feedback/files.py) reads saved payloads through the same
functions, so a file and a webhook can never disagree about what an event means.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Kind(enum.StrEnum):
    """What an event means for the member and for the ledger."""

    ACCEPTED = "accepted"  # the provider took the message to deliver it (queued, processed, sent, scheduled)
    DELIVERED = "delivered"  # the receiving server accepted it
    DEFERRED = "deferred"  # a delay: the provider is still retrying (not a bounce, never counted as one)
    SOFT_BOUNCE = "soft_bounce"  # the provider gave up for a reason that may pass (mailbox full, a block)
    HARD_BOUNCE = "hard_bounce"  # the address does not work: suppress it
    COMPLAINT = "complaint"  # the member reported the message as spam: suppress and unsubscribe
    UNSUBSCRIBE = "unsubscribe"  # the member unsubscribed through the provider
    FAILED = "failed"  # the provider did not send it, for a reason that is not the address (policy, error)
    OTHER = "other"  # opens, clicks, reactivations, anything not named above


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    """One provider event about one recipient of one message."""

    provider: str  # "mailgun", "sendgrid", "postmark", "ses", "resend", "brevo"
    kind: Kind
    event: str  # the provider's own name for it, e.g. "failed/permanent", "Bounce/HardBounce" (shortened)
    recipient: str | None  # as the provider wrote it (stripped); the caller normalises and matches it
    at: dt.datetime | None  # when it happened, in UTC, if the provider said in a form we could read
    message_id: str | None  # the provider's id of the message (what the send recorded as accepted)
    send_id: str | None  # our send (Envelope.send_id), where the message carried it back
    tag: str | None  # our batch tag (Envelope.tag: the newsletter), where it came back
    dedupe_key: str  # the same event delivered twice has the same key: apply each key once
    reason: str | None  # the provider's words (SMTP reply, description), shortened to one line


def same_message(provider: str, accepted: str, reported: str | None) -> bool:
    """Whether an event's ``message_id`` is the message whose id the send recorded when the provider accepted it.

    Mailgun's API answers ``<id@domain>`` and its events say ``id@domain``; SendGrid's ``X-Message-Id`` is the
    start of each event's ``sg_message_id`` (``<X-Message-Id>.filter…``, SendGrid's glossary); the others
    (Postmark ``MessageID``, SES ``messageId``, Resend ``email_id``, Brevo ``message-id``) repeat it as it was.
    """
    if not reported or not accepted:
        return False
    if provider == "mailgun":
        return accepted.strip().strip("<>") == reported.strip().strip("<>")
    if provider == "sendgrid":
        return reported == accepted or reported.startswith(accepted + ".")
    return reported == accepted


# Ids that are safe to keep as they are in a dedupe key; anything else (long, odd characters) is hashed.
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:@<>+=/-]{1,200}")


def dedupe_key(provider: str, *parts: object) -> str:
    """``provider:ID`` for one plain id, else ``provider:#`` and a hash of the parts (bounded, printable)."""
    if len(parts) == 1 and isinstance(parts[0], str) and _PLAIN_ID.fullmatch(parts[0]):
        return f"{provider}:{parts[0]}"
    digest = hashlib.sha256(utf8("\x1f".join(repr(p) for p in parts))).hexdigest()
    return f"{provider}:#{digest[:40]}"


def list_entry(
    provider: str,
    kind: Kind,
    recipient: str,
    *,
    event: str,
    at: dt.datetime | None,
    reason: str | None,
    key: tuple[object, ...],
    message_id: str | None = None,
) -> FeedbackEvent:
    """An entry of one of a provider's suppression (or block) lists, as an event: about an address, not about one
    of our messages, so with no send or tag (and no message id, unless the list names the message that put the
    address there). ``key``: the entry's parts (which list, the address lowercased, when it was listed, as the
    provider gives them) for :func:`dedupe_key`, so that the entry read again in a later pass is applied once."""
    return FeedbackEvent(
        provider=provider,
        kind=kind,
        event=event,
        recipient=recipient,
        at=at,
        message_id=message_id,
        send_id=None,
        tag=None,
        dedupe_key=dedupe_key(provider, *key),
        reason=reason,
    )


def utf8(value: str) -> bytes:
    """``value`` as UTF-8, whatever it holds: JSON's ``"\ud800"`` and os.environ's undecodable bytes are lone
    surrogates, which a plain ``encode()`` raises on."""
    return value.encode("utf-8", "replace")


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def text(value: Any, limit: int = 1000) -> str | None:
    """A string field of hostile JSON: the value if it is a non-blank string (ids may come as numbers), else
    None; cut to ``limit`` characters so that one field cannot fill a log or a database."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = _SURROGATE.sub("\ufffd", value.strip())  # storable: SQLite and logs want valid UTF-8
    return value[:limit] or None


def address(value: Any) -> str | None:
    """A recipient as the provider wrote it, with any display name taken off (``Ana <ana@example.org>``)."""
    raw = text(value, 1000)
    if raw is None or "<" not in raw:
        return raw[:320] if raw else None
    return email.utils.parseaddr(raw)[1][:320] or None


def short(value: Any, limit: int = 200) -> str | None:
    """The provider's words as one line of at most ``limit`` characters, control characters removed."""
    if isinstance(value, list | tuple):  # Resend's diagnosticCode is a list of lines
        value = " ".join(v for v in value[:10] if isinstance(v, str))
    raw = text(value, 4 * limit)
    if raw is None:
        return None
    line = " ".join("".join(c if c.isprintable() else " " for c in raw).split())
    if not line:
        return None
    return line if len(line) <= limit else line[: limit - 1] + "…"


def obj(value: Any) -> Mapping[str, Any]:
    """A JSON object field, or an empty one if the field is anything else."""
    return value if isinstance(value, dict) else {}


def first_text(value: Any, limit: int = 1000) -> str | None:
    """A string, or the first string of a list (Mailgun tags, SendGrid categories, Resend ``to``)."""
    if isinstance(value, list):
        return next((t for t in (text(v, limit) for v in value[:50]) if t), None)
    return text(value, limit)


def epoch(value: Any, scale: float = 1.0) -> dt.datetime | None:
    """Unix time (seconds, or milliseconds with ``scale=1000``) as a number or digits, else None — never an
    OverflowError from a hostile 1e308 or a 5,000-digit string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not re.fullmatch(r"\d{1,16}(\.\d{1,9})?", value.strip()):
            return None
        value = float(value)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    seconds = value / scale
    if not 0 <= seconds < 253402300800:  # 9999-12-31
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def iso(value: Any) -> dt.datetime | None:
    """An ISO 8601 time (``2019-08-05T18:33:20.000Z``, ``2019-08-05T14:33:20-04:00``) in UTC, else None."""
    raw = text(value, 64)
    if raw is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):  # year 1 with a positive offset
        return None


def rfc2822(value: Any) -> dt.datetime | None:
    """An RFC 2822 date (Mailgun's ``created_at``: ``Fri, 21 Oct 2011 11:02:55 GMT``) in UTC, else None."""
    raw = text(value, 64)
    if raw is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000": no zone information (RFC 5322 §3.3); taken as UTC
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None


def when(value: Any) -> dt.datetime | None:
    """A time as an API gave it: an aware datetime (botocore parses SES's), or ISO 8601 text."""
    if isinstance(value, dt.datetime):
        moment: dt.datetime = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        try:
            return moment.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            return None
    return iso(value)
