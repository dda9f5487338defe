"""What a subscriber is, and how the values members arrive with are cleaned up before they are stored."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

if TYPE_CHECKING:
    from actionmail.audience.history import Entry


# The default district set (actionmail.officials.DEFAULT_SET, whose module, with pydantic, the store does not
# import): a member's district of it is the ``district`` column.
DEFAULT_SET = "district"


class Status(enum.StrEnum):
    """Whether a member is sent to. Only ``active`` is; the others are suppressions, kept so that they stick."""

    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One member of the list, as stored."""

    id: int
    email: str
    first_name: str | None
    last_name: str | None
    district: str | None
    zip: str | None
    language: str | None
    tags: tuple[str, ...]
    fields: Mapping[str, str]
    status: Status
    status_changed_at: dt.datetime | None
    status_reason: str | None
    source: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    # Their districts of the other district sets (actionmail.officials): {"congress": "7"}; ``district`` holds
    # the default set's.
    districts: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        return full_name(self.first_name, self.last_name)

    def district_of(self, district_set: str) -> str | None:
        """Their district of ``district_set`` (the default set's is :attr:`district`)."""
        return self.district if district_set == DEFAULT_SET else self.districts.get(district_set)


class Addressee(NamedTuple):
    """What a send needs of a member, and no more: read once per member per send, so kept light (a named
    tuple: a frozen dataclass took three times as long to make, a microsecond a member of the send)."""

    id: int
    email: str
    first_name: str | None
    last_name: str | None
    district: str | None
    zip: str | None
    language: str | None
    fields: Mapping[str, str]

    @property
    def name(self) -> str:
        return full_name(self.first_name, self.last_name)


def full_name(first: str | None, last: str | None) -> str:
    """The name to address a member by: first and last, or whichever of the two there is, or nothing."""
    if first and last:
        return f"{first} {last}"
    return first or last or ""


class BadAddress(ValueError):
    """An address email-validator refuses; the message is its reason."""


# A local part email-validator takes as it is (RFC 5322's dot-atom, in ASCII: rfc_constants.DOT_ATOM_TEXT), then
# an @ and a domain part.
_ATEXT = r"[A-Za-z0-9_!#$%&'*+\-/=?^`{|}~]+"
_PLAIN_ADDRESS = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@([^@]+)")
_MAX_ADDRESS = 254  # bytes of UTF-8: email-validator's EMAIL_MAX_LENGTH (RFC 5321 section 4.5.3.1.3)


def normalize_email(text: str) -> str:
    """The address as stored: validated, the domain lowercased, Unicode normalized (email-validator's form).

    A list's addresses share a few domains, and checking a domain (UTS-46, character by character) was most of
    email-validator's time: an address whose local part is plain ASCII has its domain checked once per domain
    (:func:`_domain`) and the result reused. Whatever email-validator would do differently (a quoted or
    non-ASCII local part, an RFC 2142 name like Postmaster that it lowercases, an address near the length
    limit, any error at all) goes through email-validator whole, so the result and every error message are
    exactly its own (tests/test_audience_import.py checks the two ways against each other).
    """
    text = text.strip()
    plain = _PLAIN_ADDRESS.fullmatch(text)
    if plain is not None:
        local = plain[1]
        domain = _domain(plain[2])
        if domain is not None and local.lower() not in CASE_INSENSITIVE_MAILBOX_NAMES:
            address = f"{local}@{domain[0]}"
            # email-validator's three length checks: as given, normalized, and with the domain in IDNA ASCII.
            if max(len(text.encode()), len(address.encode()), len(local) + 1 + len(domain[1])) <= _MAX_ADDRESS:
                return address
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as e:
        raise BadAddress(str(e)) from None


@functools.lru_cache(maxsize=4096)  # a list's domains: a few common ones, then a long tail seen once or twice
def _domain(domain: str) -> tuple[str, str] | None:
    """email-validator's form of a domain part, and its IDNA ASCII form; None if it refuses the domain (the
    address is then validated whole, for email-validator's own message). Checked in an address whose local part
    is one letter: the domain's checks do not depend on the local part, but for the length the caller checks."""
    try:
        checked = validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def email_key(address: str) -> str:
    """What makes two addresses the same member: NFKC and case folded, as email-validator's documentation
    advises for comparing addresses, so 'ANA@example.org' in full-width letters (what some phone keyboards
    type), 'Ana@example.org' and 'ana@example.org' are one member (most mail servers ignore case)."""
    return unicodedata.normalize("NFKC", address).casefold()


