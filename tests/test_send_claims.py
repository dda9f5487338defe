"""Worker processes claim their batches from one queue (Ledger.claim; on PostgreSQL ``FOR UPDATE SKIP LOCKED``):
claims never overlap, a claim in progress is passed over rather than waited for, a dead worker's claims become
uncertain while a live one's stay in flight, and three workers, one of them killed mid-send, reach everyone
exactly once through the fake Mailgun."""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from actionmail import delivery, providers
from actionmail import sync as syncing
from actionmail.cli import main
from actionmail.config import load_project
from actionmail.database import Location, connect, locks
from actionmail.delivery.ledger import BURST, WORKER_LOCK, owner
from tests.conftest import ROOT
from tests.fakes.mailgun import MailgunFake
from tests.fakes.server import Fault
from tests.sent import delivered, everyone, ledger_counts, most_over_rate
from tests.test_ledger import queue
from tests.test_send_workers import FILE, worker_pids

WAITING = [delivery.State.QUEUED, delivery.State.FAILED]


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Location:
    """A ledger's database, made by the store: the SQLite file, or a PostgreSQL database of the test's own."""
    if request.param == "sqlite":
        monkeypatch.delenv("ACTIONMAIL_DATABASE_URL", raising=False)  # the file, even in the suite on PostgreSQL
        return tmp_path / "ledger.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


def claimed_rows(location: Location) -> dict[int, tuple[str, str | None, str | None, int]]:
    """Every row of send 1: id → (state, batch, claimed_by, attempts)."""
    db = connect(location)
    try:
        rows = db.execute("SELECT subscriber_id, state, batch, claimed_by, attempts FROM deliveries WHERE send_id = 1")
        return {int(i): (state, batch, by, int(attempts)) for i, state, batch, by, attempts in rows}
    finally:
        db.close()


def claim_all(ledger: delivery.Ledger, name: str, size: int) -> list[tuple[str, list[int]]]:
    claims = []
    after = None
    while (claim := ledger.claim(1, WAITING, size, batch=f"{name}-{len(claims)}", provider="fake",
                                 claimed_by=name, after=after)) is not None:  # fmt: skip
        claims.append(claim)
        after = (claim[0], claim[1][-1])
    return claims


def test_one_claimer_takes_every_waiting_row_once_in_batches_of_one_variant(location: Location) -> None:
    rows = queue(location, 1_500, seed=11)  # type: ignore[arg-type]  # Store.open takes a URL too
    ledger = delivery.Ledger(location)
    claims = claim_all(ledger, owner(0), 100)
    ledger.close()

    taken = [i for _, ids in claims for i in ids]
    waiting = {i for i, (_, state) in rows.items() if state in WAITING}
    assert len(taken) == len(set(taken)) and set(taken) == waiting
    assert [variant for variant, _ in claims] == sorted(variant for variant, _ in claims)  # variant by variant
    for variant, ids in claims:
        assert 0 < len(ids) <= 100 and ids == sorted(ids) and {rows[i][0] for i in ids} == {variant}
    after = claimed_rows(location)
    for n, (_, ids) in enumerate(claims):
        for i in ids:
            assert after[i] == ("in_flight", f"{owner(0)}-{n}", owner(0), 1)
    untouched = {i: row for i, row in after.items() if i not in waiting}
    assert all(by is None and rows[i][1] == state for i, (state, _, by, _) in untouched.items())


