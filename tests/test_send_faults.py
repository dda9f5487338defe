"""Sends that meet trouble: transient failures, a bad key, and the sending process killed mid-send.

Through a real provider module and its fake server on 127.0.0.1 (Mailgun: no idempotency keys) and the outbox
(idempotent), with the real ledger. What must hold: nobody accepted is sent twice, and nobody is silently
skipped — whoever is not delivered is in the ledger as failed or uncertain, and reported.
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import audience, delivery, providers, variants
from actionmail import sync as syncing
from actionmail.cli import main
from actionmail.config import load_project
from tests import sql
from tests.conftest import KEY, MAILGUN_KEY, ROOT, SEED, summary, use_provider
from tests.fakes.brevo import BrevoFake
from tests.fakes.mailgun import MailgunFake
from tests.fakes.server import Fault, Request
from tests.sender import edition_for_send
from tests.sent import delivered, everyone, ledger_counts, ledger_rows


def run_send(
    project: Path,
    batch: int = 50,
    concurrency: int = 4,
    day: dt.date | None = None,
    workers: int = 1,
    **options: bool,
) -> tuple[delivery.Outcome, dict[delivery.State, int]]:
    """A send as the command makes it, today (in the organization's time zone) or on ``day``."""
    edition = edition_for_send(project / "newsletters" / SEED.name)  # as the command does: the same send
    if day is not None:
        edition = edition.going_out_on(day)
    database = audience.database_location(edition.project)
    provider = providers.build(edition.project)
    provider.max_batch = batch  # type: ignore[misc]
    with audience.Store.open(database) as store:
        ledger = delivery.Ledger(database)
        plan = delivery.prepare(edition, store, ledger, None)
        pace = delivery.Pace(concurrency=concurrency, backoff=0.01, max_wait=0.2)
        _, outcome, counts = delivery.execute(
            plan, store, ledger, provider, pace, KEY.encode(), workers=workers, **options
        )
        ledger.close()
    provider.close()
    return outcome, counts


def test_with_a_third_of_calls_failing_transiently_everyone_gets_it_once(
    project_with_members: Path, mailgun: MailgunFake
) -> None:
    faults = [Fault(status=503, body="Service Unavailable"), Fault(), Fault(),
              Fault(status=429, headers={"Retry-After": "0"}, body={"message": "Too many requests"}), Fault(), Fault(),
              Fault(status=500, body=""), Fault(), Fault()] * 3  # fmt: skip
    mailgun.fail(*faults)
    outcome, counts = run_send(project_with_members)
    assert outcome.stopped is None
    assert counts[delivery.State.ACCEPTED] == 1000 and counts[delivery.State.FAILED] == 0
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))  # each exactly once
    # One call per batch of up to 50 of one variant (24 for the sample list's 8 variants), plus the 9 refused.
    assert len(mailgun.requests) == 24 + 9


def test_a_permanent_error_stops_the_send_and_a_rerun_continues(
    project_with_members: Path, mailgun: MailgunFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailgun.fail(Fault(), Fault(), Fault(status=400, body={"message": "'from' parameter is not a valid address"}))
    outcome, counts = run_send(project_with_members, batch=100)
    assert outcome.stopped is not None and not outcome.stopped.transient
    assert str(outcome.stopped).startswith("mailgun (HTTP 400): 'from' parameter is not a valid address")
    first = delivered(mailgun)
    assert counts[delivery.State.ACCEPTED] == sum(first.values()) < 1000
    assert counts[delivery.State.FAILED] > 0  # the refused batch, kept with Mailgun's words
    assert counts[delivery.State.QUEUED] == 1000 - counts[delivery.State.ACCEPTED] - counts[delivery.State.FAILED]
    outcome, counts = run_send(project_with_members, batch=100)
    assert counts[delivery.State.ACCEPTED] == 1000
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))


STOP = Fault(status=400, body={"message": "'from' parameter is not a valid address"})  # stops the send


