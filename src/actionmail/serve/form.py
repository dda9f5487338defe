"""The sign-up form: its fields read and checked as a person typed them, each problem named at its field; and the
signed values around it — when the form was served, the confirmation link's token, a client network's key.

All three are MACs of :func:`actionmail.tokens.sign`, each under a purpose of its own, so none of them can stand in
for another or for an unsubscribe token. None needs a cookie or a session: the form's time travels in a hidden
field, the link's token in its URL.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from actionmail import tokens
from actionmail.audience.cells import clean_cell
from actionmail.audience.model import BadAddress, clean_text, normalize_email
from actionmail.audience.signups import Form, Pending

HONEYPOT = "website"  # a field hidden from people, which bots fill in: a post with anything in it is a bot's
STARTED = "started"  # the hidden field that says when the form was served
FIELDS = ("email", "first_name", "zip", "district", "language")
NAME_LENGTH = 100
EMAIL_LENGTH = 254  # RFC 5321's limit on a path, less its angle brackets: no address is longer

# The problems a field can have, as the page says them (English msgids, translated by the page's catalog).
NO_EMAIL = "Enter your email address."
BAD_EMAIL = "Enter an email address like name@example.org."
BAD_NAME = "Write your first name in 100 characters or fewer, on one line."
BAD_ZIP_US = "Enter a 5-digit ZIP code, or leave it empty."
BAD_ZIP = "Enter a postal code of up to 10 letters and digits, or leave it empty."
BAD_DISTRICT = "Choose your district from the list."
BAD_LANGUAGE = "Choose a language from the list."

_US_ZIP = re.compile(r"[0-9]{5}(?:-[0-9]{4})?")
_ZIP = re.compile(r"[0-9A-Za-z][0-9A-Za-z -]{0,9}")


@dataclass(frozen=True)
class Choices:
    """What the form offers: districts (from officials.yaml) and languages, as (value, label) pairs."""

    districts: Sequence[tuple[str, str]]
    languages: Sequence[tuple[str, str]]
    country: str = "US"
    default_language: str = "en"


@dataclass
class Filled:
    """A posted form: the values as typed (to show again), the problems by field, and the sign-up if none."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    form: Form | None = None


def read(posted: Mapping[str, str], choices: Choices) -> Filled:
    """The form's fields, checked; every problem at once, as a person fixes them in one go."""
    values = {name: posted.get(name, "")[:1000] for name in FIELDS}  # enough to show again; none is longer
    errors: dict[str, str] = {}
    address = values["email"].strip()
    email = None
    if not address:
        errors["email"] = NO_EMAIL
    elif len(address) > EMAIL_LENGTH:
        errors["email"] = BAD_EMAIL
    else:
        try:
            email = normalize_email(address)
        except BadAddress:
            errors["email"] = BAD_EMAIL
    first_name = clean_text(values["first_name"])
    if first_name is not None and (len(first_name) > NAME_LENGTH or clean_cell(first_name)[1] is not None):
        errors["first_name"] = BAD_NAME
    zip_code = clean_text(values["zip"])
    if zip_code is not None:
        us = choices.country == "US"
        if not (_US_ZIP if us else _ZIP).fullmatch(zip_code):
            errors["zip"] = BAD_ZIP_US if us else BAD_ZIP
    district = clean_text(values["district"])
    if district is not None and district not in {value for value, _ in choices.districts}:
        errors["district"] = BAD_DISTRICT
    language = clean_text(values["language"]) or choices.default_language
    if language not in {value for value, _ in choices.languages}:
        errors["language"] = BAD_LANGUAGE
    if errors or email is None:
        return Filled(values, errors)
    return Filled(values, errors, Form(email, first_name, zip_code, district, language))


@dataclass(frozen=True)
class Signer:
    """The form's signed values, under the organization's secret key and the list's id."""

    key: bytes
    list_id: str

    def started(self, at: float | None = None) -> str:
        """The hidden field's value: the time the form is served, in milliseconds, and its MAC."""
        millis = str(int((time.time() if at is None else at) * 1000))
        return f"{millis}.{tokens.sign(self.key, tokens.SIGNUP_FORM, self.list_id, millis)}"

    def waited(self, value: str | None, at: float | None = None) -> float | None:
        """Seconds since the form carrying ``value`` was served; None for a value that is not ours."""
        millis, _, mac = (value or "").partition(".")
        if not (millis.isascii() and millis.isdecimal() and len(millis) <= 15):
            return None
        if not tokens.signed(self.key, tokens.SIGNUP_FORM, mac, self.list_id, millis):
            return None
        return (time.time() if at is None else at) - int(millis) / 1000

    def client(self, host: str | None) -> str:
        """The key a client is counted under: its network (an IPv4 address, an IPv6 /64, where people's devices
        get their addresses), signed so that the database never holds an address."""
        return tokens.sign(self.key, tokens.SIGNUP_CLIENT, self.list_id, network(host))

    def link_token(self, pending: Pending) -> str:
        """The confirmation link's token: the sign-up's id, and a MAC over it, its address and its time."""
        return f"{pending.id}-{self._link_mac(pending)}"

    def link_id(self, token: str | None) -> int | None:
        """The sign-up id a token claims (check it with :meth:`link_names`); None for anything not shaped so."""
        found = _LINK.fullmatch(token or "")
        return int(found[1]) if found else None

    def link_names(self, token: str, pending: Pending) -> bool:
        """Whether ``token`` is this sign-up's own link token (not altered, not made with another key)."""
        return tokens.signed(self.key, tokens.SIGNUP_CONFIRM, token.partition("-")[2], *self._parts(pending))

    def _link_mac(self, pending: Pending) -> str:
        return tokens.sign(self.key, tokens.SIGNUP_CONFIRM, *self._parts(pending))

    def _parts(self, pending: Pending) -> tuple[str, ...]:
        return self.list_id, str(pending.id), pending.email_key, pending.stamp


_MAC_CHARS = len(tokens.sign(b"k" * 16, tokens.SIGNUP_CONFIRM))
_LINK = re.compile(rf"([1-9][0-9]{{0,17}})-[A-Za-z0-9_-]{{{_MAC_CHARS}}}")


def network(host: str | None) -> str:
    """The network a client's address is counted in: an IPv4 address itself, an IPv6 address's /64 (an IPv4
    address mapped into IPv6 as the IPv4 address); anything else (no address, a name) as it is."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return host or "-"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)