def test_claimers_on_postgres_take_disjoint_batches_side_by_side(postgres_url: str) -> None:
    rows = queue(postgres_url, 4_000, seed=12)  # type: ignore[arg-type]
    found: dict[str, list[tuple[str, list[int]]]] = {}
    start = threading.Barrier(4)

    def claimer(name: str) -> None:
        ledger = delivery.Ledger(postgres_url)
        try:
            start.wait()
            found[name] = claim_all(ledger, name, 37)
        finally:
            ledger.close()

    threads = [threading.Thread(target=claimer, args=(owner(k),)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(found) == 4

    taken = [i for claims in found.values() for _, ids in claims for i in ids]
    assert len(taken) == len(set(taken))  # no row claimed twice
    assert set(taken) == {i for i, (_, state) in rows.items() if state in WAITING}
    after = claimed_rows(postgres_url)
    for name, claims in found.items():
        assert claims, f"{name} claimed nothing"
        for _, ids in claims:
            assert {after[i][2] for i in ids} == {name}


def test_a_claim_on_postgres_passes_over_rows_another_claim_holds_without_waiting(postgres_url: str) -> None:
    rows = queue(postgres_url, 600, seed=13)  # type: ignore[arg-type]
    first = sorted(i for i, (variant, state) in rows.items() if variant == "en|" and state in WAITING)
    # Another worker's claim under way: the first 50 queued rows locked, not yet committed.
    other = psycopg.connect(postgres_url, autocommit=True)
    other.execute("BEGIN")
    held = [
        i
        for (i,) in other.execute(
            "SELECT subscriber_id FROM deliveries WHERE send_id = 1 AND variant = 'en|' AND state IN "
            "('queued', 'failed') ORDER BY subscriber_id LIMIT 50 FOR UPDATE"
        )
    ]
    assert held == first[:50]
    got: list[tuple[str, list[int]] | None] = []
    ledger = delivery.Ledger(postgres_url)
    thread = threading.Thread(
        target=lambda: got.append(ledger.claim(1, WAITING, 30, batch="b", provider="fake", claimed_by=owner(1)))
    )
    thread.start()
    thread.join(timeout=10)
    other.execute("ROLLBACK")
    other.close()
    thread.join()
    ledger.close()
    assert got == [("en|", first[50:80])]  # not blocked, and none of the held rows


def test_recovery_spares_the_claims_of_workers_still_alive(location: Location) -> None:
    queue(location, 400, seed=14)  # type: ignore[arg-type]
    alive = locks.Lock(location, WORKER_LOCK, 1)
    assert alive.acquire()
    ledger = delivery.Ledger(location)
    try:
        _, mine = ledger.claim(1, WAITING, 20, batch="alive", provider="fake", claimed_by=owner(1)) or ("", [])
        _, dead = ledger.claim(1, WAITING, 20, batch="dead", provider="fake", claimed_by=owner(2)) or ("", [])
        ledger.mark(1, [mine[0]], delivery.State.ACCEPTED)  # only rows in flight are ever recovered
        assert ledger.recover(1, spare_live=True) == len(dead) == 20
        after = claimed_rows(location)
        assert {after[i][0] for i in dead} == {"uncertain"}
        assert {after[i][0] for i in mine[1:]} == {"in_flight"} and after[mine[0]][0] == "accepted"
        assert ledger.recover(1, spare_live=True) == 0
    finally:
        alive.release()
    # Once its worker is gone, its claims are uncertain too; and the sole sender recovers every row, as before.
    assert ledger.recover(1, spare_live=True) == len(mine) - 1
    ledger.close()


def test_a_batch_marked_in_flight_by_the_sole_sender_belongs_to_no_worker(location: Location) -> None:
    queue(location, 200, seed=15)  # type: ignore[arg-type]
    ledger = delivery.Ledger(location)
    before = sum(state == "in_flight" for state, *_ in claimed_rows(location).values())  # queue() makes some
    _, ids = ledger.claim(1, WAITING, 10, batch="b1", provider="fake", claimed_by=owner(3)) or ("", [])
    ledger.mark(1, ids, delivery.State.QUEUED)
    ledger.mark(1, ids, delivery.State.IN_FLIGHT, batch="b2", provider="fake")
    assert {claimed_rows(location)[i][2] for i in ids} == {None}
    assert ledger.recover(1, spare_live=True) == 0  # its sender is the one calling
    assert ledger.recover(1) == before + len(ids)
    ledger.close()


@pytest.fixture
def on_postgres(postgres_url: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> MailgunFake:
    """The project with members, its database PostgreSQL (the variable set before anything opens it, so that the
    members are imported there and every process the test starts inherits it), sending through the fake
    Mailgun."""
    monkeypatch.setenv("ACTIONMAIL_DATABASE_URL", postgres_url)
    fake: MailgunFake = request.getfixturevalue("mailgun")
    return fake


def test_three_workers_on_postgres_one_killed_mid_send_the_others_finish_the_queue(on_postgres: MailgunFake) -> None:
    """SIGKILL one of three claiming workers while its call is out: the other two send everything left (no share
    of the queue waits for a rerun), nobody twice; the killed worker's claims are uncertain. Mailgun's events then
    settle those, and one more send reaches everyone exactly once."""
    mailgun = on_postgres
    project = Path.cwd()
    command = [sys.executable, "-m", "tests.sender", str(project), FILE, "10", "3"]
    sender = subprocess.Popen(command, cwd=ROOT, env={**os.environ}, stderr=subprocess.PIPE)
    calls = 0
    killed: list[int] = []

    def chaos() -> Fault | None:
        nonlocal calls
        calls += 1
        if calls == 15 and not killed:
            pids = worker_pids(sender.pid)
            assert len(pids) == 3, pids
            killed.append(pids[0])
            # Answered (so this call, whoever's it is, went out), then the kill: the killed worker dies in its
            # own call or with its batches claimed ahead, never knowing how they went.
            return Fault(delay=0.02, then=lambda: os.kill(pids[0], signal.SIGKILL))
        return Fault(delay=0.02)  # slow enough that every worker has calls out when one dies

    mailgun.chaos = chaos
    _, errors = sender.communicate(timeout=180)
    mailgun.chaos = None
    assert killed and sender.returncode == 0, errors.decode()
    assert "ended without finishing (exit code -9)" in errors.decode()
    got = delivered(mailgun)
    assert max(got.values()) == 1
    counts = ledger_counts(project)
    assert counts[delivery.State.IN_FLIGHT] == counts[delivery.State.QUEUED] == counts[delivery.State.FAILED] == 0
    # The killed worker's claims, and only they: the call it died in, and the batches it had claimed ahead (one
    # call at a time: one answered and waiting to be recorded, one in the call, one waiting for it, one made by
    # the engine's loop while it waits: 40 at most).
    assert 0 < counts[delivery.State.UNCERTAIN] <= 40
    assert counts[delivery.State.ACCEPTED] + counts[delivery.State.UNCERTAIN] == 1000
    uncertain = claimed_uncertain(project)
    assert len(uncertain) == 1 and next(iter(uncertain)).startswith(f"{WORKER_LOCK}:")
    assert set(got) | set(uncertain_addresses(project)) == everyone(project)

    provider = providers.build(load_project(project))
    later = dt.datetime.now(dt.UTC) + provider.event_delay + dt.timedelta(minutes=1)
    settled = syncing.settle(project / "actionmail.db", provider, now=later)
    provider.close()
    assert settled.left == 0
    result = CliRunner().invoke(main, ["send", FILE, "--yes", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert delivered(mailgun) == collections.Counter(everyone(project))


def test_a_send_on_postgres_joined_from_another_process_shares_its_queue(on_postgres: MailgunFake) -> None:
    """`send --join`, as from another host: a second process claims batches from the queue of a send under way
    (two workers of its own) until none are left; everyone once, the joiner's claims among them, the send
    finished by whichever process ends last."""
    mailgun = on_postgres
    project = Path.cwd()
    sender = subprocess.Popen([sys.executable, "-m", "tests.sender", str(project), FILE, "10", "2"], cwd=ROOT,
                              env={**os.environ}, stderr=subprocess.PIPE)  # fmt: skip
    joiners: list[subprocess.Popen[bytes]] = []
    calls = 0

    def chaos() -> Fault | None:
        nonlocal calls
        calls += 1
        if calls == 5 and not joiners:
            joiners.append(subprocess.Popen(
                [sys.executable, "-m", "tests.sender", str(project), FILE, "10", "1", "join"], cwd=ROOT,
                env={**os.environ}, stderr=subprocess.PIPE,
            ))  # fmt: skip
        return Fault(delay=0.12)  # slow enough that the joiner is sending before the others are done

    mailgun.chaos = chaos
    _, errors = sender.communicate(timeout=180)
    assert joiners, "the send made fewer than 5 calls"
    _, joined_errors = joiners[0].communicate(timeout=180)
    mailgun.chaos = None
    assert sender.returncode == 0 and joiners[0].returncode == 0, (errors.decode(), joined_errors.decode())
    got = delivered(mailgun)
    assert max(got.values()) == 1 and set(got) == everyone(project)
    counts = ledger_counts(project)
    assert counts[delivery.State.ACCEPTED] == 1000
    ledger = delivery.Ledger(project / "actionmail.db")
    try:
        names = ledger.owners(1)
        (finished,) = ledger._db.execute("SELECT finished_at FROM sends WHERE id = 1").fetchone()
    finally:
        ledger.close()
    assert {owner(0), owner(1)} <= names and len(names) == 3  # the two workers', and the joiner's
    assert finished is not None


def test_a_send_with_workers_and_a_process_joining_it_keep_together_to_the_rate(on_postgres: MailgunFake) -> None:
    """Two workers and a process joining from another (as from another host), at [send] rate 100: the calls that
    reach the fake Mailgun carry, in any stretch of time, no more than 100 a second and one second's worth at
    once (less a little for the calls' own jitter). Each process keeping to the rate on its own (as each did with
    a token bucket of its own) would send half as fast again while the three overlap, and each start with a
    second's worth of its own."""
    mailgun = on_postgres
    project = Path.cwd()
    settings = project / "actionmail.toml"
    settings.write_text(settings.read_text().replace('provider = "mailgun"\n', 'provider = "mailgun"\nrate = 100\n'))
    sender = subprocess.Popen([sys.executable, "-m", "tests.sender", str(project), FILE, "10", "2"], cwd=ROOT,
                              env={**os.environ}, stderr=subprocess.PIPE)  # fmt: skip
    joiners: list[subprocess.Popen[bytes]] = []

    def chaos() -> Fault | None:
        if not joiners:
            joiners.append(subprocess.Popen(
                [sys.executable, "-m", "tests.sender", str(project), FILE, "10", "1", "join"], cwd=ROOT,
                env={**os.environ}, stderr=subprocess.PIPE,
            ))  # fmt: skip
        return None

    mailgun.chaos = chaos
    _, errors = sender.communicate(timeout=180)
    _, joined_errors = joiners[0].communicate(timeout=180)
    mailgun.chaos = None
    assert sender.returncode == 0 and joiners[0].returncode == 0, (errors.decode(), joined_errors.decode())
    assert max(delivered(mailgun).values()) == 1 and ledger_counts(project)[delivery.State.ACCEPTED] == 1000
    ledger = delivery.Ledger(project / "actionmail.db")
    try:
        assert len(ledger.owners(1)) == 3, "the joiner sent nothing: it started too late to overlap"
    finally:
        ledger.close()

    # A call's own jitter (made, sent, read by the fake) may bring it a little closer to an earlier one: 0.2 s.
    assert most_over_rate(mailgun, 100) <= 100 * 0.2
    first, last = min(r.received for r in mailgun.requests), max(r.received for r in mailgun.requests)
    assert last - first >= (1000 - 100 * BURST) / 100 - 0.5


def test_join_is_refused_where_it_cannot_share_a_send(members: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(main, ["send", FILE, "--yes", "--join", "--workers", "2"])
    assert result.exit_code == 2 and "--join takes part in a send as it was started: drop --workers" in result.output
    result = CliRunner().invoke(main, ["send", FILE, "--yes", "--join", "--rate", "5/s"])
    assert result.exit_code == 2 and "--join takes part in a send as it was started: drop --rate" in result.output
    result = CliRunner().invoke(main, ["send", FILE, "--yes", "--join"])
    assert result.exit_code == 2
    if os.environ.get("ACTIONMAIL_DATABASE_URL"):  # PostgreSQL: no send under way yet
        assert "is under way to join: start it with `actionmail send` without --join" in result.output
    else:
        assert "--join shares a send on PostgreSQL between hosts; on one machine use --workers" in result.output


def claimed_uncertain(project: Path) -> set[str]:
    """Whose claims the uncertain rows were."""
    ledger = delivery.Ledger(project / "actionmail.db")
    try:
        rows = ledger._db.execute("SELECT DISTINCT claimed_by FROM deliveries WHERE state = 'uncertain'").fetchall()
        return {str(by) for (by,) in rows}
    finally:
        ledger.close()


def uncertain_addresses(project: Path) -> set[str]:
    ledger = delivery.Ledger(project / "actionmail.db")
    try:
        rows = ledger._db.execute("SELECT email FROM deliveries WHERE state = 'uncertain'").fetchall()
        return {str(e).lower() for (e,) in rows}
    finally:
        ledger.close()