def test_a_send_stopped_before_midnight_goes_on_after_it_and_reaches_everyone_once(
    project_with_members: Path, mailgun: MailgunFake
) -> None:
    """Every email carries the day it goes out ("in 2 days"), so the content hash changes at midnight though the
    file does not. A send stopped on one day and continued on the next, and the day after, is still the same
    send: nobody twice, nobody missed, and each email counts from the day it went out."""
    mailgun.fail(Fault(), Fault(), STOP)
    outcome, counts = run_send(project_with_members, batch=100, concurrency=1, day=dt.date(2019, 8, 4))
    first = counts[delivery.State.ACCEPTED]
    assert outcome.stopped is not None and 0 < first == len(mailgun.delivered)
    mailgun.fail(Fault(), Fault(), Fault(), STOP)
    outcome, counts = run_send(project_with_members, batch=100, concurrency=1, day=dt.date(2019, 8, 5))
    second = counts[delivery.State.ACCEPTED]
    assert outcome.stopped is not None and first < second == len(mailgun.delivered) < 1000
    dry = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would continue send 1 (everyone), started " in dry.output
    assert "  begun on 2019-08-04, and the file has not changed: the rest would be rendered for " in dry.output

    # Today (2026 or later, in Seattle): the command goes on with the rest, and says how.
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes"])
    assert result.exit_code == 0, result.output
    assert (
        f"Continuing send 1 of {SEED.stem}, begun on 2019-08-04 ({second:,} accepted so far): the file has not "
        "changed; the emails still to go are rendered for "
        f"{variants.send_day(load_project(project_with_members))}, the day they go out, so their dates and "
        "countdowns are right when read"
    ) in result.output
    assert summary(result.output) == f"Send 1 of {SEED.stem} through mailgun: accepted 1,000"
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))  # each exactly once
    texts = [d.text for d in mailgun.delivered]
    assert all("Return your ballot in 2 days: Tuesday, August 6" in text for text in texts[:first])
    assert all("Return your ballot tomorrow: Tuesday, August 6" in text for text in texts[first:second])
    assert all("Return your ballot Tuesday, August 6" in text for text in texts[second:])  # passed: no countdown
    ledger = delivery.Ledger(project_with_members / "actionmail.db")
    try:
        [send] = ledger.sends(SEED.stem)  # one send, whose hash is of the day it began
    finally:
        ledger.close()
    assert send.sent_on == "2019-08-04" and send.finished_at is not None


def test_a_send_made_before_the_ledger_kept_its_day_goes_on_as_of_the_day_it_was_made(
    project_with_members: Path, mailgun: MailgunFake
) -> None:
    """Sends from before schema step 14 have no sent_on: they were rendered for the day they were made on, in the
    organization's time zone (03:30 UTC on August 5 is 20:30 on August 4 in Seattle)."""
    mailgun.fail(Fault(), STOP)
    run_send(project_with_members, batch=100, concurrency=1, day=dt.date(2019, 8, 4))
    sql.execute(
        project_with_members / "actionmail.db",
        "UPDATE sends SET sent_on = NULL, created_at = ?",
        ("2019-08-05T03:30:00+00:00",),
    )
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes"])
    assert result.exit_code == 0, result.output
    assert f"Continuing send 1 of {SEED.stem}, begun on 2019-08-04 (" in result.output
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))


def test_a_file_changed_overnight_still_needs_new_version(project_with_members: Path, mailgun: MailgunFake) -> None:
    mailgun.fail(Fault(), Fault(), STOP)
    _, counts = run_send(project_with_members, batch=100, concurrency=1, day=dt.date(2019, 8, 4))
    first = counts[delivery.State.ACCEPTED]
    newsletter = project_with_members / "newsletters" / SEED.name
    newsletter.write_text(newsletter.read_text().replace("Vote Today!", "Vote by Tuesday!"))
    before = len(mailgun.requests)
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes", "--no-sync"])
    assert result.exit_code == 2 and len(mailgun.requests) == before
    assert f"Error: {SEED.stem} changed since it was partly sent (send 1, " in result.output
    assert "Continuing" not in result.output
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes", "--new-version"])
    assert result.exit_code == 0, result.output
    assert summary(result.output) == f"Send 2 of {SEED.stem} through mailgun: accepted {1000 - first:,}"
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))


