"""providers/mime.py: each recipient's whole message, parsed back with the standard library to check every part."""

from __future__ import annotations

import dataclasses
import email.policy
import email.utils
import itertools
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from actionmail.merge import Merge
from actionmail.providers import mime
from actionmail.providers.base import Recipient
from tests.contract import HTML, SUBJECT, TEXT, batch, recipients


def parsed(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage) and not message.defects
    return message


def test_every_header_and_both_parts_survive_a_round_trip() -> None:
    person = recipients(2)[1]  # named "Zoë <Q>": non-ASCII and address specials in the display name
    sent = batch([person], from_="Acción Ciudadana <action@example.org>", reply_to="Info <info@example.org>")
    raw = mime.message(sent, person).as_bytes(policy=mime.POLICY.clone(linesep="\r\n"))
    assert raw.isascii()  # 7-bit clean: encoded words in headers, quoted-printable bodies
    got = parsed(raw)

    assert [(a.display_name, a.addr_spec) for a in got["From"].addresses] == [
        ("Acción Ciudadana", "action@example.org")
    ]
    assert [(a.display_name, a.addr_spec) for a in got["To"].addresses] == [("Zoë <Q>", "r1@example.org")]
    assert [a.addr_spec for a in got["Reply-To"].addresses] == ["info@example.org"]
    assert got["Subject"] == "Zoë <Q>, call the mayor"
    assert "=?utf-8?" in raw.split(b"\r\n\r\n")[0].decode()  # …because the raw header was RFC 2047-encoded
    assert got["Date"].datetime.tzinfo is not None
    assert email.utils.parseaddr(got["Message-ID"])[1].endswith("@example.org")
    assert got["List-Unsubscribe"] == (
        "<https://example.org/unsubscribe/1.tok1>, <mailto:unsubscribe@example.org?subject=unsubscribe%201.tok1>"
    )
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert got["List-Id"] == "Daily action <daily-action.example.org>"
    assert got["X-Actionmail-Tag"] == "2019-08-01-no-police-facial-recognition"
    assert got["X-Actionmail-Send"] == "send-1"
    assert got["MIME-Version"] == "1.0"

    assert got.get_content_type() == "multipart/alternative"
    parts = list(got.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]  # the last is preferred
    assert all(p.get_content_charset() == "utf-8" and "MIME-Version" not in p for p in parts)
    subject, html, text = sent.content(person)
    assert got["Subject"] == subject
    # CRLF on the wire, as SMTP wants; email ends every text part with a line break.
    assert parts[0].get_content().replace("\r\n", "\n") == text
    assert parts[1].get_content().replace("\r\n", "\n") == html + "\n"
    assert "Zoë &lt;Q&gt;" in html  # escaped in HTML, as the merge fields say, and not in the text part
    assert "Zoë <Q>" in text


def test_a_long_unsubscribe_url_stays_readable() -> None:
    """Default folding would turn a URL longer than a line into encoded words, unusable as a one-click link."""
    person = recipients(1)[0]
    url = "https://www.example.org/unsubscribe/" + "a1b2c3d4" * 16
    person = dataclasses.replace(person, values={**person.values, "unsubscribe_url": url})
    raw = mime.message(batch([person]), person).as_bytes()
    assert f"List-Unsubscribe: <{url}>,\n <mailto:".encode() in raw
    assert b"=?" not in raw.split(b"\n\n")[0].split(b"List-Unsubscribe:")[1].split(b"List-Unsubscribe-Post")[0]
    assert parsed(raw)["List-Unsubscribe"].startswith(f"<{url}>, <mailto:")


@pytest.mark.parametrize(
    "subject",
    [
        "Strike for the climate Friday, and put the Green New Deal in Seattle's budget",  # the climate example's
        "Strike for the climate Friday, and put the Green New Deal in Seattles budget",
        "Tell the council: " + "no more delays " * 8,
        "¡Los Dreamers no pueden esperar! Llama hoy a tus senadores para que aprueben el Dream Act",
    ],
)
def test_a_long_subject_is_folded_from_its_first_line(subject: str) -> None:
    """The default folding wrote a 76-character subject as "Subject:", an empty first line, then the subject."""
    person = recipients(1)[0]
    sent = dataclasses.replace(batch([person]), subject=Merge.parse(subject, escape=False))
    for policy in (mime.POLICY, mime.WIRE):
        raw = mime.message(sent, person).as_bytes(policy=policy)
        lines = raw.split(policy.linesep.encode() * 2)[0].decode().split(policy.linesep)
        start = next(i for i, line in enumerate(lines) if line.startswith("Subject:"))
        folded = [lines[start], *itertools.takewhile(lambda line: line.startswith(" "), lines[start + 1 :])]
        assert folded[0].removeprefix("Subject:").strip(), folded
        assert all(len(line) <= 78 for line in folded), folded
        assert parsed(raw)["Subject"] == subject.strip()


def test_merge_values_cannot_add_headers() -> None:
    person = Recipient(
        key="7",
        email="r7@example.org",
        name="Mallory\r\nBcc: everyone@example.org",
        values={"first_name": "Eve\nBcc: everyone@example.org", "unsubscribe_url": "https://example.org/u/7"},
    )
    got = parsed(mime.message(batch([person]), person).as_bytes())
    assert "Bcc" not in got
    assert got["Subject"] == "Eve Bcc: everyone@example.org, call the mayor"
    assert [a.addr_spec for a in got["To"].addresses] == ["r7@example.org"]


def test_without_a_mailto_or_reply_to() -> None:
    person = recipients(1)[0]  # no name: the To header is the bare address
    got = parsed(mime.message(batch([person], reply_to=None, unsubscribe_mailto=None), person).as_bytes())
    assert "Reply-To" not in got
    assert got["To"] == "r0@example.org"
    assert got["List-Unsubscribe"] == "<https://example.org/unsubscribe/0.tok0>"


def test_every_message_gets_its_own_message_id() -> None:
    people = recipients(3)
    sent = batch(people)
    ids = {mime.message(sent, p)["Message-ID"] for p in people * 2}
    assert len(ids) == 6


def test_the_templates_are_the_contract_ones() -> None:
    # Guards the assumptions above: the subject and bodies have the per-reader fields these tests rely on.
    assert "{first_name|Friend}" in SUBJECT and "{unsubscribe_url}" in HTML and "{first_name|friend}" in TEXT


def test_a_message_of_our_own_has_no_list_headers() -> None:
    """A sign-up's confirmation, as the outbox, SMTP and SES write it: no unsubscribe for someone who is not a
    member, no List-Id, and Auto-Submitted (RFC 3834) so that auto-responders don't answer it."""
    person = Recipient("signup-1", "r1@example.org", None, {})
    got = parsed(mime.encode(mime.message(batch([person], transactional=True), person)))
    assert not {"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"} & set(got.keys())
    assert got["Auto-Submitted"] == "auto-generated"
    assert [a.addr_spec for a in got["To"].addresses] == ["r1@example.org"]
