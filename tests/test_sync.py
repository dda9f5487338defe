"""`actionmail sync`, and the sync `send` runs first: through the real Mailgun module against its fake on 127.0.0.1,
over the real subscriber database. What must hold: each entry of a provider's lists is applied once, however often
it is read; an interrupted sync goes on where it stopped; a send mails nobody the provider suppressed, unless told
not to look (and then says so); and uncertain recipients end up sent to exactly once.
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from actionmail import audience, delivery, providers
from actionmail import sync as syncing
from actionmail.audience import Status
from actionmail.cli import main
from actionmail.config import load_project
from actionmail.feedback import journal
from actionmail.providers import mailgun as mailgun_module
from actionmail.providers.base import Provider
from actionmail.providers.pull import Retry
from tests.conftest import ROOT, SEED, use_provider, write
from tests.fakes.mailgun import MailgunFake
from tests.fakes.postmark import PostmarkFake
from tests.fakes.server import FakeProvider, Fault
from tests.sender import edition_for_send

KEY = "k" * 32
API_KEY = "test-key-not-secret"
MEMBERS = ["ana@example.org", "bo@example.org", "cy@example.net", "di@example.org"]
QUICK = Retry(attempts=3, backoff=0.001, max_wait=1.0)


@pytest.fixture
def mailgun(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailgunFake]:
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", KEY)
    monkeypatch.setenv("ACTIONMAIL_MAILGUN_API_KEY", API_KEY)
    monkeypatch.setattr(Provider, "pull_retry", QUICK)  # how each provider retries a page it reads
    write(project / "newsletters", SEED.name, SEED.read_text())
    with MailgunFake(API_KEY) as fake:
        use_provider(project, "mailgun", domain="mg.example.org", base_url=fake.url)
        yield fake


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def add(*emails: str) -> None:
    for address in emails:
        assert invoke("subscribers", "add", address).exit_code == 0


def status(project: Path, address: str) -> Status:
    with audience.Store.open(project / "actionmail.db") as store:
        member = store.get(address)
    assert member is not None
    return member.status


def history(project: Path, members: list[str]) -> list[tuple[str, str, str]]:
    """These members' changes: (address, change, source)."""
    with audience.Store.open(project / "actionmail.db") as store:
        return [(email, entry.change, entry.source) for email in members for entry in store.history(email)]


def rfc2822(hours_ago: float) -> str:
    return email.utils.format_datetime(dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago), usegmt=True)


def test_sync_applies_each_list_once_however_often_it_is_read(project: Path, mailgun: MailgunFake) -> None:
    add(*MEMBERS)
    mailgun.lists["bounces"].append({"address": "ana@example.org", "code": "550", "error": "No such user",
                                     "created_at": rfc2822(2)})  # fmt: skip
    mailgun.lists["complaints"].append({"address": "Bo@Example.org", "created_at": rfc2822(1)})
    mailgun.lists["unsubscribes"].append({"address": "cy@example.net", "tags": ["*"], "created_at": rfc2822(1)})
    result = invoke("sync")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "Synced with mailgun (events and suppressions): 3 read: bounced 1, complained 1, unsubscribed 1\n"
    )
    assert [status(project, m) for m in MEMBERS] == [Status.BOUNCED, Status.COMPLAINED, Status.UNSUBSCRIBED,
                                                     Status.ACTIVE]  # fmt: skip
    changes = history(project, MEMBERS)
    assert sorted((change, source) for _, change, source in changes) == [
        ("bounced", "mailgun"), ("complained", "mailgun"), ("unsubscribed", "mailgun")
    ]  # fmt: skip
    position = journal.position(project / "actionmail.db", "mailgun")
    assert position is not None and position.complete and position.completed_at is not None

    again = invoke("sync")  # the lists are read again, whole: nothing is applied twice
    assert again.exit_code == 0, again.output
    assert "3 read: already applied 3" in again.output
    assert history(project, MEMBERS) == changes