@pytest.mark.parametrize("handled", [False, True], ids=["killed-before-mailgun-took-it", "killed-after"])
def test_killed_mid_call_the_batch_is_uncertain_never_doubled(
    project_with_members: Path, mailgun: MailgunFake, handled: bool
) -> None:
    sender = subprocess.Popen(
        [sys.executable, "-m", "tests.sender", str(project_with_members), f"newsletters/{SEED.name}", "50"],
        cwd=ROOT, env={**os.environ}, stderr=subprocess.PIPE,
    )  # fmt: skip

    def kill() -> None:
        # Once the three calls before are on record as accepted (a thread of the sender writes each outcome after
        # its call: on a busy machine it can lag, and a batch whose answer came but whose outcome wasn't written
        # is rightly uncertain too), so that exactly the batch out is cut off.
        before = sum(len(email.utils.getaddresses(r.form()["to"])) for r in mailgun.requests[:3])
        deadline = time.monotonic() + 30
        while ledger_counts(project_with_members)[delivery.State.ACCEPTED] < before and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(sender.pid, signal.SIGKILL)

    mailgun.fail(Fault(), Fault(), Fault(), Fault(drop=True, after_handling=handled, then=kill))
    _, errors = sender.communicate(timeout=60)
    assert sender.returncode == -signal.SIGKILL, errors.decode()
    killed = len(email.utils.getaddresses(mailgun.requests[3].form()["to"]))  # the batch out when it died
    # The rerun: that batch is uncertain, reported, and not resent; everyone else is sent to.
    _, counts = run_send(project_with_members)
    assert counts[delivery.State.UNCERTAIN] == killed and counts[delivery.State.ACCEPTED] == 1000 - killed
    got = delivered(mailgun)
    assert max(got.values()) == 1  # nobody twice
    status = CliRunner().invoke(main, ["status", f"newsletters/{SEED.name}", "--all"]).output
    assert status.count("  uncertain  the send stopped during this call") == killed
    if handled:
        assert set(got) == everyone(project_with_members)  # Mailgun had taken it: everyone has it, once
    else:
        assert len(got) == 1000 - killed  # they never reached Mailgun: resending the uncertain is right here
        run_send(project_with_members, resend_uncertain=True)
        assert delivered(mailgun) == collections.Counter(everyone(project_with_members))


