"""Bounces, complaints and unsubscribes from mail providers' exports and saved webhook payloads.

Understood, whatever the container (one JSON document, a JSON list, NDJSON with one payload per line, or CSV):

- Mailgun: webhook bodies (``{"signature": …, "event-data": {…}}``), event-data records as the Events API
  pages them (``{"items": […]}``), and suppression lists (bounces: ``address, code, error, created_at``;
  unsubscribes: ``address, tags, created_at``; complaints: ``address, created_at``) as CSV or JSON.
- SendGrid: Event Webhook posts (a JSON list of events with ``event`` and ``email``), and the suppression
  lists of its API (bounces with ``email, created, reason, status``; spam reports with ``email, created, ip``;
  global unsubscribes with ``email, created``).
- Postmark: webhook bodies (``RecordType`` Bounce, SpamComplaint, SubscriptionChange), the bounces API
  (``{"Bounces": […]}``) and suppression dumps (``{"Suppressions": […]}``).

Only a permanent failure is a bounce: Mailgun's ``severity: temporary`` (and its permanent failures after
retrying, reason ``old``, or the receiver's block, ``espblock``), SendGrid's ``deferred`` and ``blocked``,
Postmark's SoftBounce/Transient and 4xx codes are ignored here, as are deliveries, opens and clicks; the
webhooks (actionmail.feedback) count soft bounces over time instead. Each event name is mapped in
actionmail.feedback, the one place for it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actionmail.audience.model import BadAddress, Status, normalize_email, parse_time
from actionmail.audience.store import SuppressEvent
from actionmail.errors import InvalidInput, Problem, shown
from actionmail.feedback import mailgun as feedback_mailgun
from actionmail.feedback import postmark as feedback_postmark
from actionmail.feedback import sendgrid as feedback_sendgrid
from actionmail.feedback.events import Kind

SHAPES = (
    "Mailgun webhook or Events API JSON (event-data with 'event' and 'recipient'), Mailgun suppression lists "
    "(CSV or JSON with 'address'), SendGrid Event Webhook JSON (events with 'event' and 'email'), SendGrid "
    "suppression lists (JSON with 'email' and 'created'), Postmark webhook JSON ('RecordType'), Postmark "
    "bounces ('Bounces') or suppressions ('Suppressions') JSON; as one JSON document, NDJSON or CSV"
)


@dataclass
class EventFile:
    """What a file held: the events that suppress, and how many records did not."""

    providers: list[str] = field(default_factory=list)  # e.g. ['SendGrid event webhook'], in order seen
    records: int = 0
    events: list[SuppressEvent] = field(default_factory=list)
    ignored: int = 0  # soft bounces, deliveries, opens, …
    problems: list[Problem] = field(default_factory=list)


class _Ignored(Exception):
    """A record of a known shape that is not a suppression (a soft bounce, a delivery)."""


def read_events(path: Path) -> EventFile:
    """Read ``path``; raise :class:`InvalidInput` if it is not text in one of the shapes understood."""
    file = shown(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidInput.one(path, "not UTF-8 text", "export the events again, as UTF-8") from e
    except OSError as e:
        raise InvalidInput.one(path, f"cannot read the file ({e.strerror})", "check the path") from None
    result = EventFile()
    unknown: list[str] = []
    for where, record in _records(path, text):
        result.records += 1
        parsed = _classify(record)
        if parsed is None:
            unknown.append(where[1])
            continue
        provider, reading = parsed
        if provider not in result.providers:
            result.providers.append(provider)
        try:
            raw_email, status, at, detail = reading(record)
        except _Ignored:
            result.ignored += 1
            continue
        line, key = where[0], where[1]
        if not raw_email:
            result.problems.append(Problem(file, line, key, "no address in this event", "nothing to suppress"))
            continue
        try:
            address = normalize_email(str(raw_email))
        except BadAddress as e:
            result.problems.append(
                Problem(file, line, key, f"'{raw_email}' is not a valid email address ({e})", "nothing suppressed")
            )
            continue
        result.events.append(
            SuppressEvent(address, status, parse_time(at), _short(detail), f"{provider} ({path.name})")
        )
    if not result.providers:
        what = "no records" if not result.records else "no record of a shape actionmail understands"
        raise InvalidInput.one(path, what, f"pass one of: {SHAPES}")
    result.ignored += len(unknown)
    return result


def _records(path: Path, text: str) -> Iterator[tuple[tuple[int | None, str], Mapping[str, Any]]]:
    """Every record in the file, with (line, key) saying where: the line for NDJSON and CSV; for JSON, the
    record's path (``items[3]``)."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            yield from _ndjson(path, text)
        else:
            yield from (((None, key), record) for key, record in _unwrap(document, ""))
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    end = 1
    for row in reader:
        line, end = end + 1, reader.line_num
        yield (line, ""), {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}