def test_an_interrupted_sync_goes_on_where_it_stopped(
    project: Path, mailgun: MailgunFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    bounced = [f"m{i:02}@example.org" for i in range(25)]
    add(*bounced, "keep@example.org")
    mailgun.lists["bounces"] = [{"address": a, "code": "550", "created_at": rfc2822(1)} for a in bounced]
    monkeypatch.setattr(mailgun_module, "SUPPRESSION_PAGE", 5)
    monkeypatch.setattr(syncing, "PAGES", 1)  # the place is stored after every page
    mailgun.fail(Fault(), Fault(), *[Fault(status=503, body="Service Unavailable")] * QUICK.attempts)
    result = invoke("sync")
    assert result.exit_code != 0
    assert "Sync with mailgun stopped: what it read before this is applied, and the next sync goes on" in result.output
    assert "mailgun (HTTP 503)" in result.output and "Traceback" not in result.output
    assert [status(project, a) for a in bounced].count(Status.BOUNCED) == 10  # the two pages read
    requests = len(mailgun.requests)

    result = invoke("sync")
    assert result.exit_code == 0, result.output
    assert (
        all(status(project, a) == Status.BOUNCED for a in bounced) and status(project, "keep@example.org") == "active"
    )
    assert len(history(project, bounced)) == 25  # each once
    bounce_pages = [r.query for r in mailgun.requests[requests:] if r.path.endswith("/bounces")]
    assert bounce_pages[0].get("address") == ["m09@example.org"]  # it went on after the last page applied


def test_send_syncs_first_and_mails_nobody_the_provider_suppressed(project: Path, mailgun: MailgunFake) -> None:
    add(*MEMBERS)
    mailgun.lists["bounces"].append({"address": "ana@example.org", "code": "550", "created_at": rfc2822(1)})
    result = invoke("send", f"newsletters/{SEED.name}", "--yes")
    assert result.exit_code == 0, result.output
    assert "Synced with mailgun (events and suppressions): 1 read: bounced 1" in result.output
    assert sorted(d.to for d in mailgun.delivered) == sorted(MEMBERS[1:])


def test_send_no_sync_says_what_it_skipped(project: Path, mailgun: MailgunFake) -> None:
    add(*MEMBERS)
    mailgun.lists["bounces"].append({"address": "ana@example.org", "code": "550", "created_at": rfc2822(1)})
    result = invoke("send", f"newsletters/{SEED.name}", "--yes", "--no-sync")
    assert result.exit_code == 0, result.output
    assert (
        "Not synced with mailgun (--no-sync): bounces, complaints and unsubscribes it recorded since the last sync "
        "(never) are not applied before this send" in result.output
    )
    assert sorted(d.to for d in mailgun.delivered) == sorted(MEMBERS)  # as it was told: ana too
    assert not [r for r in mailgun.requests if r.method == "GET"]


def test_a_sync_that_fails_sends_nothing(project: Path, mailgun: MailgunFake) -> None:
    add(*MEMBERS)
    mailgun.fail(*[Fault(status=500, body="")] * QUICK.attempts)
    result = invoke("send", f"newsletters/{SEED.name}", "--yes")
    assert result.exit_code != 0
    assert "Error: nothing was sent: reading back mailgun's bounces and unsubscribes failed (mailgun (HTTP 500)" in (
        result.output
    )
    assert "or send with --no-sync" in result.output
    assert mailgun.delivered == [] and not [r for r in mailgun.requests if r.method == "POST"]


def test_a_provider_that_keeps_nothing_has_nothing_to_sync(project: Path) -> None:
    result = invoke("sync")  # the example project sends through the outbox
    assert result.exit_code == 0, result.output
    assert result.output.startswith("outbox keeps no lists or events that actionmail can read back: nothing to sync.")


def test_sync_since_must_be_a_time_that_has_passed(project: Path, mailgun: MailgunFake) -> None:
    for since, said in [("yesterday", "not a day or a time"), ("2999-01-01", "that is still to come")]:
        result = invoke("sync", "--since", since)
        assert result.exit_code == 2 and f"Error: --since {since}: {said}" in result.output
    assert mailgun.requests == []


# --- uncertain recipients ------------------------------------------------------------------------------------


def run_send(project: Path, batch: int = 100) -> dict[delivery.State, int]:
    """The send, as the command runs it, in batches of ``batch``: many calls for the faults to meet."""
    edition = edition_for_send(project / "newsletters" / SEED.name)
    database = audience.database_location(edition.project)
    provider = providers.build(edition.project)
    provider.max_batch = batch  # type: ignore[misc]
    with audience.Store.open(database) as store:
        ledger = delivery.Ledger(database)
        plan = delivery.prepare(edition, store, ledger, None)
        pace = delivery.Pace(concurrency=1, backoff=0.01, max_wait=0.2)
        _, _, counts = delivery.execute(plan, store, ledger, provider, pace, KEY.encode())
        ledger.close()
    provider.close()
    return counts


@pytest.fixture
def postmark(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PostmarkFake]:
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", KEY)
    monkeypatch.setenv("ACTIONMAIL_POSTMARK_API_KEY", API_KEY)
    write(project / "newsletters", SEED.name, SEED.read_text())
    with PostmarkFake(API_KEY, senders=("action@seattleindivisible.com",)) as fake:
        use_provider(project, "postmark", base_url=fake.url)
        yield fake


def recipients_of(fake: FakeProvider, call: int) -> set[str]:
    """The addresses the fake's ``call``-th request (a POST) was for."""
    request = [r for r in fake.requests if r.method == "POST"][call]
    if isinstance(fake, MailgunFake):
        return {address for _, address in email.utils.getaddresses(request.form()["to"])}
    return {address for m in request.json() for _, address in email.utils.getaddresses([m["To"]])}


@pytest.mark.parametrize("name", ["mailgun", "postmark"])
def test_uncertain_recipients_are_settled_by_what_the_provider_knows(
    project: Path, name: str, request: pytest.FixtureRequest
) -> None:
    fake: FakeProvider = request.getfixturevalue(name)
    shutil.copy(ROOT / "sample" / "members.csv", project / "members.csv")
    assert invoke("subscribers", "import", "members.csv").exit_code == 0
    with audience.Store.open(project / "actionmail.db") as store:
        everyone = {member.email.lower() for member in store.subscribers()}
    assert len(everyone) == 1000
    # The second call: the provider takes it, and the answer is lost. The third: lost before the provider takes it.
    fake.fail(Fault(), Fault(drop=True, after_handling=True), Fault(drop=True))
    counts = run_send(project)
    sent, lost = recipients_of(fake, 1), recipients_of(fake, 2)
    assert counts[delivery.State.UNCERTAIN] == len(sent) + len(lost) and sent and lost
    database = project / "actionmail.db"
    provider = providers.build(load_project(project))
    provider.pull_retry = QUICK

    now = dt.datetime.now(dt.UTC)
    settled = syncing.settle(database, provider, now=now)
    # The provider's events show the second call's messages: accepted. The third has no trace, but it is too soon to
    # tell (it may not have filed its events yet): it waits.
    assert (settled.confirmed, settled.requeued, settled.waiting) == (len(sent), 0, len(lost))
    status = invoke("status", f"newsletters/{SEED.name}")
    assert f"{len(lost):,} uncertain ({name}): " in status.output

    settled = syncing.settle(database, provider, now=now + provider.event_delay + dt.timedelta(minutes=1))
    assert (settled.confirmed, settled.requeued, settled.waiting) == (0, len(lost), 0)
    provider.close()
    counts = run_send(project)
    assert counts[delivery.State.ACCEPTED] == len(everyone)
    assert collections.Counter(d.to.lower() for d in fake.delivered) == collections.Counter(everyone)  # once each


def test_a_listing_that_is_not_whole_rules_nobody_out(project: Path, mailgun: MailgunFake) -> None:
    """A record of the send that names nobody we can read might be the one of an uncertain recipient: with it in the
    listing, nobody is put back in the queue (they could get it twice); those it does show are still settled."""
    add(*MEMBERS)
    mailgun.fail(Fault(drop=True))  # the only call: lost before Mailgun takes it
    counts = run_send(project)
    assert counts[delivery.State.UNCERTAIN] == len(MEMBERS)
    mailgun.events.append({"id": "odd", "event": "accepted", "timestamp": time.time(), "tags": [SEED.stem],
                           "recipient": "not an address", "user-variables": {"send_id": "1"}})  # fmt: skip
    provider = providers.build(load_project(project))
    provider.pull_retry = QUICK
    later = dt.datetime.now(dt.UTC) + provider.event_delay + dt.timedelta(minutes=1)
    settled = syncing.settle(project / "actionmail.db", provider, now=later)
    provider.close()
    assert (settled.confirmed, settled.requeued, settled.incomplete) == (0, 0, len(MEMBERS))
    assert "names no address we can read" in settled.why
    mailgun.events.pop()  # gone from the listing: now it is whole, and shows nobody
    provider = providers.build(load_project(project))
    settled = syncing.settle(project / "actionmail.db", provider, now=later)
    provider.close()
    assert (settled.confirmed, settled.requeued, settled.incomplete) == (0, len(MEMBERS), 0)
