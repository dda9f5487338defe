"""What every mail provider implements, and what it is given: batches of recipients of one variant.

A provider is one small module over this base (django-anymail's shape): it turns a :class:`Batch` into its
API's request — carrying each recipient's values in its native way, so that one call serves the whole batch —
posts it, and returns which recipients it accepted. It raises :class:`ProviderError` for anything else, saying
whether the failure is transient and whether the provider may have acted on the request anyway.

Providers know nothing of rendering, the ledger, retries or the command line: the send engine
(:mod:`actionmail.delivery`) decides what to send, retries what is safe to retry, and records every outcome.
"""

from __future__ import annotations

import abc
import datetime as dt
import email.errors
import email.header
import enum
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from actionmail.config.providers import ProviderSettings
from actionmail.errors import ActionmailError, ExitCode
from actionmail.feedback.events import FeedbackEvent
from actionmail.merge import Merge

if TYPE_CHECKING:  # pull.py builds on this module (ProviderError, Pull): imported where a pull runs
    from actionmail.providers.pull import Retry, Stage, Stages

_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
# What may not stay in a header value: C0 and C1 controls (CR and LF end a header), DEL, and the Unicode line and
# paragraph separators (a line break to some parsers).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# An RFC 2047 encoded word, as loosely as any decoder reads one (the email package's own pattern, email.header.ecre,
# takes any charset and any encoded text up to the next "?=").
_ENCODED_WORD = re.compile(r"=\?([^?]*)\?([qQbB])\?(.*?)\?=")
# The start of an encoded word, which is all a decoder needs: the email package decodes "=?utf-8?q?=0D=0A…" with no
# closing "?=" at all, and takes "=??q?=0D" for one (an empty charset; found by the fuzz test). Wherever one still
# starts once the real ones are decoded, every "=?" is broken up: nothing is left for any decoder to find.
_WORD_START = re.compile(r"=\?[^?]*\?[qQbB]\?")


def header_text(value: str) -> str:
    """``value`` made safe to put in a header, whoever supplied it (a member's name, a merge value, a subject).

    Control characters become spaces, after decoding every RFC 2047 encoded word: ``=?utf-8?q?Ev=0D=0ABcc:...?=``
    is plain text to us, but the email package decodes encoded words when it parses a header value and, before
    CPython's fix for CVE-2024-6923 (3.11.10, 3.12.5, 3.13), writes the decoded line break back raw when it folds
    the header: a member's name would add a Bcc. Decoding repeats until nothing changes (an encoded word may hold
    another), and whatever still starts like an encoded word (one that can't be decoded, or that only the email
    package's lenient parser would read as one) is broken up, so that no parser downstream, ours or a provider's,
    finds anything left to decode. Independent of the Python patch level.
    """
    if value.isprintable() and "=?" not in value and "?=" not in value:  # nearly every value: nothing to do
        return value.strip()
    for _ in range(100):  # decoding shortens the text, so this ends long before; the bound is belt and braces
        decoded = _ENCODED_WORD.sub(_decode_word, _CONTROL.sub(" ", value))
        if decoded == value:
            break
        value = decoded
    if _WORD_START.search(value) or _CONTROL.search(value):
        value = _CONTROL.sub(" ", value).replace("=?", "= ?")
    return value.strip()


def header_fragment(value: str) -> str:
    """A value that a provider puts into a header next to other text (a merge value in the subject): as
    :func:`header_text`, and with no ``=?`` or ``?=`` left either, so that two values side by side can't make up
    an encoded word between them."""
    value = header_text(value)
    return value.replace("=?", "= ?").replace("?=", "? =") if "?" in value else value


def _decode_word(word: re.Match[str]) -> str:
    try:
        ((raw, charset),) = email.header.decode_header(word[0])
    except (email.errors.HeaderParseError, ValueError):
        return word[0]  # left as it is, and broken up by header_text
    if isinstance(raw, str):
        return raw
    try:
        return str(raw.decode(charset or "ascii", errors="replace"))
    except LookupError:  # an unknown charset: the email package reads it as ASCII, and so do we
        return str(raw.decode("ascii", errors="replace"))


