"""Value types shared by the newsletter, officials and settings models.

Each validator raises :class:`PydanticCustomError` with a ``fix`` in its context, which
:func:`actionmail.load.explain` puts at the end of the problem line.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zoneinfo
from typing import Annotated, Any

import phonenumbers
import pydantic
from pydantic import AfterValidator, BeforeValidator, ConfigDict, StringConstraints, ValidationInfo
from pydantic_core import PydanticCustomError

from actionmail.syntax import shorten


class Model(pydantic.BaseModel):
    """Base of every model read from a user's file: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, str_strip_whitespace=True)


def error(kind: str, what: str, fix: str) -> PydanticCustomError:
    # pydantic fills '{fix}' in the message with the context's fix, and leaves every other brace as it is (doubled
    # ones too): so a value with braces in it ('{frist_name}') is shown as written.
    return PydanticCustomError(kind, what, {"fix": fix})


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""One line or paragraph of plain text; never empty."""

Markdown = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""Text with CommonMark formatting: paragraphs, **bold**, *italics*, [links](https://…) and lists."""


def _as_text(value: Any) -> Any:
    # Districts and ids are often written as bare numbers (district: 3); they are names, not quantities.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Name = Annotated[
    str,
    BeforeValidator(_as_text, json_schema_input_type=str | int),
    StringConstraints(strip_whitespace=True, min_length=1),
]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise error(
            "slug",
            f"{shorten(value)} is not a valid id",
            "use lowercase letters, digits and hyphens, like 'mayor-durkan'",
        )
    return value


Slug = Annotated[str, BeforeValidator(_as_text), AfterValidator(_check_slug)]


def slugify(text: str) -> str:
    """Lowercase ASCII letters and digits, with hyphens between words: "Sí, voy" is "si-voy" (may be empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


_URL = pydantic.TypeAdapter(pydantic.HttpUrl)


def check_url(value: str) -> str:
    try:
        _URL.validate_python(value)
    except pydantic.ValidationError:
        raise error(
            "url", f"{shorten(value)} is not a web address", "write the whole address, starting with https://"
        ) from None
    if " " in value:
        raise error("url", f"{shorten(value)} has a space in it", "remove the space, or write it as %20")
    return value  # as written: pydantic would normalize it (adding a trailing slash, say)


Url = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(check_url)]


def _check_email(value: str) -> str:
    # The full check (deliverable domain, normalization) belongs to the subscriber list; here a directory entry
    # only needs to look like an address so the mailto: link works.
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise error("email", f"{shorten(value)} is not an email address", "write it like name@example.org")
    return value


Email = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_check_email)]


def _check_phone(value: Any, info: ValidationInfo) -> str:
    """Parse a phone number written any usual way; keep it as E.164 (+12066844000) for tel: links."""
    region = (info.context or {}).get("region", "US")
    text = str(value)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        example = phonenumbers.format_number(
            phonenumbers.example_number(region) or phonenumbers.parse("+12066844000"),
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        )
        raise error(
            "phone", f"{shorten(text)} is not a valid phone number", f"write it with its area code, like {example}"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Phone = Annotated[str, BeforeValidator(_as_text, json_schema_input_type=str | int), AfterValidator(_check_phone)]


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    # OSError: with the tzdata package installed (icalendar brings it), a region such as 'Pacific' is a directory
    # of it, which zoneinfo tries to open as a file.
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise error(
            "timezone",
            f"{shorten(value)} is not a time zone",
            "use an IANA name such as America/Los_Angeles or America/New_York",
        ) from None
    return value


TimeZone = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_check_timezone)]

_TIME = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s*m\.?\s*$", re.IGNORECASE)
_TIME_24 = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def _parse_time(value: Any) -> Any:
    """Accept '20:00' and '8:00' as well as '8 pm' / '8:30 p.m.' — the ways people write times in action emails."""
    if isinstance(value, str) and (m := _TIME_24.match(value)) and int(m[1]) < 24 and int(m[2]) < 60:
        return dt.time(int(m[1]), int(m[2]))
    if isinstance(value, str) and (m := _TIME.match(value)):
        hour, minute = int(m[1]), int(m[2] or 0)
        if not 1 <= hour <= 12:
            raise error(
                "time",
                f"{shorten(value)} is not a time of day",
                "write it like '20:00' or '8 pm'",
            )
        hour = hour % 12 + (12 if m[3].lower() == "p" else 0)
        return dt.time(hour, minute)
    if isinstance(value, int | float) and not isinstance(value, bool):
        # pydantic would read a number as seconds after midnight: 'time: 8' would be 00:00:08.
        raise error("time", f"{shorten(value)} is not a time of day", "write it like '20:00' or '8 pm'")
    return value


def _local_time(value: dt.time) -> dt.time:
    if value.tzinfo is not None:
        # A time with an offset can't be compared with one without, and the zone has a key of its own.
        raise error(
            "time_offset",
            f"{value.isoformat()} has a UTC offset",
            "write the time alone, like '20:00', and the zone in 'timezone:'",
        )
    return value


Time = Annotated[dt.time, BeforeValidator(_parse_time), AfterValidator(_local_time)]


def not_before_issue(value: dt.date, info: ValidationInfo, what: str) -> dt.date:
    """Shared rule: a deadline or event dated before the newsletter's own date is a mistake."""
    issue_date = (info.context or {}).get("issue_date")
    if isinstance(issue_date, dt.date) and value < issue_date:
        raise error(
            "before_issue",
            f"{what} {value.isoformat()} is before the newsletter's date ({issue_date.isoformat()})",
            "correct the date, or drop this item if it has passed",
        )
    return value


class Link(Model):
    """A link with descriptive text, e.g. ``{text: "Read Motherboard's investigation", url: https://…}``."""

    text: Text
    url: Url