def test_the_outbox_survives_being_killed_at_several_points(project_with_members: Path) -> None:
    """Kill `actionmail send` once 100, 400 and 700 members have their file; rerun; in the end, one file each."""
    command = [sys.executable, "-m", "actionmail", "send", f"newsletters/{SEED.name}", "--yes"]
    folder = project_with_members / "outbox" / SEED.stem
    seen = []
    for point in (100, 400, 700):
        sender = subprocess.Popen(
            command, cwd=project_with_members, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while sender.poll() is None and time.monotonic() < deadline:
            if len(list(folder.glob("*.eml"))) >= point if folder.exists() else False:
                break
            time.sleep(0.005)
        sender.send_signal(signal.SIGKILL)
        sender.wait()
        seen.append(len(list(folder.glob("*.eml"))))
    assert seen[0] < 1000, f"the first kill came too late to test anything: {seen}"
    finished = subprocess.run(command, cwd=project_with_members, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip().endswith("accepted 1,000")
    files = list(folder.glob("*.eml"))
    assert len(files) == 1000
    assert {int(f.stem) for f in files} == _ids(project_with_members)


def _ids(project: Path) -> set[int]:
    with audience.Store.open(project / "actionmail.db") as store:
        return {m.id for m in store.subscribers()}


def test_a_missing_api_key_sends_nothing_and_loses_nobody(
    project_with_members: Path, mailgun: MailgunFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACTIONMAIL_MAILGUN_API_KEY")
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (  # found when it reads back Mailgun's lists (`sync`), before sending
        "Error: mailgun needs its API key: set the environment variable ACTIONMAIL_MAILGUN_API_KEY"
    )
    assert mailgun.requests == []
    monkeypatch.setenv("ACTIONMAIL_MAILGUN_API_KEY", MAILGUN_KEY)
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes"])
    assert result.exit_code == 0 and summary(result.output).endswith("accepted 1,000")
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))


def test_a_retry_after_that_cannot_be_read_means_backing_off(project_with_members: Path, mailgun: MailgunFake) -> None:
    """Refused calls (nothing sent) whose Retry-After is no wait: retried after a backoff, never a crash that would
    strand the batch in flight (then uncertain, and never resent by a provider without idempotency keys)."""
    refused = [
        Fault(status=429, headers={"Retry-After": "soon"}, body={"message": "Too many requests"}),
        Fault(status=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 -0000"}, body=""),
        Fault(status=429, headers={"Retry-After": "-5"}, body={"message": "Too many requests"}),
        Fault(status=429, headers={"Retry-After": "9" * 40}, body={"message": "Too many requests"}),
    ]
    mailgun.fail(Fault(), *refused)
    outcome, counts = run_send(project_with_members)
    assert outcome.stopped is None
    assert counts[delivery.State.ACCEPTED] == 1000 and counts[delivery.State.UNCERTAIN] == 0
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))
    assert len(mailgun.requests) == 24 + 4


def test_a_batch_refused_for_longer_than_a_send_waits_is_queued_for_the_next_run(
    project_with_members: Path, mailgun: MailgunFake
) -> None:
    mailgun.fail(Fault(status=429, headers={"Retry-After": "3600"}, body={"message": "Too many requests"}))
    outcome, counts = run_send(project_with_members)
    refused = len(email.utils.getaddresses(mailgun.requests[0].form()["to"]))  # the batch that met the fault
    assert (counts[delivery.State.QUEUED], counts[delivery.State.FAILED], counts[delivery.State.UNCERTAIN]) == (
        refused, 0, 0
    )  # fmt: skip
    assert outcome.queued == refused and counts[delivery.State.ACCEPTED] == 1000 - refused
    status = CliRunner().invoke(main, ["status", f"newsletters/{SEED.name}"]).output
    assert status.count("  queued  not sent yet: mailgun (HTTP 429): Too many requests") == refused
    _, counts = run_send(project_with_members)
    assert counts[delivery.State.ACCEPTED] == 1000
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))


def test_a_2xx_without_a_message_id_is_uncertain_and_not_resent(
    project_with_members: Path, mailgun: MailgunFake
) -> None:
    """Mailgun said yes without saying what it queued: it may have sent. Failed would be resent: a duplicate."""
    mailgun.fail(Fault(), Fault(status=200, body={"message": "Queued. Thank you."}))
    outcome, counts = run_send(project_with_members, batch=100)
    odd = len(email.utils.getaddresses(mailgun.requests[1].form()["to"]))  # the batch that met the fault
    assert outcome.stopped is not None and "without a message id" in str(outcome.stopped)
    assert counts[delivery.State.UNCERTAIN] == odd and counts[delivery.State.FAILED] == 0
    first = len(mailgun.requests)
    _, counts = run_send(project_with_members, batch=100)
    assert counts[delivery.State.UNCERTAIN] == odd and counts[delivery.State.ACCEPTED] == 1000 - odd

    def addresses(request: Request) -> set[str]:
        return {address for _, address in email.utils.getaddresses(request.form()["to"])}

    assert all(not addresses(r) & addresses(mailgun.requests[1]) for r in mailgun.requests[first:])  # not resent


