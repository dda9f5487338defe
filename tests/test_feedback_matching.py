"""Matching an event to the message a send recorded: each provider's id as its send API gave it and as its
events repeat it."""

from __future__ import annotations

import datetime as dt

import pytest

from actionmail.feedback import WebhookRequest, same_message


@pytest.mark.parametrize(
    ("provider", "accepted", "reported", "same"),
    [
        ("mailgun", "<20261204183000.1.ABCDEF@mg.example.org>", "20261204183000.1.ABCDEF@mg.example.org", True),
        ("mailgun", "<20261204183000.1.ABCDEF@mg.example.org>", "20261204183000.2.ABCDEF@mg.example.org", False),
        ("sendgrid", "14c5d75ce93.dfd.64b469", "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", True),
        ("sendgrid", "14c5d75ce93.dfd.64b469", "14c5d75ce93.dfd.64b4690.filter0001.16648.5515E0B88.0", False),
        ("postmark", "883953f4-6105-42a2-a16a-77a8eac79483", "883953f4-6105-42a2-a16a-77a8eac79483", True),
        ("brevo", "<201908051833.123@smtp-relay.mailin.fr>", "<201908051833.123@smtp-relay.mailin.fr>", True),
        ("resend", "4ef9a417", "4ef9a4170", False),
        ("ses", "0100018c3d6a7b2e-000000", None, False),
        ("ses", "", "", False),
    ],
)
def test_same_message(provider: str, accepted: str, reported: str | None, same: bool) -> None:
    assert same_message(provider, accepted, reported) is same


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        WebhookRequest(headers={}, body=b"", now=dt.datetime(2026, 12, 4), secrets={})
