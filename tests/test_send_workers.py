"""`send --workers N`: worker processes, each sending its own share, through a real provider module and its fake
server on 127.0.0.1 (Mailgun: no idempotency keys), with the real ledger. The rules of one process hold: nobody
twice, nobody silently skipped, a killed worker's call uncertain, and a rerun finishes its share."""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import audience, delivery, providers
from actionmail import sync as syncing
from actionmail.cli import main
from actionmail.config import load_project
from actionmail.database import connect, locate
from actionmail.delivery.ledger import owner
from actionmail.delivery.workers import claims, how_many, share_pace
from tests.conftest import ROOT, SEED
from tests.fakes.mailgun import MailgunFake
from tests.fakes.server import Fault
from tests.sender import edition_for_send
from tests.sent import delivered, everyone, ledger_counts, ledger_rows, most_over_rate
from tests.test_send_faults import STOP, run_send

FILE = f"newsletters/{SEED.name}"


def ids_by_address(project: Path) -> dict[str, int]:
    with audience.Store.open(project / "actionmail.db") as store:
        return {m.email.lower(): m.id for m in store.subscribers()}


def test_two_workers_reach_everyone_once_each_with_its_own_share(
    project_with_members: Path, mailgun: MailgunFake
) -> None:
    edition = edition_for_send(project_with_members / FILE)
    database = audience.database_location(edition.project)
    provider = providers.build(edition.project)
    provider.max_batch = 25  # type: ignore[misc]
    seen: list[int] = []
    with audience.Store.open(database) as store:
        ledger = delivery.Ledger(database)
        plan = delivery.prepare(edition, store, ledger, None)
        pace = delivery.Pace(concurrency=2, backoff=0.01, max_wait=0.2)
        _, outcome, counts = delivery.execute(
            plan, store, ledger, provider, pace, b"k" * 32, workers=2, progress=seen.append
        )
        ledger.close()
    provider.close()
    assert outcome.stopped is None and (outcome.accepted, counts[delivery.State.ACCEPTED]) == (1000, 1000)
    assert sum(seen) == 1000  # each worker's progress reached the bar
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))
    if claims(ledger.location):  # PostgreSQL: each batch claimed by one worker, both workers sending
        owners: dict[str, set[str]] = collections.defaultdict(set)
        db = connect(ledger.location)
        for batch, by in db.execute("SELECT batch, claimed_by FROM deliveries"):
            owners[batch].add(by)
        db.close()
        assert all(len(by) == 1 for by in owners.values()) and len(owners) >= 40
        assert set().union(*owners.values()) == {owner(0), owner(1)}
        return
    member = ids_by_address(project_with_members)
    shares = []
    for request in mailgun.requests:
        to = {member[address.lower()] % 2 for _, address in email.utils.getaddresses(request.form()["to"])}
        assert len(to) == 1  # a batch is one worker's: ids of one parity
        shares.append(to.pop())
    assert set(shares) == {0, 1}


def test_two_workers_keep_together_to_the_sends_rate(project_with_members: Path, mailgun: MailgunFake) -> None:
    """The rate is the send's, whatever the number of processes: they share its pace through the database."""
    edition = edition_for_send(project_with_members / FILE)
    database = audience.database_location(edition.project)
    provider = providers.build(edition.project)
    provider.max_batch = 25  # type: ignore[misc]
    with audience.Store.open(database) as store:
        ledger = delivery.Ledger(database)
        plan = delivery.prepare(edition, store, ledger, None)
        pace = delivery.Pace(concurrency=2, rate=250.0, backoff=0.01, max_wait=0.2)
        _, outcome, counts = delivery.execute(plan, store, ledger, provider, pace, b"k" * 32, workers=2)
        ledger.close()
    provider.close()
    assert outcome.stopped is None and counts[delivery.State.ACCEPTED] == 1000
    assert most_over_rate(mailgun, 250) <= 250 * 0.2  # a call's own jitter: 0.2 s
    first, last = min(r.received for r in mailgun.requests), max(r.received for r in mailgun.requests)
    assert last - first >= (1000 - 250) / 250 - 0.5


def test_workers_go_on_with_a_send_begun_on_an_earlier_day(project_with_members: Path, mailgun: MailgunFake) -> None:
    """Each worker renders the newsletter again and checks its content hash: for the day the send goes on, not the
    day it began (every email carries its day), or it would refuse a file that has not changed."""
    mailgun.fail(Fault(), Fault(), STOP)
    _, counts = run_send(project_with_members, batch=100, concurrency=1, day=dt.date(2019, 8, 4))
    first = counts[delivery.State.ACCEPTED]
    assert 0 < first < 1000
    outcome, counts = run_send(project_with_members, batch=25, concurrency=2, workers=2)  # today
    assert outcome.stopped is None and counts[delivery.State.ACCEPTED] == 1000, outcome.stopped
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))
    texts = [d.text for d in mailgun.delivered]
    assert all("Return your ballot in 2 days: Tuesday, August 6" in text for text in texts[:first])
    assert all("Return your ballot Tuesday, August 6" in text for text in texts[first:])  # as of today