def lookup_key(text: str) -> str:
    """The key of an address typed by a user, even one that would not pass validation."""
    try:
        return email_key(normalize_email(text))
    except BadAddress:
        return email_key(text.strip())


def clean_text(value: str | None) -> str | None:
    """A cell or option as stored: NFC, whitespace trimmed, empty as None."""
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value).strip()
    return value or None


_FIELD_NAME = re.compile(r"[^0-9a-z]+")


def field_name(header: str) -> str:
    """A custom field's name from a column header: 'Phone Number' -> 'phone_number' (usable in segments)."""
    ascii_header = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    return _FIELD_NAME.sub("_", ascii_header.lower()).strip("_")


class BadLanguage(ValueError):
    pass


@functools.lru_cache(maxsize=256)  # a list has few distinct values, and parsing a locale is slow
def normalize_language(value: str) -> str:
    """A language as its ISO 639 code: 'es', 'es-MX', 'Spanish' and 'Español' are all 'es'.

    Only the language is kept, not the region: templates and segments choose by language.
    """
    from babel import Locale, UnknownLocaleError

    text = value.strip()
    try:
        return Locale.parse(text.replace("-", "_")).language
    except (ValueError, UnknownLocaleError):
        pass
    code = _language_names().get(text.casefold())
    if code is None:
        raise BadLanguage(value)
    try:
        return Locale.parse(code).language  # 'Tagalog' is tl, which CLDR calls fil, as it calls 'tl' itself
    except (ValueError, UnknownLocaleError):  # 'Klingon' is tlh, a code that CLDR has no locale for
        raise BadLanguage(value) from None


@functools.cache
def _language_names() -> dict[str, str]:
    # Sign-up forms often store the language's name rather than its code. English and Spanish names, plus
    # each language's name for itself; built once, and only when a value is not a code.
    from babel import Locale, UnknownLocaleError
    from babel.localedata import locale_identifiers

    names: dict[str, str] = {}
    for identifier in locale_identifiers():
        if "_" in identifier:
            continue
        try:
            locale = Locale.parse(identifier)
        except (ValueError, UnknownLocaleError):
            continue
        own = locale.languages.get(locale.language)
        if own:
            names.setdefault(own.casefold(), locale.language)
    for display in ("es", "en"):
        for code, name in Locale(display).languages.items():
            if "_" not in code:
                names[name.casefold()] = code
    return names


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def to_db_time(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def from_db_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def parse_time(text: str | None) -> dt.datetime | None:
    """A time as export files write it: ISO 8601 ('2019-08-02 17:12:33', with or without a zone; UTC when
    none is given, as Mailchimp's exports are), RFC 2822 (Mailgun) or Unix seconds (SendGrid)."""
    import email.utils

    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return dt.datetime.fromtimestamp(float(value), dt.UTC).replace(microsecond=0)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).replace(microsecond=0)


@dataclass(slots=True)
class Incoming:
    """A member as an import row, ``add`` or an event describes them: None means 'not given', never 'erase'."""

    email: str
    key: str
    first_name: str | None = None
    last_name: str | None = None
    district: str | None = None
    zip: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()
    fields: dict[str, str] | None = None
    districts: dict[str, str] | None = None  # of the other district sets: {"congress": "7"}
    status: Status | None = None
    status_changed_at: dt.datetime | None = None
    status_reason: str | None = None
    source: str | None = None
    created_at: dt.datetime | None = None
    # Only from a backup (`subscribers export --all`): the member's id, kept where it is free so that unsubscribe
    # links already sent still work, and the address's entry on the suppression list as it was.
    id: int | None = None
    suppression: Suppressed | None = None
    history: tuple[Entry, ...] | None = None  # a backup's history of the address; None when the file has none
    changed_by: str | None = None  # what makes a status change (the import), when not the member's ``source``


@dataclass(frozen=True, slots=True)
class Suppressed:
    """An entry of the suppression list, as a backup carries it."""

    key: str
    reason: Status
    at: dt.datetime
    detail: str | None
    source: str | None
    history: tuple[Entry, ...] = ()


def clean_tags(tags: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Tags trimmed, empty ones dropped, and each kept once whatever its case (the first spelling wins)."""
    seen: dict[str, str] = {}
    for tag in tags:
        text = clean_text(tag)
        if text is not None:
            seen.setdefault(text.casefold(), text)
    return tuple(seen.values())
