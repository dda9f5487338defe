"""Provider events: each documented shape of Mailgun, SendGrid and Postmark is read into the right suppressions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from actionmail.audience import Status
from actionmail.errors import InvalidInput
from actionmail.feedback.files import SHAPES, read_events
from tests.conftest import ROOT, write

FIXTURES = ROOT / "tests" / "fixtures" / "audience"
B, C, U = Status.BOUNCED, Status.COMPLAINED, Status.UNSUBSCRIBED


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "provider", "records", "ignored", "expected"),
    [
        (
            "mailgun-webhook.json",
            "Mailgun events",
            1,
            0,
            [
                (
                    "maria.garcia@example.org",
                    B,
                    utc(2019, 8, 5, 18, 33, 20),
                    "5.1.1 The email account that you tried to reach does not exist.",
                )
            ],
        ),
        (
            "mailgun-events.json",
            "Mailgun events",
            5,
            2,  # a temporary failure, a delivery
            [
                (
                    "maria.garcia@example.org",
                    B,
                    utc(2019, 8, 5, 18, 33, 20),
                    "5.1.1 The email account that you tried to reach does not exist.",
                ),
                ("wei.chen@example.net", C, utc(2019, 8, 5, 18, 36, 40), "spam complaint"),
                ("jose.lopez@example.org", U, utc(2019, 8, 5, 18, 38, 20), "unsubscribed through Mailgun"),
            ],
        ),
        (
            "mailgun-bounces.csv",
            "Mailgun suppressions",
            2,
            0,
            [
                (
                    "maria.garcia@example.org",
                    B,
                    utc(2019, 8, 5, 18, 33, 20),
                    "5.1.1 The email account that you tried to reach does not exist.",
                ),
                (
                    "olga.nowak@example.net",
                    B,
                    utc(2019, 8, 6, 9, 12, 45),
                    "550 5.1.1 <olga.nowak@example.net>: Recipient address rejected: User unknown",
                ),
            ],
        ),
        (
            "mailgun-unsubscribes.csv",
            "Mailgun suppressions",
            1,
            0,
            [("jose.lopez@example.org", U, utc(2019, 8, 5, 18, 38, 20), "unsubscribed through Mailgun")],
        ),
        (
            "mailgun-complaints.csv",
            "Mailgun suppressions",
            1,
            0,
            [("wei.chen@example.net", C, utc(2019, 8, 5, 18, 36, 40), "spam complaint")],
        ),
        (
            "sendgrid-events.json",
            "SendGrid event webhook",
            7,
            3,  # a block, a deferral, a delivery
            [
                (
                    "maria.garcia@example.org",
                    B,
                    utc(2019, 8, 5, 18, 33, 20),
                    "550 5.1.1 The email account that you tried to reach does not exist.",
                ),
                ("wei.chen@example.net", C, utc(2019, 8, 5, 18, 36, 40), "spam report"),
                ("jose.lopez@example.org", U, utc(2019, 8, 5, 18, 38, 20), "unsubscribed through SendGrid"),
                ("olga.nowak@example.net", B, utc(2019, 8, 5, 18, 40, 50), "dropped by SendGrid: Bounced Address"),
            ],
        ),
        (
            "sendgrid-bounces.json",
            "SendGrid suppressions",
            2,
            1,  # 4.2.2, a full mailbox
            [
                (
                    "maria.garcia@example.org",
                    B,
                    utc(2019, 8, 5, 18, 33, 20),
                    "550 5.1.1 The email account that you tried to reach does not exist.",
                )
            ],
        ),
        (
            "postmark-bounce.json",
            "Postmark webhook",
            1,
            0,
            [
                (
                    "maria.garcia@example.org",
                    B,
                    utc(2019, 8, 5, 18, 33, 20),
                    "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
                )
            ],
        ),
        (
            "postmark-webhooks.ndjson",
            "Postmark webhook",
            6,
            3,  # a soft bounce, a reactivation, a delivery
            [
                (
                    "maria.garcia@example.org",
                    B,
                    utc(2019, 8, 5, 18, 33, 20),
                    "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
                ),
                ("wei.chen@example.net", C, utc(2019, 8, 5, 18, 36, 40), "spam complaint"),
                ("jose.lopez@example.org", U, utc(2019, 8, 5, 18, 38, 20), "Postmark: ManualSuppression"),
            ],
        ),
        (
            "postmark-suppressions.json",
            "Postmark suppressions",
            3,
            0,
            [
                ("maria.garcia@example.org", B, utc(2019, 8, 5, 18, 33, 20), "Postmark: HardBounce"),
                ("wei.chen@example.net", C, utc(2019, 8, 5, 18, 36, 40), "Postmark: SpamComplaint"),
                ("jose.lopez@example.org", U, utc(2019, 8, 5, 18, 38, 20), "Postmark: ManualSuppression"),
            ],
        ),
    ],
)
def test_provider_shapes(
    name: str, provider: str, records: int, ignored: int, expected: list[tuple[object, ...]]
) -> None:
    found = read_events(FIXTURES / name)
    assert (found.providers, found.records, found.ignored, found.problems) == ([provider], records, ignored, [])
    assert [(e.email, e.status, e.at, e.detail) for e in found.events] == expected
    assert {e.source for e in found.events} == {f"{provider} ({name})"}


def test_saved_webhook_posts_one_per_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    found = read_events(FIXTURES / "sendgrid-posts.ndjson")
    assert (found.records, found.ignored) == (4, 1)
    assert [(e.email, e.status) for e in found.events] == [("maria.garcia@example.org", B), ("wei.chen@example.net", C)]
    assert [str(p) for p in found.problems] == [
        "sendgrid-posts.ndjson:3: [0]: 'not-an-address' is not a valid email address (An email address must have an "
        "@-sign.): nothing suppressed"
    ]


def test_an_unknown_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "contacts.json", '[{"name": "Ana", "phone": "206-555-0100"}]')
    with pytest.raises(InvalidInput) as raised:
        read_events(tmp_path / "contacts.json")
    assert str(raised.value) == f"contacts.json: no record of a shape actionmail understands: pass one of: {SHAPES}"
    write(tmp_path, "members.csv", "Email Address,First Name\nana@example.org,Ana\n")
    with pytest.raises(InvalidInput) as raised:
        read_events(tmp_path / "members.csv")
    assert str(raised.value).startswith("members.csv: no record of a shape actionmail understands: pass one of: ")
    write(tmp_path, "broken.ndjson", '{"event": "bounce", "email": "a@example.org"}\n{"event": \n')
    with pytest.raises(InvalidInput) as raised:
        read_events(tmp_path / "broken.ndjson")
    assert str(raised.value) == (f"broken.ndjson:2: not JSON (Expecting value, character 11): pass one of: {SHAPES}")
    write(tmp_path, "empty.json", "[]")
    with pytest.raises(InvalidInput) as raised:
        read_events(tmp_path / "empty.json")
    assert str(raised.value) == f"empty.json: no records: pass one of: {SHAPES}"
