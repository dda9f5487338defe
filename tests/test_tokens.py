"""Unsubscribe tokens: genuine ones verify; forged, altered or foreign ones don't; the key's sources."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actionmail import tokens

KEY = b"k" * 32
ADDRESSES = {7: "ana.perez@example.org", 8: "bob@example.org"}


def verify(token: str, key: bytes = KEY, list_id: str = "daily-action") -> int | None:
    return tokens.verify(key, list_id, token, ADDRESSES.get)


def test_a_genuine_token_names_its_subscriber_and_no_address() -> None:
    token = tokens.make(KEY, "daily-action", 7, "ana.perez@example.org")
    assert verify(token) == 7
    assert "@" not in token and "ana" not in token.lower()
    assert verify(tokens.make(KEY, "daily-action", 7, "Ana.Perez@Example.org")) == 7  # case does not matter


def test_tampered_forged_and_foreign_tokens_fail() -> None:
    token = tokens.make(KEY, "daily-action", 7, "ana.perez@example.org")
    subscriber, mac = token.split(".")
    assert verify(f"8.{mac}") is None  # someone else's id with this MAC
    assert verify(f"{subscriber}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}") is None  # one character changed
    assert verify(tokens.make(b"x" * 32, "daily-action", 7, "ana.perez@example.org")) is None  # another key
    assert verify(token, list_id="another-list") is None
    assert verify(tokens.make(KEY, "daily-action", 99, "x@example.org")) is None  # unknown id
    for garbage in ("", ".", "7.", "abc.def", "7", "-1.xyz"):
        assert verify(garbage) is None


def test_tokens_differ_per_subscriber_and_cannot_be_guessed_from_each_other() -> None:
    a = tokens.make(KEY, "daily-action", 7, "ana.perez@example.org").split(".")[1]
    b = tokens.make(KEY, "daily-action", 8, "bob@example.org").split(".")[1]
    assert a != b and len(a) == len(b) == 22


def test_a_report_token_and_an_unsubscribe_token_never_stand_for_each_other() -> None:
    unsubscribe = tokens.make(KEY, "daily-action", 7, "ana.perez@example.org")
    report = tokens.make(KEY, "daily-action", 7, "ana.perez@example.org", tokens.REPORT)
    assert report != unsubscribe and report.startswith("7.")
    assert tokens.verify(KEY, "daily-action", report, ADDRESSES.get, tokens.REPORT) == 7
    assert verify(report) is None  # a report link can't unsubscribe anyone…
    assert tokens.verify(KEY, "daily-action", unsubscribe, ADDRESSES.get, tokens.REPORT) is None  # …nor the reverse


def test_unsubscribe_tokens_are_what_they_were_before_purposes() -> None:
    """Links already in inboxes must keep working: the MAC of an unsubscribe token is unchanged."""
    assert tokens.make(KEY, "daily-action", 7, "ana.perez@example.org") == "7.7Dai4uVJLIYI7y7efA92dw"


def test_key_from_the_environment() -> None:
    assert tokens.secret_key({"ACTIONMAIL_SECRET_KEY": "s" * 20}) == b"s" * 20


def test_key_file_must_be_private(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    path = tmp_path / "actionmail" / "secret_key"
    with pytest.raises(tokens.MissingSecret) as missing:
        tokens.secret_key(environ)
    assert str(missing.value).startswith(
        f"no secret key for unsubscribe links: set ACTIONMAIL_SECRET_KEY, or write one to {path}"
    )
    path.parent.mkdir()
    path.write_text("f" * 32 + "\n")
    os.chmod(path, 0o644)
    with pytest.raises(tokens.MissingSecret) as readable:
        tokens.secret_key(environ)
    assert str(readable.value) == f"{path} can be read by others (mode 644): run chmod 600 {path}"
    os.chmod(path, 0o600)
    assert tokens.secret_key(environ) == b"f" * 32


def test_short_key_is_refused_without_showing_it() -> None:
    with pytest.raises(tokens.MissingSecret) as short:
        tokens.secret_key({"ACTIONMAIL_SECRET_KEY": "hunter2"})
    assert "hunter2" not in str(short.value)
    assert str(short.value).startswith("the secret key in ACTIONMAIL_SECRET_KEY is too short (7 bytes; at least 16)")


def test_create_key_file_is_private_and_idempotent(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    path, created = tokens.create_key_file(environ)
    assert created and path == tmp_path / "actionmail" / "secret_key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    key = tokens.secret_key(environ)
    assert len(key) >= 32
    assert tokens.create_key_file(environ) == (path, False)
    assert tokens.secret_key(environ) == key


def test_one_token_has_one_spelling() -> None:
    token = tokens.make(KEY, "daily-action", 7, "ana.perez@example.org")
    mac = token.split(".")[1]
    assert verify(f"7.{mac}") == 7
    # Leading zeros, Arabic-Indic and full-width digits are other spellings of the id, not the token.
    for other in (
        f"0007.{mac}",
        f"\u0667.{mac}",
        f"\uff17.{mac}",
        f"+7.{mac}",
        f" 7.{mac}",
        f"7.{mac}\n",
        f"7.{mac}==",
    ):
        assert verify(other) is None, other


def test_malformed_tokens_are_invalid_not_errors() -> None:
    mac = tokens.make(KEY, "daily-action", 7, "ana.perez@example.org").split(".")[1]
    for garbage in (f"7.{'é' * 22}", f"7.{mac[:-1]}é", "9" * 5000 + f".{mac}", "1" * 19 + f".{mac}", f"7.{mac}\ud800"):
        assert verify(garbage) is None


@settings(max_examples=int(os.environ.get("ACTIONMAIL_FUZZ_EXAMPLES", "300")), deadline=None)
@given(st.text())
def test_any_text_is_a_token_or_none(text: str) -> None:
    # Whatever an unsubscribe page is sent: never an exception, and only the genuine token verifies.
    assert verify(text) is None
    assert verify(text + "." + text) is None
    mac = tokens.make(KEY, "daily-action", 7, "ana.perez@example.org").split(".")[1]
    assert verify(f"{text}.{mac}") == (7 if text == "7" else None)


def test_each_purpose_signs_apart_so_no_token_serves_another() -> None:
    """The sign-up's MACs share the key with the unsubscribe tokens, never their values: the same parts signed
    for two purposes give two MACs, and an unsubscribe token's MAC is no sign-up MAC (nor the reverse)."""
    parts = ("daily-action", "7", "ana.perez@example.org")
    macs = {purpose: tokens.sign(KEY, purpose, *parts) for purpose in tokens.PURPOSES}
    assert len(set(macs.values())) == len(tokens.PURPOSES)
    unsubscribe = tokens.make(KEY, "daily-action", 7, "ana.perez@example.org")
    assert unsubscribe.split(".")[1] == macs[tokens.UNSUBSCRIBE]
    assert not tokens.signed(KEY, tokens.SIGNUP_CONFIRM, unsubscribe.split(".")[1], *parts)
    assert tokens.signed(KEY, tokens.SIGNUP_CONFIRM, macs[tokens.SIGNUP_CONFIRM], *parts)
    assert verify(f"7.{macs[tokens.SIGNUP_CONFIRM]}") is None
    # Parts are joined with NUL, so none may hold one: ("a\0b",) and ("a", "b") would be the same message.
    with pytest.raises(ValueError, match="NUL"):
        tokens.sign(KEY, tokens.SIGNUP_FORM, "a\0b")
    assert not tokens.signed(KEY, tokens.SIGNUP_FORM, tokens.sign(KEY, tokens.SIGNUP_FORM, "a", "b"), "a\0b")
    with pytest.raises(ValueError, match="purpose"):
        tokens.sign(KEY, "something-else", "a")


@given(st.text(max_size=40), st.text(max_size=40))
@settings(max_examples=200, deadline=None)
def test_checking_a_mac_never_raises(mac: str, part: str) -> None:
    assert tokens.signed(KEY, tokens.SIGNUP_FORM, mac, part) in (True, False)