def test_twenty_kills_and_a_third_of_calls_failing_never_send_twice(
    project_with_members: Path, mailgun: MailgunFake
) -> None:
    """The issue's test: a provider without idempotency keys, 30% of calls failing every way a call can fail, and
    the sending process SIGKILLed 20 times at any point of a call; rerun until nothing is left to send. Nobody
    gets two copies, and whoever got none is uncertain in the ledger, reported; then Mailgun's events settle them,
    and one more send reaches everyone exactly once. The first ten runs go out on an earlier day (2019-08-04),
    the rest today: the send goes on across midnight, as it must when the test really runs across it.

    ACTIONMAIL_CHAOS_SEED picks another sequence of faults and kills (the default is fixed, for CI).
    """
    rng = random.Random(int(os.environ.get("ACTIONMAIL_CHAOS_SEED", "10")))
    faults = [
        lambda: Fault(status=429, headers={"Retry-After": "soon"}, body={"message": "Too many requests"}),
        lambda: Fault(status=503, body="Service Unavailable"),
        lambda: Fault(status=500, body=""),
        lambda: Fault(status=429, headers={"Retry-After": "3600"}, body={"message": "Come back in an hour"}),
        lambda: Fault(drop=True),  # the request went out, no answer: nothing sent, but we can't know
        lambda: Fault(drop=True, after_handling=True),  # sent, and no answer
        lambda: Fault(status=200, body={"message": "Queued. Thank you."}, after_handling=True),  # sent, no id
    ]
    kills, runs = 0, 0
    command = [sys.executable, "-m", "tests.sender", str(project_with_members), f"newsletters/{SEED.name}", "10"]
    while runs < 80:
        runs += 1
        day = "2019-08-04" if runs <= 10 else ""  # tests.sender: the day it goes out ("": today)
        sender = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, "ACTIONMAIL_TEST_SEND_DAY": day}, stderr=subprocess.PIPE
        )

        def kill(sender: subprocess.Popen[bytes] = sender) -> None:
            sender.send_signal(signal.SIGKILL)

        calls = rng.randint(1, 3) if kills < 20 else -1  # the call in which this run is killed, if it is

        def chaos() -> Fault | None:
            nonlocal calls
            calls -= 1
            if calls == 0:  # before Mailgun takes it, after, or once it has answered (the ledger being written)
                when = rng.choice(["before", "after", "answered"])
                if when == "answered":
                    return Fault(then=lambda: threading.Timer(rng.uniform(0, 0.01), kill).start())
                return Fault(drop=True, after_handling=when == "after", then=kill)
            return rng.choice(faults)() if rng.random() < 0.3 else None

        mailgun.chaos = chaos
        _, errors = sender.communicate(timeout=60)
        assert sender.returncode in (0, -signal.SIGKILL), errors.decode()
        kills += sender.returncode == -signal.SIGKILL
        counts = ledger_counts(project_with_members)
        if sender.returncode == 0 and counts[delivery.State.QUEUED] == counts[delivery.State.FAILED] == 0:
            break  # nothing left to send
    mailgun.chaos = None
    assert kills == 20, (kills, runs)
    assert counts[delivery.State.IN_FLIGHT] == 0 and counts[delivery.State.ACCEPTED] < 1000  # the faults told

    got = delivered(mailgun)
    assert max(got.values()) == 1  # nobody twice
    rows = ledger_rows(project_with_members)
    accepted = {email for email, state in rows.items() if state == delivery.State.ACCEPTED}
    uncertain = {email for email, state in rows.items() if state == delivery.State.UNCERTAIN}
    assert accepted | uncertain == everyone(project_with_members)
    assert accepted <= set(got)  # accepted means delivered
    assert everyone(project_with_members) - set(got) <= uncertain  # every miss is uncertain …

    # … and reported so; without asking Mailgun (--no-sync), a rerun sends nothing.
    before = len(mailgun.requests)
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes", "--no-sync"])
    assert result.exit_code == 3 and len(mailgun.requests) == before
    assert f"{len(uncertain):,} uncertain: a call to mailgun was interrupted" in result.output
    status = CliRunner().invoke(main, ["status", f"newsletters/{SEED.name}", "--all"]).output
    listed = [line.split() for line in status.splitlines()]
    assert sum(words[1:2] == ["uncertain"] and "@" in words[0] for words in listed) == len(uncertain)
    said = f"  {len(uncertain):,} uncertain (mailgun): the call was cut off before mailgun answered; `actionmail sync`"
    assert said + " asks mailgun" in status

    # Mailgun's events settle them (`actionmail sync`, once its event delay has passed since the calls): those it
    # took are accepted, the others go back in the queue; the next send reaches exactly those. Nobody twice, and
    # nobody missed.
    provider = providers.build(load_project(project_with_members))
    later = dt.datetime.now(dt.UTC) + provider.event_delay + dt.timedelta(minutes=1)
    settled = syncing.settle(project_with_members / "actionmail.db", provider, now=later)
    provider.close()
    assert (settled.confirmed, settled.requeued, settled.left) == (
        len(uncertain & set(got)),
        len(uncertain - set(got)),
        0,
    )
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes"])
    assert result.exit_code == 0, result.output
    assert delivered(mailgun) == collections.Counter(everyone(project_with_members))
    assert ledger_counts(project_with_members)[delivery.State.ACCEPTED] == 1000