@dataclass(frozen=True, slots=True)
class Envelope:
    """What is the same for every message of one send."""

    from_: str  # "Seattle Indivisible <action@seattleindivisible.com>"
    reply_to: str | None
    list_id: str  # the List-Id header value, e.g. "Daily action <daily-action.seattleindivisible.com>"
    tag: str  # names the send at the provider (tag / campaign / category): the newsletter's file stem
    send_id: str  # this send in our ledger, carried as metadata where the provider has it
    unsubscribe_mailto: str | None  # the address of the List-Unsubscribe mailto, if any
    send_at: dt.datetime | None = None  # scheduled delivery (aware), where the provider schedules
    test: bool = False  # a `send --to` test copy: not in the ledger
    # One message of our own to one person, not the list's mail (a sign-up's confirmation): no List-Unsubscribe or
    # List-Id, which would offer to unsubscribe someone who is not a member; Auto-Submitted instead.
    transactional: bool = False


@dataclass(frozen=True, slots=True)
class Recipient:
    key: str  # our id for this recipient in this send; results are keyed by it
    email: str
    name: str | None
    values: Mapping[str, str | None]  # merge values: first_name, unsubscribe_url, field.team, …


@dataclass(frozen=True, slots=True)
class Batch:
    """Recipients of one variant, sent in one provider call where the provider allows."""

    id: str  # stable across retries of the same batch: the idempotency key where the provider honours one
    envelope: Envelope
    subject: Merge
    html: Merge
    text: Merge
    recipients: Sequence[Recipient]

    def to(self, recipient: Recipient) -> str:
        """The To address with the name, as Unicode: "Ana Pérez <ana@example.org>" (quoted where RFC 5322 needs).

        Not RFC 2047-encoded: HTTP APIs take UTF-8, and the email package encodes it when building MIME.
        """
        name = self.name(recipient)
        if not name:
            return recipient.email
        if _SPECIALS.search(name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{recipient.email}>"

    def name(self, recipient: Recipient) -> str | None:
        """The recipient's display name, safe in a header (:func:`header_text`); None without one."""
        return (header_text(recipient.name) or None) if recipient.name else None

    def headers(self, recipient: Recipient) -> dict[str, str]:
        """The headers every message carries for this recipient (RFC 2369, RFC 8058, RFC 2919)."""
        if self.envelope.transactional:
            return self.shared_headers()
        return {"List-Unsubscribe": self.list_unsubscribe(recipient), **self.shared_headers()}

    def list_unsubscribe(self, recipient: Recipient) -> str:
        """The one header of :meth:`headers` that is the recipient's own: their link, and the mailto."""
        url = recipient.values.get("unsubscribe_url") or ""
        unsubscribe = f"<{url}>"
        if self.envelope.unsubscribe_mailto:
            token = url.rstrip("/").rsplit("/", 1)[-1]
            unsubscribe += f", <mailto:{self.envelope.unsubscribe_mailto}?subject=unsubscribe%20{token}>"
        return header_text(unsubscribe)

    def shared_headers(self) -> dict[str, str]:
        """The headers of :meth:`headers` that are the same for every recipient."""
        if self.envelope.transactional:
            # RFC 3834: sent by a program, not a person, so out-of-office replies and other auto-responders keep quiet.
            return {"Auto-Submitted": "auto-generated"}
        return {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "List-Id": header_text(self.envelope.list_id)}

    def subject_for(self, recipient: Recipient) -> str:
        """The subject filled in for one recipient, safe in a header (:func:`header_text`)."""
        return header_text(self.subject.fill(recipient.values))

    def content(self, recipient: Recipient) -> tuple[str, str, str]:
        """(subject, html, text) filled in for one recipient, for providers that take whole messages."""
        return (
            self.subject_for(recipient),
            self.html.fill(recipient.values),
            self.text.fill(recipient.values),
        )


@dataclass
class BatchResult:
    """What the provider said about each recipient of a batch, by :attr:`Recipient.key`."""

    accepted: dict[str, str] = field(default_factory=dict)  # key → the provider's message id
    rejected: dict[str, str] = field(default_factory=dict)  # key → the provider's reason (permanent)


class ProviderError(ActionmailError):
    """A provider call that did not succeed.

    ``transient``: trying again later may work (429, 5xx, a dropped connection). ``maybe_sent``: the provider
    may have acted on the request before it failed (a timeout or a dropped connection after the request went
    out), so resending without an idempotency key could send twice. ``retry_after``: seconds the provider asked
    us to wait. The message carries the provider's own words; never a secret.
    """

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        transient: bool = False,
        maybe_sent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.provider, self.status, self.body = provider, status, body
        self.transient, self.maybe_sent, self.retry_after = transient, maybe_sent, retry_after
        where = f"{provider}" + (f" (HTTP {status})" if status else "")
        super().__init__(f"{where}: {message}" + (f": {body[:500]}" if body else ""))


class MissingCredentials(ActionmailError):
    """A provider's secret is not in the environment; the message names the variable."""

    exit_code = ExitCode.INVALID_INPUT


class Pullable(enum.StrEnum):
    """What a provider's API lets actionmail read back (:attr:`Provider.pulls`; none at all: an empty set)."""

    SUPPRESSIONS = "suppressions"  # its lists of bounced, complaining and unsubscribed addresses
    EVENTS = "events"  # what happened to each message (delivered, bounced, …) since a given time
    MESSAGES = "messages"  # what became of one send's messages, found by its tag or their message ids


@dataclass(frozen=True)
class Pull:
    """What one call of :meth:`Provider.pull` (or :meth:`Provider.pull_send`) read.

    ``events``: in the order read, each with the dedupe key the caller applies once (the same record read again,
    in this pass or the next, has the same key). ``cursor``: opaque text to store and pass back, always: while
    ``complete`` is False it goes on where this call stopped (no record read twice, none missed); once ``complete``
    is True it starts the next pass where this one ended, a little before (:attr:`Provider.event_delay`), so that
    events the provider files late are not missed. ``skipped``: records that were not events, and why (for the
    log), never silently dropped.
    """

    events: list[FeedbackEvent]
    cursor: str
    complete: bool
    skipped: list[str] = field(default_factory=list)


class PullNotSupported(ActionmailError):
    """The provider keeps nothing actionmail can read back (the outbox, SMTP), or not that (SES keeps no events)."""

    exit_code = ExitCode.INVALID_INPUT


class Provider(abc.ABC):
    """One mail provider. Subclasses set the class attributes and implement :meth:`send`."""

    name: ClassVar[str]
    max_batch: ClassVar[int]  # recipients per call
    idempotent: ClassVar[bool] = False  # honours Batch.id as an idempotency key
    # How long after a call repeating it with the same key is still safe (the provider remembers the key, less a
    # margin for the retries of that batch); None: for ever (the outbox).
    idempotency_window: ClassVar[dt.timedelta | None] = None
    can_schedule: ClassVar[bool] = False  # delivers at Envelope.send_at
    settings_model: ClassVar[type[ProviderSettings]] = ProviderSettings
    pulls: ClassVar[frozenset[Pullable]] = frozenset()  # what pull() and pull_send() can read; empty: nothing
    # How late an event may appear in the provider's API after it happened: each pass starts this much before the
    # last one ended, and a message with no trace this long after it was sent has not been accepted.
    event_delay: ClassVar[dt.timedelta] = dt.timedelta(minutes=30)
    # pull_send() lists every message of a send by its tag, the calls that were cut off included: a recipient
    # it has no trace of (after event_delay) was not sent. False where it can only look up message ids it is
    # given, which an interrupted call never returned.
    lists_sends: ClassVar[bool] = False
    pull_retry: Retry | None = None  # how a pull retries a page; None: as the send does (tests make it quick)

    def __init__(self, settings: ProviderSettings, environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.environ = os.environ if environ is None else environ

    def secret(self, variable: str | None = None, what: str = "API key") -> str:
        """The provider's API key (or ``what`` it needs) from the environment: ACTIONMAIL_<NAME>_API_KEY unless
        ``variable`` says."""
        variable = variable or f"ACTIONMAIL_{self.name.upper()}_API_KEY"
        value = self.environ.get(variable, "").strip()
        if not value:
            raise MissingCredentials(f"{self.name} needs its {what}: set the environment variable {variable}")
        return value

    @abc.abstractmethod
    def send(self, batch: Batch) -> BatchResult:
        """Send one batch (at most :attr:`max_batch` recipients). Raise :class:`ProviderError` on failure."""

    def close(self) -> None:  # noqa: B027 - optional: most providers hold nothing to release
        """Release connections. Called once when the send is over."""

    def pull(self, since: dt.datetime | None = None, cursor: str | None = None, *, pages: int = 50) -> Pull:
        """Read what the provider knows: its suppression lists, and its events since ``since`` (aware; None: as far
        back as it keeps them), at most ``pages`` pages a call; ``cursor`` (from the last :class:`Pull`) goes on
        from there instead, and ``since`` is then ignored.

        Each page is retried on a transient failure (429, honouring the provider's wait, 5xx, a dropped
        connection) as the send is; a failure that persists raises :class:`ProviderError`, and the caller goes
        on later from the last cursor it stored. A paging that goes round in circles, or never ends, raises
        :class:`ProviderError` too. Raises :class:`PullNotSupported` where :attr:`pulls` is empty.
        """
        if not self.pulls:
            raise PullNotSupported(f"{self.name} keeps no suppression list or events that actionmail can read back")
        return self._run(self._pull_stages, since, cursor, pages)

    def pull_send(
        self,
        tag: str,
        message_ids: Sequence[str],
        since: dt.datetime,
        cursor: str | None = None,
        *,
        pages: int = 50,
    ) -> Pull:
        """The events of one send's messages: found by its ``tag`` (:attr:`Envelope.tag`) where the API filters
        by tag, else by the ``message_ids`` the send recorded; ``since``: when the send began. As :meth:`pull`
        otherwise. Raises :class:`PullNotSupported` unless :attr:`pulls` has :attr:`Pullable.MESSAGES`.
        """
        stages = self._send_stages(tag, message_ids)
        return self._run(stages, since, cursor, pages, send=(tag, message_ids))

    def _pull_stages(self, start: dt.datetime | None, end: dt.datetime) -> Sequence[Stage]:
        """The stages of one :meth:`pull` pass over ``start``…``end`` (:func:`actionmail.providers.pull.run`): a
        provider with :attr:`pulls` gives them."""
        raise NotImplementedError(f"{self.name} names what it pulls ({self.pulls}) but gives no stages to read it")

    def _send_stages(self, tag: str, message_ids: Sequence[str]) -> Stages:
        """The stages of a :meth:`pull_send` pass, by window, for the send ``tag`` and ``message_ids``: a provider
        with :attr:`Pullable.MESSAGES` gives them; one without raises :class:`PullNotSupported`, saying where a
        send's events are to be had instead, if anywhere."""
        raise PullNotSupported(f"{self.name} keeps no record of a send's messages that actionmail can read back")

    def _run(
        self,
        stages: Stages,
        since: dt.datetime | None,
        cursor: str | None,
        pages: int,
        send: tuple[str, Sequence[str]] | None = None,
    ) -> Pull:
        """A pass of :meth:`pull`, or of :meth:`pull_send` for ``send`` (its tag and message ids)."""
        # Imported here, not above: pull.py imports this module for ProviderError and Pull.
        from actionmail.providers import pull as paging

        scope = "all" if send is None else paging.scope_of(*send)
        return paging.run(self.name, scope, stages, since, cursor, pages, self.event_delay, self.pull_retry)
