"""End to end, from real parts: the seed newsletter goes to the 1,000-member sample through the fake Mailgun;
while the real `actionmail serve` runs, 100 members one-click unsubscribe (at once, at the URL their own email
carries), 20 hard-bounce and 5 complain by signed Mailgun webhooks; the next newsletter reaches exactly the rest.

Only the mail provider is a fake (tests/fakes/mailgun.py, a real HTTP server). The sends are the CLI's, the
service is its own process over the same database, and the webhooks are signed with a key made here.
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import random
import re
import secrets
import shutil
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from actionmail import tokens
from actionmail.audience import Store
from actionmail.cli import main
from tests.conftest import ROOT, SEED
from tests.fakes.mailgun import MailgunFake
from tests.fakes.server import Delivered
from tests.feedback_signing import MAILGUN_KEY, mailgun_body
from tests.serve.conftest import KEY, Served, start, stop

API_KEY = "test-key-not-secret"
DOMAIN = "mg.example.org"
NEXT = "2019-08-02-no-police-facial-recognition-again"  # a different issue: a new send, not a resume
RESUBJECT = "Still no police partnerships on facial recognition"
UNSUBSCRIBING, BOUNCING, COMPLAINING = 100, 20, 5


@pytest.fixture
def mailgun() -> Iterator[MailgunFake]:
    fake = MailgunFake(API_KEY, domain=DOMAIN)
    with fake:
        yield fake


@pytest.fixture
def sample(project: Path, mailgun: MailgunFake, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example project sending through the fake Mailgun, with the 1,000 sample members and two newsletters."""
    monkeypatch.setenv(tokens.SECRET_KEY_VARIABLE, KEY)  # the key serve is started with (tests/serve/conftest.py)
    monkeypatch.setenv("ACTIONMAIL_MAILGUN_API_KEY", API_KEY)
    monkeypatch.setenv("ACTIONMAIL_MAILGUN_WEBHOOK_SIGNING_KEY", MAILGUN_KEY)
    settings = project / "actionmail.toml"
    settings.write_text(
        settings.read_text() + f'\n[providers.mailgun]\ndomain = "{DOMAIN}"\nbase_url = "{mailgun.url}"\n'
    )
    shutil.copy(ROOT / "sample" / "members.csv", project / "members.csv")
    result = CliRunner().invoke(main, ["subscribers", "import", "members.csv"])
    assert result.exit_code == 0, result.output
    shutil.copy(SEED, project / "newsletters" / SEED.name)
    subject = "subject: No police partnerships on facial recognition in Seattle\n"
    assert subject in SEED.read_text()
    (project / "newsletters" / f"{NEXT}.yaml").write_text(SEED.read_text().replace(subject, f"subject: {RESUBJECT}\n"))
    return project


def send(issue: str) -> str:
    result = CliRunner().invoke(main, ["send", f"newsletters/{issue}.yaml", "--yes", "--provider", "mailgun"])
    assert result.exit_code == 0, result.output
    return result.output


def received(fake: MailgunFake) -> dict[str, tuple[Delivered, str]]:
    """What each recipient got from the fake, with the id of the send it came from, checking that nobody got it
    twice; then the fake's record is emptied for the next send."""
    got = collections.Counter(message.to for message in fake.delivered)
    assert max(got.values()) == 1, [address for address, times in got.items() if times > 1][:5]
    messages = {message.to: message for message in fake.delivered}
    # Mailgun's events carry the message's v: variables back as user-variables: the send's id, per recipient.
    send_ids: dict[str, str] = {}
    for request in fake.requests:
        if request.method == "POST":
            form = request.form()
            for _, address in email.utils.getaddresses(form["to"]):
                send_ids[address] = form["v:send_id"][0]
    fake.delivered.clear()
    fake.requests.clear()
    return {address: (message, send_ids[address]) for address, message in messages.items()}


def one_click_url(served: Served, list_unsubscribe: str) -> str:
    """The https URL of a List-Unsubscribe header, on this server: the same path the email's link has."""
    (link,) = [str(u) for u in re.findall(r"<([^>]*)>", list_unsubscribe) if u.startswith("https://")]
    parts = urllib.parse.urlsplit(link)
    assert parts.netloc == "www.seattleindivisible.com" and not parts.query, link
    return served.base + parts.path


def mailgun_event(kind: str, address: str, message: Delivered, send_id: str) -> dict[str, Any]:
    """A Mailgun webhook's event-data for the message this recipient got (Mailgun's event-types doc)."""
    common = {
        "id": secrets.token_urlsafe(16),
        "timestamp": dt.datetime.now(dt.UTC).timestamp(),
        "recipient": address,
        "recipient-domain": address.rpartition("@")[2],
        "tags": [message.tag],
        "message": {"headers": {"message-id": (message.message_id or "").strip("<>"), "to": address, "subject": "x"}},
        "user-variables": {"send_id": send_id},
    }
    if kind == "complained":
        return {**common, "event": "complained"}
    return {
        **common,
        "event": "failed",
        "severity": "permanent",
        "reason": "bounce",
        "log-level": "error",
        "delivery-status": {
            "code": 550,
            "attempt-no": 1,
            "message": "5.1.1 The email account that you tried to reach does not exist.",
            "description": "",
        },
    }