@pytest.mark.parametrize("aged", [False, True], ids=["within-brevos-30-minutes", "after"])
def test_an_idempotent_provider_repeats_an_uncertain_call_only_while_it_remembers_the_key(
    project_with_members: Path, monkeypatch: pytest.MonkeyPatch, aged: bool
) -> None:
    """Brevo forgets an idempotency key after 30 minutes: repeated later, the call would send again."""
    now = [0.0]
    monkeypatch.setenv("ACTIONMAIL_BREVO_API_KEY", "brevo-test-key-not-secret")
    with BrevoFake("brevo-test-key-not-secret", clock=lambda: now[0]) as brevo:
        use_provider(project_with_members, "brevo", base_url=brevo.url)
        brevo.fail(Fault(), *[Fault(drop=True, after_handling=True)] * 6)  # the second call's answer never comes
        _, counts = run_send(project_with_members, concurrency=1)
        lost = len(brevo.requests[1].json()["messageVersions"])
        assert counts[delivery.State.UNCERTAIN] == lost and len(brevo.delivered) == 1000  # Brevo had them all
        if aged:  # 20 minutes on: Brevo's 30 less the retries' margin have passed; 31 later, Brevo forgot
            sql.execute(
                project_with_members / "actionmail.db",
                "UPDATE deliveries SET updated_at = ? WHERE state = 'uncertain'",
                (_ago(minutes=20),),
            )
            now[0] += 31 * 60
        # Without asking Brevo what it sent (--no-sync), only the idempotency key can make a repeat safe.
        result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes", "--no-sync"])
        assert max(collections.Counter(d.to for d in brevo.delivered).values()) == 1  # nobody twice, either way
        if aged:
            assert result.exit_code == 3 and f"{lost:,} uncertain: a call to brevo was interrupted" in result.output
            assert (
                "brevo no longer remembers the call" in result.output and "--resend-uncertain` sends" in result.output
            )
            # Brevo's events show it sent them: the sync that a send runs first settles them, accepted.
            result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes"])
            assert result.exit_code == 0, result.output
            assert f"{lost:,} uncertain recipients were sent to, says brevo: accepted" in result.output
            assert collections.Counter(d.to.lower() for d in brevo.delivered) == collections.Counter(
                everyone(project_with_members)
            )
        else:  # the same call again, recognised: everyone accepted, once
            assert result.exit_code == 0 and summary(result.output).endswith("accepted 1,000"), result.output


def _ago(minutes: int) -> str:
    import datetime as dt

    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)).isoformat(timespec="seconds")
