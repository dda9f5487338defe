"""Members' tokens: per subscriber, unguessable, checkable offline with the organization's secret key; and the
signing the sign-up form's tokens share with them (:func:`sign`, one label per purpose).

A token is ``<id>.<mac>``: the subscriber's id in the store and 16 bytes of HMAC-SHA256 over the list, that id and
the address, keyed with the secret. It carries no address, so an unsubscribe URL never shows one; changing the id
or the MAC, or signing with any other key, fails verification. Checking one needs only the key and the address
on file for the id — no call to a mail provider.

The key comes from the environment (``ACTIONMAIL_SECRET_KEY``) or from a key file readable by its owner only;
never from ``actionmail.toml``, and it never appears in output or errors.

Each token has a purpose, which the MAC covers: an unsubscribe link's token, and a report link's (the "Let us know
you called" and one-tap survey buttons, :mod:`actionmail.serve.reports`), are made for the same member from the
same key, yet neither verifies as the other. A report link can't unsubscribe anyone, nor the other way.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
import secrets
import stat
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path

from actionmail.errors import ActionmailError, ExitCode

SECRET_KEY_VARIABLE = "ACTIONMAIL_SECRET_KEY"
_MIN_KEY_BYTES = 16
_MAC_BYTES = 16


class MissingSecret(ActionmailError):
    """No usable secret key: the message says exactly how to provide one."""

    exit_code = ExitCode.INVALID_INPUT


def key_file(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    config = Path(environ.get("XDG_CONFIG_HOME") or Path(environ.get("HOME", "~")).expanduser() / ".config")
    return config / "actionmail" / "secret_key"


def secret_key(environ: Mapping[str, str] | None = None) -> bytes:
    """The organization's secret: ``ACTIONMAIL_SECRET_KEY``, else the key file (which must be mode 0600)."""
    environ = os.environ if environ is None else environ
    value = environ.get(SECRET_KEY_VARIABLE)
    source = SECRET_KEY_VARIABLE
    if not value:
        path = key_file(environ)
        if not path.exists():
            raise MissingSecret(
                f"no secret key for unsubscribe links: set {SECRET_KEY_VARIABLE}, or write one to {path} with "
                "mode 600 (generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise MissingSecret(f"{path} can be read by others (mode {mode:o}): run chmod 600 {path}")
        value, source = path.read_text(encoding="utf-8").strip(), str(path)
    key = value.encode()
    if len(key) < _MIN_KEY_BYTES:
        raise MissingSecret(
            f"the secret key in {source} is too short ({len(key)} bytes; at least {_MIN_KEY_BYTES}): "
            "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return key


def create_key_file(environ: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """Write a new random key to the key file, readable by its owner only, unless one is there already."""
    path = key_file(environ)
    if path.exists():
        secret_key(environ)  # still check it: a readable or short key file is an error, not "nothing to do"
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
    return path, True


def _mac(key: bytes, list_id: str, subscriber_id: int, email: str, purpose: Purpose) -> str:
    return _sign(key, purpose, (list_id, str(subscriber_id), email.lower()))


# What a MAC is for. Each purpose's MACs start from its own label ("actionmail-<purpose>-v1" and a NUL), so that no
# MAC made for one purpose is ever valid for another, whatever the parts: a sign-up confirmation link can't be
# turned into an unsubscribe link, nor the reverse, though both are made with the one secret key.
Purpose = str
UNSUBSCRIBE: Purpose = "unsubscribe"  # a member's unsubscribe link
REPORT: Purpose = "report"  # a member's report-back and survey links (actionmail.serve.reports)
SIGNUP_CONFIRM: Purpose = "signup-confirm"  # the link a sign-up's confirmation email carries
SIGNUP_FORM: Purpose = "signup-form"  # when the sign-up form was served (the minimum time to fill it in)
SIGNUP_CLIENT: Purpose = "signup-client"  # a client's network, as the sign-up rate limit keeps it (never its address)
PURPOSES = (UNSUBSCRIBE, REPORT, SIGNUP_CONFIRM, SIGNUP_FORM, SIGNUP_CLIENT)


def sign(key: bytes, purpose: str, *parts: str) -> str:
    """16 bytes of HMAC-SHA256 over ``parts`` for ``purpose`` (one of :data:`PURPOSES`), unpadded URL-safe base64.
    The parts are joined with NUL, which none of them may contain (so two different lists of parts never make
    the same message)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    if any("\0" in part for part in parts):
        raise ValueError("a part to sign contains NUL")
    return _sign(key, purpose, parts)


def _sign(key: bytes, purpose: str, parts: tuple[str, ...]) -> str:
    mac = _keyed(key, purpose).copy()  # the key's inner and outer pads are hashed once per key, not per token
    mac.update("\0".join(parts).encode("utf-8", "surrogatepass"))  # a lone surrogate from a URL is still text
    return base64.urlsafe_b64encode(mac.digest()[:_MAC_BYTES]).rstrip(b"=").decode()


def signed(key: bytes, purpose: str, mac: str, *parts: str) -> bool:
    """Whether ``mac`` is :func:`sign`'s for these parts; False for anything else, never an exception."""
    if not (isinstance(mac, str) and mac.isascii()) or any("\0" in part for part in parts):
        return False
    return hmac.compare_digest(mac.encode("ascii"), sign(key, purpose, *parts).encode("ascii"))


@functools.lru_cache(maxsize=16)
def _keyed(key: bytes, purpose: str) -> hmac.HMAC:
    return hmac.new(key, f"actionmail-{purpose}-v1\0".encode(), hashlib.sha256)


def make(key: bytes, list_id: str, subscriber_id: int, email: str, purpose: Purpose = UNSUBSCRIBE) -> str:
    """The token for one subscriber of one list, for one purpose (an unsubscribe link's, unless said)."""
    return f"{subscriber_id}.{_mac(key, list_id, subscriber_id, email, purpose)}"


# What make() writes, and nothing else: an id in canonical form (ASCII digits, no leading zero, at most 18 of
# them so it is a SQLite integer) and the MAC in unpadded URL-safe base64. str.isdigit() and int() also take
# Arabic-Indic and full-width digits, and int() leading zeros, so one token had many spellings; and
# compare_digest() raises on a non-ASCII str. fullmatch, not match: '$' would also allow a newline at the end.
_MAC_CHARS = len(base64.urlsafe_b64encode(bytes(_MAC_BYTES)).rstrip(b"="))
_TOKEN = re.compile(rf"(0|[1-9][0-9]{{0,17}})\.([A-Za-z0-9_-]{{{_MAC_CHARS}}})")


def verify(
    key: bytes,
    list_id: str,
    token: object,
    email_for_id: Callable[[int], str | None],
    purpose: Purpose = UNSUBSCRIBE,
) -> int | None:
    """The subscriber id a genuine token for ``purpose`` names, or None for anything forged, altered, malformed,
    unknown or made for another purpose.

    Never raises, whatever ``token`` is: an unsubscribe page passes it whatever the internet sends.
    """
    if not isinstance(token, str):
        return None
    parsed = _TOKEN.fullmatch(token)
    if parsed is None:
        return None
    subscriber_id = int(parsed[1])
    email = email_for_id(subscriber_id)
    if email is None:
        return None
    expected = _mac(key, list_id, subscriber_id, email, purpose).encode("ascii")
    return subscriber_id if hmac.compare_digest(parsed[2].encode("ascii"), expected) else None


_TOKEN_IN_TEXT = re.compile(rf"(?<![0-9A-Za-z_.-])[0-9]{{1,18}}\.[A-Za-z0-9_-]{{{_MAC_CHARS}}}(?![0-9A-Za-z_-])")


def find(text: str, url_template: str) -> str:
    """The token in ``text``: a token as it is, or pasted with the whole unsubscribe link around it (the link
    made from ``url_template``, or any text with one token-shaped word in it). What :func:`verify` should be
    given; text with no token in it comes back trimmed, to fail verification."""
    text = text.strip()
    prefix, found, suffix = url_template.partition("{token}")
    if found and len(text) > len(prefix) + len(suffix) and text.startswith(prefix) and text.endswith(suffix):
        return urllib.parse.unquote(text[len(prefix) : len(text) - len(suffix)])
    words = _TOKEN_IN_TEXT.findall(urllib.parse.unquote(text))
    return words[0] if len(words) == 1 else text