def post(url: str, data: bytes | dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, str]:
    """POST as a stranger would: a connection of its own, closed once answered (a kept Response would hold it
    open, and uvicorn counts open connections against serve's limit)."""
    with requests.post(url, data=data, headers=headers, timeout=30) as answer:
        return answer.status_code, answer.text


def webhook(served: Served, body: bytes) -> tuple[int, str]:
    return post(f"{served.base}/webhooks/mailgun", body, {"Content-Type": "application/json"})


def test_unsubscribes_bounces_and_complaints_between_two_sends_leave_exactly_the_rest(
    sample: Path, mailgun: MailgunFake
) -> None:
    with Store.open(sample / "actionmail.db") as store:
        everyone = {member.email for member in store.subscribers()}
    assert len(everyone) == 1000

    # 1. The seed, to everyone.
    assert f"Send 1 of {SEED.stem} through mailgun: accepted 1,000" in send(SEED.stem)
    first = received(mailgun)
    assert set(first) == everyone

    chosen = random.Random(20190801).sample(sorted(everyone), UNSUBSCRIBING + BOUNCING + COMPLAINING + 1)
    leaving = chosen[:UNSUBSCRIBING]
    bouncing = chosen[UNSUBSCRIBING : UNSUBSCRIBING + BOUNCING]
    complaining = chosen[UNSUBSCRIBING + BOUNCING : -1]
    untouched = chosen[-1]  # the one a forged webhook names
    gone = set(leaving) | set(bouncing) | set(complaining)

    # 2 and 3. While the service runs: one-click unsubscribes and webhooks, all at once.
    served = start(sample)
    try:
        urls = {address: one_click_url(served, first[address][0].headers["List-Unsubscribe"]) for address in leaving}
        assert urls == {address: served.url(address) for address in leaving}  # what was sent is what is served
        assert first[leaving[0]][0].headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        bodies = {
            address: mailgun_body(mailgun_event(kind, address, *first[address]), at=dt.datetime.now(dt.UTC))
            for kind, addresses in (("failed", bouncing), ("complained", complaining))
            for address in addresses
        }
        calls: list[Callable[[], tuple[int, str]]] = [
            *(lambda url=url: post(url, {"List-Unsubscribe": "One-Click"}) for url in urls.values()),
            *(lambda body=body: webhook(served, body) for body in bodies.values()),
        ]
        random.Random(8058).shuffle(calls)
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda call: call(), calls))
        assert [answer for answer in answers if answer[0] != 200] == []
        assert collections.Counter(answers) == {
            (200, "You are unsubscribed.\n"): UNSUBSCRIBING,
            (200, "ok\n"): BOUNCING + COMPLAINING,
        }

        # Mailgun retries a webhook it thinks failed: applied once.
        assert webhook(served, bodies[bouncing[0]]) == (200, "ok\n")
        assert served.logged("mailgun: repeated 1")
        forged_event = mailgun_event("failed", untouched, *first[untouched])
        forged = mailgun_body(forged_event, key="key-" + "0" * 32, at=dt.datetime.now(dt.UTC))
        status, text = webhook(served, forged)
        assert status in (400, 401), text
    finally:
        stop(served)
    log = served.log
    assert "locked" not in log and "Traceback" not in log, log
    assert not [address for address in gone | {untouched} if address in log]  # no address goes to the log

    # 4. Serve stopped, the next newsletter: everyone but those 125.
    output = send(NEXT)
    second = received(mailgun)
    assert set(second) == everyone - gone
    assert f"Send 2 of {NEXT} through mailgun: accepted {len(everyone) - len(gone):,}\n" in output
    assert {message.subject for message, _ in second.values()} == {RESUBJECT}
    assert untouched in second

    # What the database says of each, and with what source.
    expected = {
        **{address: ("unsubscribed", "one-click") for address in leaving},
        **{address: ("bounced", "mailgun") for address in bouncing},
        **{address: ("complained", "mailgun") for address in complaining},
    }
    with Store.open(sample / "actionmail.db") as store:
        for address, (change, source) in expected.items():
            member = store.get(address)
            assert member is not None and str(member.status) == change, (address, member)
            assert [(e.change, e.source) for e in store.history(address)] == [(change, source)], address
        assert store.history(untouched) == []
        assert store.history(bouncing[0])[0].detail == "5.1.1 The email account that you tried to reach does not exist."
        assert store.count() == len(everyone) - len(gone)
    for address in (leaving[0], bouncing[0], complaining[0]):
        change, source = expected[address]
        shown = CliRunner().invoke(main, ["subscribers", "show", address])
        assert shown.exit_code == 0, shown.output
        assert f"  status: {change} since " in shown.output
        (row,) = [line for line in shown.output.splitlines() if re.match(r"  \d{4}-\d\d-\d\d \d\d:\d\d UTC ", line)]
        assert row.split()[3:5] == [change, source], shown.output