def _ndjson(path: Path, text: str) -> Iterator[tuple[tuple[int | None, str], Mapping[str, Any]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as e:
            raise InvalidInput.one(
                path, f"not JSON ({e.msg}, character {e.colno})", f"pass one of: {SHAPES}", line=number
            ) from None
        yield from (((number, key), record) for key, record in _unwrap(document, ""))


def _unwrap(document: Any, where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The records in one JSON document: lists, and the wrappers providers page their lists in, are opened."""
    if isinstance(document, list):
        for index, item in enumerate(document):
            yield from _unwrap(item, f"{where}[{index}]")
    elif isinstance(document, dict):
        for wrapper in ("items", "Bounces", "Suppressions"):
            if isinstance(document.get(wrapper), list):
                yield from _unwrap(document[wrapper], f"{where}.{wrapper}".lstrip("."))
                return
        if isinstance(document.get("event-data"), dict):  # a Mailgun webhook body
            yield where, document["event-data"]
        else:
            yield where, document


Reading = tuple[str | None, Status, Any, Any]  # address, status, when, detail


def _classify(record: Mapping[str, Any]) -> tuple[str, Callable[[Mapping[str, Any]], Reading]] | None:
    """Which provider's record this is, and how to read it."""
    if "RecordType" in record:
        return "Postmark webhook", _postmark
    if "EmailAddress" in record and "SuppressionReason" in record:
        return "Postmark suppressions", _postmark_suppression
    if "Email" in record and "Type" in record and ("BouncedAt" in record or "TypeCode" in record):
        return "Postmark bounces", _postmark
    if "event" in record and "recipient" in record:
        return "Mailgun events", _mailgun
    if "event" in record and "email" in record:
        return "SendGrid event webhook", _sendgrid
    if "address" in record:
        return "Mailgun suppressions", _mailgun_suppression
    if "email" in record and "created" in record:
        return "SendGrid suppressions", _sendgrid_suppression
    return None


# What an event means is decided in one place, actionmail.feedback (the webhooks read events through the same
# functions); here it only becomes a suppression, or is ignored.
_SUPPRESSES = {
    Kind.HARD_BOUNCE: Status.BOUNCED,
    Kind.COMPLAINT: Status.COMPLAINED,
    Kind.UNSUBSCRIBE: Status.UNSUBSCRIBED,
}


def _suppression(kind: Kind) -> Status:
    status = _SUPPRESSES.get(kind)
    if status is None:
        raise _Ignored  # soft bounces, deferrals, deliveries, opens: the provider retries, or nothing to stop
    return status


def _mailgun(record: Mapping[str, Any]) -> Reading:
    kind, detail = feedback_mailgun.classify(record)
    return record.get("recipient"), _suppression(kind), record.get("timestamp"), detail


def _mailgun_suppression(record: Mapping[str, Any]) -> Reading:
    address, at = record.get("address"), record.get("created_at")
    if "code" in record or "error" in record:  # the bounce list
        if str(record.get("code") or "550").startswith("4"):
            raise _Ignored
        return address, Status.BOUNCED, at, record.get("error") or None
    if "tags" in record:  # the unsubscribe list
        return address, Status.UNSUBSCRIBED, at, "unsubscribed through Mailgun"
    return address, Status.COMPLAINED, at, "spam complaint"  # the complaint list: address, created_at


def _sendgrid(record: Mapping[str, Any]) -> Reading:
    kind, detail = feedback_sendgrid.classify(record)
    return record.get("email"), _suppression(kind), record.get("timestamp"), detail


def _sendgrid_suppression(record: Mapping[str, Any]) -> Reading:
    email, at = record.get("email"), record.get("created")
    if "reason" in record or "status" in record:  # bounces
        if str(record.get("status") or "5").startswith("4"):
            raise _Ignored
        return email, Status.BOUNCED, at, record.get("reason") or None
    if "ip" in record:  # spam reports
        return email, Status.COMPLAINED, at, "spam report"
    return email, Status.UNSUBSCRIBED, at, "unsubscribed through SendGrid"  # global unsubscribes


def _postmark(record: Mapping[str, Any]) -> Reading:
    kind, detail = feedback_postmark.classify(record)
    email = record.get("Email") or record.get("Recipient")
    at = record.get("ChangedAt") if record.get("RecordType") == "SubscriptionChange" else record.get("BouncedAt")
    return email, _suppression(kind), at, detail


def _postmark_suppression(record: Mapping[str, Any]) -> Reading:
    reason = str(record.get("SuppressionReason"))
    status = _suppression(feedback_postmark.SUPPRESSION_REASONS.get(reason, Kind.OTHER))
    return record.get("EmailAddress"), status, record.get("CreatedAt"), f"Postmark: {reason}"


def _short(detail: Any) -> str | None:
    if detail is None or not str(detail).strip():
        return None
    text = " ".join(str(detail).split())
    return text if len(text) <= 200 else text[:199] + "…"
