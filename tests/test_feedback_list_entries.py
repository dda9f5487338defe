"""An entry of each provider's suppression (or block) list, read as an event: about an address, never a send.

The dedupe keys are pinned: a journal keeps the keys of what it applied, so an entry read again by a later version
must have the key an earlier one gave it, or it would be applied twice.
"""

from __future__ import annotations

import datetime as dt

import pytest

from actionmail.feedback import brevo, mailgun, postmark, resend, sendgrid, ses
from actionmail.feedback.events import FeedbackEvent, Kind

AT = dt.datetime(2019, 8, 1, 9, tzinfo=dt.UTC)


def entries(address: str) -> dict[str, FeedbackEvent | None]:
    """One entry of a list of each provider, naming ``address``."""
    return {
        "mailgun": mailgun.suppression(
            "bounces",
            {
                "address": address,
                "code": "550",
                "error": "No such mailbox",
                "created_at": "Thu, 01 Aug 2019 09:00:00 GMT",
            },
        ),
        "sendgrid": sendgrid.suppression(
            "blocks", {"email": address, "created": 1564650000, "reason": "blocked by receiver", "status": "5.7.1"}
        ),
        "postmark": postmark.suppression(
            "broadcast",
            {
                "EmailAddress": address,
                "SuppressionReason": "HardBounce",
                "Origin": "Recipient",
                "CreatedAt": "2019-08-01T09:00:00Z",
            },
        ),
        "resend": resend.suppression(
            {
                "id": "s-1",
                "email": address,
                "origin": "complaint",
                "source_id": "e-9",
                "created_at": "2019-08-01T09:00:00.000Z",
            }
        ),
        "brevo": brevo.blocked(
            {
                "email": address,
                "reason": {"code": "contactFlaggedAsSpam", "message": "Contact flagged as spam"},
                "blockedAt": "2019-08-01T09:00:00.000Z",
            }
        ),
        "ses": ses.suppressed({"EmailAddress": address, "Reason": "BOUNCE", "LastUpdateTime": AT}),
    }


def event(provider: str, kind: Kind, name: str, key: str, reason: str, message_id: str | None = None) -> FeedbackEvent:
    return FeedbackEvent(
        provider=provider,
        kind=kind,
        event=name,
        recipient="Ana@Example.org",
        at=AT,
        message_id=message_id,
        send_id=None,
        tag=None,
        dedupe_key=key,
        reason=reason,
    )


EXPECTED = {
    "mailgun": event(
        "mailgun",
        Kind.HARD_BOUNCE,
        "bounces/550",
        "mailgun:#807f3f3b04ae2fb27344f9444fbf486a5936606c",
        "No such mailbox",
    ),
    "sendgrid": event(
        "sendgrid",
        Kind.SOFT_BOUNCE,
        "blocks/5.7.1",
        "sendgrid:#402f93786180e59286be0d88e94cc4aa867b2157",
        "blocked by receiver",
    ),
    "postmark": event(
        "postmark",
        Kind.HARD_BOUNCE,
        "Suppression/HardBounce",
        "postmark:#96bdc817ea12ac8393d0d42fcbf4fe375f556c66",
        "Postmark: HardBounce (Recipient)",
    ),
    "resend": event(
        "resend",
        Kind.COMPLAINT,
        "suppression/complaint",
        "resend:#16e1fef7b1b0c0e2443d66adeb710e00f0ef2cbb",
        "on Resend's suppression list (complaint)",
        message_id="e-9",  # the email that put the address on the list
    ),
    "brevo": event(
        "brevo",
        Kind.COMPLAINT,
        "blocked/contactFlaggedAsSpam",
        "brevo:#b05c777addacc55b784c6262b7811445c19f97d8",
        "Contact flagged as spam",
    ),
    "ses": event(
        "ses",
        Kind.HARD_BOUNCE,
        "Suppressed/BOUNCE",
        "ses:#ecd50593c16f81c9d404ee82bc718ab9bc29c593",
        "on the SES account's suppression list (bounce)",
    ),
}


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_a_list_entry_is_an_event_about_an_address_with_the_key_it_always_had(provider: str) -> None:
    assert entries("Ana@Example.org")[provider] == EXPECTED[provider]


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_a_list_entry_has_one_key_however_the_address_is_written(provider: str) -> None:
    first, second = entries("Ana@Example.org")[provider], entries("ana@example.ORG")[provider]
    assert first is not None and second is not None
    assert first.dedupe_key == second.dedupe_key
