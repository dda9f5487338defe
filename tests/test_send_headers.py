"""No member can add a header: names and merge values are made safe after decoding, whatever Python's patch level.

The providers' contract (tests/contract.py) and the SMTP tests send the same hostile names through every
provider; here, the rule itself (providers.base.header_text), a fuzz of whole MIME messages, and a send through
the outbox of a name written straight into the database (past any cleaning at import).
"""

from __future__ import annotations

import email.parser
import email.policy
import os
import re
import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from actionmail.cli import main
from actionmail.providers import mime
from actionmail.providers.base import Recipient, header_fragment, header_text
from tests import sql
from tests.conftest import ROOT, SEED, write
from tests.contract import DEFUSED, HOSTILE, batch, hostile_recipient

HEADERS = [
    "from", "to", "reply-to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post", "list-id",
    "x-actionmail-tag", "x-actionmail-send", "mime-version", "content-type",
]  # fmt: skip


def parsed(raw: bytes) -> EmailMessage:
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_values_become_the_text_they_decode_to(hostile: str) -> None:
    assert header_text(hostile) == header_fragment(hostile) == DEFUSED


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Ana Pérez", "Ana Pérez"),  # nothing to do, nearly always
        ("  Ana\t", "Ana"),
        ("=?utf-8?q?Zo=C3=AB?= <Q>", "Zoë <Q>"),  # an encoded word is read as what it says
        ("=?utf-8?b?!!!?=", ""),
        ("2+2=?", "2+2=?"),  # not an encoded word: left alone
        ("=?bad?x?text?=", "=?bad?x?text?="),  # nor is this (no q or b)
        ("a\x00b\x1fc\x7fd\x85e", "a b c d e"),
        # What only the email package reads as an encoded word (no closing ?=, an empty charset): found by the fuzz.
        ("=??q?=0D, call", "= ??q?=0D, call"),
        ("=?utf-8?q?=0D=0ABcc:_a@evil.example", "= ?utf-8?q?=0D=0ABcc:_a@evil.example"),
    ],
)
def test_header_text(value: str, text: str) -> None:
    assert header_text(value) == text


def test_two_fragments_cannot_make_an_encoded_word_between_them() -> None:
    first, last = header_fragment("=?utf-8?q?Ev=0D=0A"), header_fragment("Bcc:_a@evil.example?=")
    assert not re.search(r"=\?.*\?=", first + last)


# Pieces of encoded words, line breaks and address syntax, shuffled together with any text.
PIECES = st.sampled_from(
    ["=?", "?=", "utf-8", "UTF-8", "iso-8859-1", "x-unknown", "?q?", "?Q?", "?b?", "?B?", "=0D", "=0A", "=0D=0A",
     "_", "\r", "\n", "\r\n", "\u2028", "\x85", "\t", " ", "Bcc:", "Cc:", "a@evil.example", ",", ";", '"', "\\",
     "<", ">", "(", ")", "Zoë", "RXYNCkJjYzogYUBldmlsLmV4YW1wbGU=", *HOSTILE]
)  # fmt: skip
HOSTILE_TEXT = st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=12).map("".join)


@settings(
    max_examples=int(os.environ.get("ACTIONMAIL_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(name=HOSTILE_TEXT, first_name=HOSTILE_TEXT)
@example(name="", first_name="=??q?=0D")  # the email package decodes these, with no closing ?=
@example(name="", first_name="=??b?=0D")
@example(name="RXYNCkJjYzogYUBldmlsLmV4YW1wbGU=" * 2 + HOSTILE[0], first_name="")  # a long name, folded
def test_fuzz_no_value_adds_a_header(name: str, first_name: str) -> None:
    """Whatever the name and {first_name}: the headers set and no others, one To address, every value one line.

    mime.encode would refuse a message whose headers changed; here it must never need to (header_text alone
    keeps them out). ACTIONMAIL_FUZZ_EXAMPLES=20000 runs a larger fuzz (docs/delivery.md).
    """
    person = Recipient("7", "r7@example.org", name, {"first_name": first_name, "unsubscribe_url": "https://e.org/u/7"})
    got = parsed(mime.encode(mime.message(batch([person]), person), mime.WIRE))
    assert [h.lower() for h in got] == HEADERS
    assert [a.addr_spec for a in got["To"].addresses] == ["r7@example.org"]
    for header in ("To", "Subject"):
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", str(got[header]))


def test_encode_refuses_a_message_whose_headers_changed() -> None:
    """The backstop, should header_text ever miss: a header line that is not one we set stops the message."""
    person = hostile_recipient("Ana")
    message = mime.message(batch([person]), person)
    message.replace_header("Subject", "Hi")
    message._headers = [  # type: ignore[attr-defined]  # as a folding bug would write it
        (k, v.replace("Hi", "Hi\nBcc: a@evil.example")) if k == "Subject" else (k, v)
        for k, v in message._headers  # type: ignore[attr-defined]
    ]
    with pytest.raises(mime.UnsafeHeader):
        mime.encode(message)


def test_a_name_put_straight_into_the_database_adds_no_header(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past any cleaning at import: the name is in the database as an attacker would have it."""
    shutil.copy(ROOT / "sample" / "members.csv", project / "members.csv")
    assert CliRunner().invoke(main, ["subscribers", "import", "members.csv"]).exit_code == 0
    write(project / "newsletters", SEED.name, SEED.read_text())
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", "k" * 32)
    sql.execute(
        project / "actionmail.db", "UPDATE subscribers SET first_name = ?, last_name = NULL WHERE id = 7", (HOSTILE[0],)
    )
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes"])
    assert result.exit_code == 0, result.output
    got = parsed((project / "outbox" / SEED.stem / "7.eml").read_bytes())
    assert [h.lower() for h in got] == HEADERS
    assert [a.display_name for a in got["To"].addresses] == [DEFUSED]