def test_the_command_takes_a_number_of_workers(project_with_members: Path, mailgun: MailgunFake) -> None:
    refused = CliRunner().invoke(main, ["send", FILE, "--yes", "--workers", "0"])
    assert refused.exit_code == 2 and "Invalid value for '--workers': 0 is not in the range 1<=x<=32." in refused.output
    assert mailgun.requests == []
    # Mailgun takes 1,000 recipients a call: the 1,000 members are one batch, which one process sends.
    result = CliRunner().invoke(main, ["send", FILE, "--yes", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "through mailgun: accepted 1,000" in result.output
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))


def worker_pids(parent: int) -> list[int]:
    """The worker processes `send` spawned (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    found = []
    for pid in map(int, children):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in command:
            found.append(pid)
    return sorted(found)


def test_a_worker_killed_mid_send_loses_nobody_and_doubles_nobody(
    project_with_members: Path, mailgun: MailgunFake
) -> None:
    """SIGKILL one of two workers during the send: the other finishes its share; the send says a worker ended;
    the killed one's call in flight is uncertain, its queue is left for a rerun. Then Mailgun's events settle the
    uncertain and one more send reaches everyone exactly once."""
    command = [sys.executable, "-m", "tests.sender", str(project_with_members), FILE, "10", "2"]
    sender = subprocess.Popen(command, cwd=ROOT, env={**os.environ}, stderr=subprocess.PIPE)
    calls = 0
    killed: list[int] = []

    def chaos() -> Fault | None:
        nonlocal calls
        calls += 1
        if calls == 12 and not killed:
            pids = worker_pids(sender.pid)
            assert len(pids) == 2, pids
            killed.append(pids[0])
            return Fault(drop=True, then=lambda: os.kill(pids[0], signal.SIGKILL))
        return Fault(delay=0.02)  # slow enough that both workers have calls out when one dies

    mailgun.chaos = chaos
    _, errors = sender.communicate(timeout=120)
    mailgun.chaos = None
    assert killed and sender.returncode == 0, errors.decode()
    assert "stopped: worker " in errors.decode() and "ended without finishing (exit code -9)" in errors.decode()
    got = delivered(mailgun)
    assert max(got.values()) == 1
    counts = ledger_counts(project_with_members)
    assert counts[delivery.State.IN_FLIGHT] == 0  # made uncertain once the workers were done
    if claims(locate(project_with_members / "actionmail.db")):
        # Claims: the other worker sent what the killed one left, but for the rows of a claim the kill cut short
        # (rolled back to queued behind the other worker's place in the queue: left for the rerun below, as
        # Ledger.claim says), at most a batch.
        assert counts[delivery.State.QUEUED] <= 10
    else:
        assert counts[delivery.State.QUEUED] > 0  # the killed worker's share, left for the rerun
    assert sum(counts.values()) == 1000

    # The rerun sends the rest, not the uncertain (Mailgun can't be asked whether it took them).
    result = CliRunner().invoke(main, ["send", FILE, "--yes", "--no-sync", "--workers", "2"])
    assert result.exit_code in (0, 3), result.output
    got = delivered(mailgun)
    assert max(got.values()) == 1
    rows = ledger_rows(project_with_members)
    uncertain = {e for e, state in rows.items() if state == delivery.State.UNCERTAIN}
    accepted = {e for e, state in rows.items() if state == delivery.State.ACCEPTED}
    assert accepted | uncertain == everyone(project_with_members) and accepted <= set(got)

    provider = providers.build(load_project(project_with_members))
    later = dt.datetime.now(dt.UTC) + provider.event_delay + dt.timedelta(minutes=1)
    settled = syncing.settle(project_with_members / "actionmail.db", provider, now=later)
    provider.close()
    assert settled.left == 0
    result = CliRunner().invoke(main, ["send", FILE, "--yes"])
    assert result.exit_code == 0, result.output
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))


@pytest.mark.parametrize(
    ("asked", "left", "batch", "cores", "expected"),
    [
        (None, 49_999, 1000, 8, 1),  # small: in-process
        (None, 50_000, 1000, 8, 4),  # big: one for every two cores, up to 4
        (None, 50_000, 1000, 16, 4),
        (None, 50_000, 1000, 4, 2),
        (None, 1_000_000, 1000, 2, 1),  # two cores: no faster with workers (measured), so none
        (3, 1_000, 1000, 8, 1),  # one batch: one process, whatever was asked
        (3, 2_500, 1000, 8, 3),
        (8, 2_500, 1000, 8, 3),  # no more than batches
        (2, 0, 1000, 8, 1),
    ],
)
def test_how_many_workers(
    asked: int | None, left: int, batch: int, cores: int, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert how_many(asked, left, batch) == expected


def test_workers_divide_the_sends_concurrency_and_keep_its_rate_together() -> None:
    pace = delivery.Pace(concurrency=5, rate=90.0)
    assert (share_pace(pace, 2).concurrency, share_pace(pace, 2).rate) == (3, 90.0)  # the rate: through the database
    assert share_pace(delivery.Pace(concurrency=1), 4).concurrency == 1
