"""actionmail send and status, end to end through the outbox: real files, the real ledger, exact output."""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from actionmail import tokens
from actionmail.audience import Store
from actionmail.cli import main
from tests.conftest import KEY, SEED, write
from tests.test_send_faults import run_send

SEATTLE_TEL = {str(d): f"tel:+120668488{d:02d}" for d in range(1, 8)}


# Every send of the 2019 example today warns, once, that its date has passed, and its election day with it (see
# the test of it below); the other tests here are about what follows, so they read the output without that line.
STALE = (
    f"newsletters/{SEED.name}:13: date: warning: the newsletter's date, 2019-08-01, is before the day it goes out: "
    "election day (2019-08-06) will have passed, and readers can't act on it: set 'date:' to the day it goes out, "
    "and check it again\n"
)


# What a send that reached someone prints last: the day's page on the web edition (tests/serve/test_serve_site.py).
PUBLISHED = "Published site/daily-actions/2019/8/1/no-police-facial-recognition/index.html (the web edition: site/)\n"


def invoke(*args: str) -> tuple[int, str]:
    """The exit code and output of a command, less the newsletter's date warning and the web edition's line."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output.replace(STALE, "", 1).replace(PUBLISHED, "", 1)


def test_a_send_after_the_newsletters_date_shows_the_checks_warning_and_goes_on(members: Path) -> None:
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes"])
    assert result.exit_code == 0
    assert result.output == STALE + f"Send 1 of {SEED.stem} through outbox: accepted 1,000\n" + PUBLISHED


FORCE = "Error: nothing was sent: fix the errors above, or send with --force to send despite them\n"
INVALID = "Error: nothing was sent: fix the errors above\n"


def test_check_errors_stop_a_send_unless_forced(members: Path) -> None:
    guide = "\n      [the Fuse Progressive Voters Guide for Seattle](https://progressivevotersguide.com/washington/2019/primary/city/seattle/)."
    text = SEED.read_text().replace(guide, "")
    write(members / "newsletters", SEED.name, text)
    lost = (
        f"newsletters/{SEED.name}:71: bonus[0].why: 'You can find it at' ends without the link it promises: lost "
        "in copy-paste?: put the link back: … at [the page's name](https://…)"
    )
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes")
    assert (code, output) == (2, lost + "\n" + FORCE)
    assert not (members / "outbox").exists()
    code, output = invoke("send", f"newsletters/{SEED.name}", "--dry-run")
    assert code == 0 and output.startswith(lost + "\nDry run: ")
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes", "--force")
    assert (code, output) == (0, lost + f"\nSend 1 of {SEED.stem} through outbox: accepted 1,000\n")


def test_a_mailto_unsubscribe_is_advertised_only_when_an_address_is_set_for_it(members: Path) -> None:
    settings = members / "actionmail.toml"
    text = settings.read_text()
    settings.write_text(
        text.replace("[email]\n", '[email]\nunsubscribe_mailto = "unsubscribe@seattleindivisible.com"\n')
    )
    assert invoke("send", f"newsletters/{SEED.name}", "--yes")[0] == 0
    header = parse(outbox(members)[0])["List-Unsubscribe"]
    url = header.split(",")[0].strip("<> ")
    token = url.rsplit("/", 1)[1]
    assert header == f"<{url}>, <mailto:unsubscribe@seattleindivisible.com?subject=unsubscribe%20{token}>"


def outbox(project: Path) -> list[Path]:
    return sorted((project / "outbox" / SEED.stem).glob("*.eml"))


def parse(path: Path) -> EmailMessage:
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    return message


def test_send_through_the_outbox_reaches_everyone_once(members: Path) -> None:
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes")
    assert code == 0, output
    assert output.splitlines()[-1] == f"Send 1 of {SEED.stem} through outbox: accepted 1,000"
    files = outbox(members)
    assert len(files) == 1000
    with Store.open(members / "actionmail.db") as store:
        everyone = {m.id: m for m in store.subscribers()}
    assert {int(f.stem) for f in files} == set(everyone)
    for path in files[::50]:
        member = everyone[int(path.stem)]
        message = parse(path)
        assert message["To"].addresses[0].addr_spec == member.email
        url = message["List-Unsubscribe"].split(",")[0].strip("<> ")
        assert url.startswith("https://www.seattleindivisible.com/unsubscribe/")
        token = url.rsplit("/", 1)[1]
        assert tokens.verify(KEY.encode(), "daily-action", token, {member.id: member.email}.get) == member.id
        # No mailto: nothing reads the reply-to mailbox for unsubscribes (see the test below).
        assert message["List-Unsubscribe"] == f"<{url}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert url in html and url in text and "{unsubscribe_url}" not in html
        if member.district in SEATTLE_TEL:
            assert f'href="{SEATTLE_TEL[member.district]}"' in html
            assert sum(tel in html for tel in SEATTLE_TEL.values()) == 1  # only their own councilmember
        else:
            assert all(tel in html for tel in SEATTLE_TEL.values())  # the fallback lists them all
    # A second run sends nothing more, and says so.
    again = invoke("send", f"newsletters/{SEED.name}", "--yes")
    assert again == (0, "Nothing to send: send 1 of " + SEED.stem + " has no one left to send to (accepted 1,000)\n")
    assert len(outbox(members)) == 1000


def test_dry_run_sends_and_records_nothing(members: Path) -> None:
    code, output = invoke("send", f"newsletters/{SEED.name}", "--dry-run")
    assert code == 0
    lines = output.splitlines()
    assert lines[0] == f"Dry run: {SEED.stem} through outbox to 1,000 members (everyone)"
    assert lines[1].split() == ["en", "·", "district", "1", "123"]
    assert "  List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines
    assert lines[-1] == "Nothing was sent."
    assert not (members / "outbox").exists()
    assert invoke("status", f"newsletters/{SEED.name}") == (0, f"{SEED.stem} has not been sent.\n")


def test_a_test_copy_goes_to_one_address_outside_the_ledger(members: Path) -> None:
    code, output = invoke("send", f"newsletters/{SEED.name}", "--to", "me@example.org")
    assert code == 0 and output.startswith("Sent a test copy of en · district unknown to me@example.org through outbox")
    (copy,) = (members / "outbox" / SEED.stem).glob("test-*.eml")
    assert parse(copy)["Subject"] == "[TEST] No police partnerships on facial recognition in Seattle"
    assert parse(copy)["To"] == "me@example.org"
    assert invoke("status", f"newsletters/{SEED.name}")[1] == f"{SEED.stem} has not been sent.\n"


def test_a_send_asks_first_and_needs_the_secret_key(members: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = invoke("send", f"newsletters/{SEED.name}")
    assert code == 2
    assert output == (
        "Error: Send 'No police partnerships on facial recognition in Seattle' to 1,000 members (everyone) "
        "through outbox? Not confirmed: pass --yes to send without asking\n"
    )
    monkeypatch.delenv("ACTIONMAIL_SECRET_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(members / "no-config"))
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes")
    assert code == 2 and output.startswith("Error: no secret key for unsubscribe links: set ACTIONMAIL_SECRET_KEY")
    assert not (members / "outbox").exists()


def test_check_errors_block_a_send(members: Path) -> None:
    broken = SEED.read_text().replace("official: durkan", "official: durkin")
    write(members / "newsletters", SEED.name, broken)
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes")
    assert code == 2 and "'durkin' is not in officials.yaml" in output and output.endswith(INVALID)
    assert not (members / "outbox").exists()


def test_a_changed_newsletter_needs_new_version_and_reaches_only_the_rest(members: Path) -> None:
    assert invoke("send", f"newsletters/{SEED.name}", "--yes", "--segment", "district=3")[0] == 0
    changed = SEED.read_text().replace("Vote Today!", "Vote by Tuesday!")
    write(members / "newsletters", SEED.name, changed)
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes")
    assert code == 2 and output.startswith(f"Error: {SEED.stem} changed since it was partly sent (send 1, ")
    assert output.rstrip().endswith(
        "send again with --new-version to send the new version to those who have not had the old one"
    )
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes", "--new-version")
    assert code == 0 and output.splitlines()[-1] == f"Send 2 of {SEED.stem} through outbox: accepted 891"
    assert len(outbox(members)) == 1000  # 109 in district 3 had the first version; nobody got two


def test_members_who_unsubscribe_before_their_batch_are_skipped(members: Path) -> None:
    # A send for district 7 in batches of 10; while the first batch is out, the last member unsubscribes.
    with Store.open(members / "actionmail.db") as store:
        someone = [m for m in store.subscribers() if m.district == "7"][-1]
    from actionmail import delivery, providers, variants

    edition = variants.load_edition(members / "newsletters" / SEED.name)
    with Store.open(members / "actionmail.db") as store:
        ledger = delivery.Ledger(members / "actionmail.db")
        plan = delivery.prepare(edition, store, ledger, "district=7")
        provider = providers.build(edition.project)
        original = provider.send
        calls = []

        def send_then_unsubscribe(batch):  # type: ignore[no-untyped-def]
            calls.append(batch)
            if len(calls) == 1:
                with Store.open(members / "actionmail.db") as elsewhere:  # as another process would
                    elsewhere.unsubscribe(someone.email, "asked by phone")
            return original(batch)

        provider.send = send_then_unsubscribe  # type: ignore[method-assign]
        provider.max_batch = 10  # type: ignore[misc]
        _, outcome, counts = delivery.execute(plan, store, ledger, provider, delivery.Pace(concurrency=1), KEY.encode())
        ledger.close()
    assert (counts[delivery.State.ACCEPTED], counts[delivery.State.SKIPPED]) == (126, 1)
    assert all(someone.email not in {r.email for r in batch.recipients} for batch in calls)
    assert outcome.skipped == 1


def test_status_reports_each_send(members: Path) -> None:
    assert invoke("send", f"newsletters/{SEED.name}", "--yes", "--segment", "district=5")[0] == 0
    code, output = invoke("status", f"newsletters/{SEED.name}")
    assert code == 0
    lines = output.splitlines()
    assert lines[0].startswith("Send 1, started ") and lines[0].endswith(", finished (district=5):")
    assert lines[1] == "  accepted 144"


def test_outbox_cannot_schedule(members: Path) -> None:
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes", "--at", "2099-01-01 07:00")
    assert (code, output) == (2, "Error: outbox cannot schedule a send: drop --at, or use a provider that can\n")


def test_the_ledger_queues_each_member_under_the_variant_edition_key_gives(project: Path) -> None:
    """The queue's variant labels are computed inside SQLite; they must be what Edition.key says in Python."""
    from actionmail import delivery, variants
    from actionmail.audience import Store

    write(
        project,
        "members.csv",
        """
        Email Address,District,Language
        a@example.org,3,es
        b@example.org,3,fr
        c@example.org,,es
        d@example.org,8,
        e@example.org,7,en
        """,
    )
    # District 8 is not in officials.yaml: d is imported without a district, with a warning.
    assert CliRunner().invoke(main, ["subscribers", "import", "members.csv"]).exit_code == 0
    with Store.open(project / "actionmail.db") as store:
        store.add("d@example.org", district=None)
    write(project / "newsletters", SEED.name, SEED.read_text())
    spanish = SEED.read_text().replace("language: en", "language: es")
    write(project / "newsletters", f"{SEED.stem}.es.yaml", spanish)
    edition = variants.load_edition(project / "newsletters" / SEED.name)
    with Store.open(project / "actionmail.db") as store:
        ledger = delivery.Ledger(project / "actionmail.db")
        plan = delivery.prepare(edition, store, ledger, None)
        send = ledger.create_send(plan.issue, plan.content_hash, None)
        delivery._enqueue(plan, store, ledger, send)
        queued = {row.email: row.variant for row in ledger.pending(send.id, [delivery.State.QUEUED])}
        expected = {
            m.email: f"{edition.key_for(m).language}|{edition.key_for(m).district or ''}" for m in store.subscribers()
        }
        ledger.close()
    assert (
        queued
        == expected
        == {
            "a@example.org": "es|3",
            "b@example.org": "en|3",
            "c@example.org": "es|",
            "d@example.org": "en|",
            "e@example.org": "en|7",
        }
    )


def test_nobody_to_send_to_is_an_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", KEY)
    write(project / "newsletters", SEED.name, SEED.read_text())
    assert invoke("send", f"newsletters/{SEED.name}", "--yes") == (
        2,
        "Error: no active members to send to (everyone): check --segment, or import members with "
        "`actionmail subscribers import`\n",
    )


def test_a_provider_without_its_settings_says_where_they_go(members: Path) -> None:
    assert invoke("send", f"newsletters/{SEED.name}", "--yes", "--provider", "mailgun") == (
        2,
        "actionmail.toml: providers.mailgun.domain: required key is missing: add a [providers.mailgun] section to "
        "actionmail.toml with domain = …\n",
    )


def test_a_new_version_after_a_full_send_reaches_nobody_twice(members: Path) -> None:
    assert invoke("send", f"newsletters/{SEED.name}", "--yes")[0] == 0
    write(members / "newsletters", SEED.name, SEED.read_text().replace("Vote Today!", "Vote by Tuesday!"))
    assert invoke("send", f"newsletters/{SEED.name}", "--yes", "--new-version") == (
        0,
        f"Send 2 of {SEED.stem} through outbox: nobody left to send to (an earlier version reached everyone)\n",
    )
    assert len(outbox(members)) == 1000


def test_an_email_gmail_would_clip_is_not_sent(members: Path) -> None:
    padding = "\n\n".join(f"Paragraph {i}: " + "words " * 40 for i in range(450))
    text = SEED.read_text().replace(
        "background: |\n", "background: |\n  " + padding.replace("\n", "\n  ") + "\n\n  ", 1
    )
    write(members / "newsletters", SEED.name, text)
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes")
    assert code == 2
    assert output.splitlines()[0].startswith(f"newsletters/{SEED.name}: the HTML is ")
    assert output.splitlines()[1].startswith(f"newsletters/{SEED.name}: the district 1 version is ")
    # every variant: the fallback and districts 1-7
    assert output.count("KB; Gmail clips emails over about 102 KB, hiding the unsubscribe link") == 8
    assert not (members / "outbox").exists()


def test_one_send_at_a_time(members: Path) -> None:
    from actionmail import database
    from actionmail.database import locks
    from actionmail.delivery.ledger import SEND_LOCK

    lock = locks.Lock(database.locate(members / "actionmail.db"), SEND_LOCK)
    assert lock.acquire()  # as a send running in another process (on PostgreSQL, maybe on another host)
    try:
        code, output = invoke("send", f"newsletters/{SEED.name}", "--yes")
    finally:
        lock.release()
    assert (code, output) == (
        2,
        (
            "Error: another send is running on this subscriber database: wait for it to finish (actionmail status "
            "shows its progress)\n"
        ),
    )
    assert not (members / "outbox").exists()
    assert invoke("send", f"newsletters/{SEED.name}", "--yes")[0] == 0  # and once it is over, sends go again


def test_a_send_checks_what_it_has_rendered_without_rendering_it_again(
    members: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actionmail import variants

    renders: list[variants.VariantKey] = []
    original = variants.Edition.render

    def counted(self: variants.Edition, key: variants.VariantKey) -> Any:
        renders.append(key)
        return original(self, key)

    monkeypatch.setattr(variants.Edition, "render", counted)
    code, _ = invoke("send", f"newsletters/{SEED.name}", "--dry-run")
    assert code == 0
    assert len(renders) == len(set(renders)) == 8  # each variant once: districts 1-7 and the fallback


def test_a_send_checks_each_translation(members: Path) -> None:
    spanish = SEED.read_text().replace("language: en", "language: es").replace("Vote Today!", "Vote hoy TK")
    write(members / "newsletters", f"{SEED.stem}.es.yaml", spanish)
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes")
    assert (code, output) == (
        2,
        STALE.replace(SEED.name, f"{SEED.stem}.es.yaml")
        + f"newsletters/{SEED.stem}.es.yaml:62: bonus[0].title: 'TK' (to come) is left in the text: finish or "
        "remove it\n" + FORCE,
    )
    assert not (members / "outbox").exists()


def test_as_without_to_is_a_usage_error_and_sends_nothing(members: Path) -> None:
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes", "--as", "someone@example.org")
    assert (code, output) == (
        2,
        "Error: --as someone@example.org only chooses whose copy a test sends: add --to YOUR-ADDRESS to send it "
        "there (without --to, send goes to every member)\n",
    )
    assert not (members / "outbox").exists()


FIX = "give one address, like --to you@example.org"


@pytest.mark.parametrize(
    ("to", "error"),
    [
        ("not-an-address", "--to 'not-an-address': not an email address (An email address must have an @-sign.)"),
        ("", "--to '': no address"),
        ("  ", "--to '  ': no address"),
        ("a@b@c.org", "--to 'a@b@c.org': not an email address"),
        ("a@example.org, b@example.org", "--to 'a@example.org, b@example.org': one address at a time"),
        ("a@example.org;b@example.org", "--to 'a@example.org;b@example.org': one address at a time"),
    ],
)
def test_a_test_address_that_is_not_one_is_a_clear_error(members: Path, to: str, error: str) -> None:
    code, output = invoke("send", f"newsletters/{SEED.name}", "--to", to)
    assert code == 2 and output.startswith(f"Error: {error}") and FIX in output, output
    assert not (members / "outbox").exists()


def test_a_test_address_with_a_name_is_taken(members: Path) -> None:
    code, output = invoke("send", f"newsletters/{SEED.name}", "--to", "Sam <sam@example.org>")
    assert code == 0 and " to sam@example.org through outbox" in output
    (copy,) = (members / "outbox" / SEED.stem).glob("test-*.eml")
    assert parse(copy)["To"] == "sam@example.org"


def test_members_who_join_after_a_send_started_are_reported_and_included_when_asked(members: Path) -> None:
    send = ("send", f"newsletters/{SEED.name}")
    assert invoke(*send, "--yes")[0] == 0
    with Store.open(members / "actionmail.db") as store:
        for i in range(5):
            store.add(f"new{i}@example.org", first_name="New")
    joined = (
        f"5 members joined since this send started: `actionmail send newsletters/{SEED.name} --include-new` sends to "
        "them too\n"
    )
    assert invoke(*send, "--yes") == (
        0,
        f"Nothing to send: send 1 of {SEED.stem} has no one left to send to (accepted 1,000)\n" + joined,
    )
    # The dry run says what the send would do: nothing, or the five with --include-new.
    code, output = invoke(*send, "--dry-run")
    assert code == 0 and output.splitlines()[0].endswith(": 0 to send (accepted 1,000)"), output
    assert output.splitlines()[1] == (
        f"  5 members joined since this send started: `actionmail send newsletters/{SEED.name} --include-new` "
        "includes them"
    )
    code, output = invoke(*send, "--dry-run", "--include-new")
    assert code == 0 and output.splitlines()[0].endswith(": 5 to send (accepted 1,000)"), output
    assert output.splitlines()[1] == "  5 members joined since this send started: included (--include-new)"
    assert len(outbox(members)) == 1000

    assert invoke(*send, "--yes", "--include-new") == (0, f"Send 1 of {SEED.stem} through outbox: accepted 1,005\n")
    assert len(outbox(members)) == 1005  # the same ledger: the first thousand not sent again
    assert invoke(*send, "--yes") == (
        0,
        f"Nothing to send: send 1 of {SEED.stem} has no one left to send to (accepted 1,005)\n",
    )


def test_a_send_finished_on_an_earlier_day_sends_nothing_when_run_again(members: Path) -> None:
    """The file is the same: only the day it would be rendered for is not. Not "changed since it was partly sent"."""
    run_send(members, day=dt.date(2019, 8, 4))
    assert invoke("send", f"newsletters/{SEED.name}", "--yes") == (
        0,
        f"Nothing to send: send 1 of {SEED.stem} has no one left to send to (accepted 1,000)\n",
    )
    assert len(outbox(members)) == 1000


def test_ctrl_c_counts_a_send_begun_on_an_earlier_day(members: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import _thread

    from actionmail.providers.base import ProviderError
    from actionmail.providers.outbox import Outbox

    calls: list[Any] = []
    original = Outbox.send

    def refuse_the_third(self: Outbox, batch: Any) -> Any:
        calls.append(batch)
        if len(calls) == 3:
            raise ProviderError("outbox", "refused", status=400)  # stops the send: the rest stays queued
        return original(self, batch)

    monkeypatch.setattr(Outbox, "send", refuse_the_third)
    outcome, _ = run_send(members, batch=100, concurrency=1, day=dt.date(2019, 8, 4))
    before = len(outbox(members))
    assert outcome.stopped is not None and 0 < before < 1000

    def send_then_interrupt(self: Outbox, batch: Any) -> Any:
        calls.append(batch)
        if len(calls) == 6:
            _thread.interrupt_main()  # Ctrl-C, on the day after: the same send goes on, and is counted
        return original(self, batch)

    monkeypatch.setattr(Outbox, "send", send_then_interrupt)
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes", "--concurrency", "1")
    accepted = len(outbox(members))
    assert code == 130 and before < accepted < 1000
    assert output.endswith(
        f"Interrupted: {accepted:,} of 1,000 accepted so far ({accepted - before:,} in this run). Nothing is lost: "
        f"`actionmail send newsletters/{SEED.name}`, the same command, continues with the rest\n"
    )
    assert output.startswith("Continuing send 1 of "), output
    monkeypatch.setattr(Outbox, "send", original)
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes")
    assert code == 0 and output.endswith(f"Send 1 of {SEED.stem} through outbox: accepted 1,000\n"), output
    assert len(outbox(members)) == 1000


def test_a_dry_run_counts_whom_the_send_will_send_to(members: Path) -> None:
    """After an earlier version reached district 3, a new version goes to the others only: the dry run agrees."""
    assert invoke("send", f"newsletters/{SEED.name}", "--yes", "--segment", "district=3")[0] == 0
    write(members / "newsletters", SEED.name, SEED.read_text().replace("Vote Today!", "Vote by Tuesday!"))
    code, output = invoke("send", f"newsletters/{SEED.name}", "--dry-run")
    assert code == 0
    assert output.splitlines()[:2] == [
        f"Dry run: {SEED.stem} through outbox to 891 members (everyone)",
        "  (109 of the 1,000 had an earlier version: not again)",
    ]
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes", "--new-version")
    assert code == 0 and output.splitlines()[-1] == f"Send 2 of {SEED.stem} through outbox: accepted 891"


def test_ctrl_c_says_how_many_were_accepted_and_that_the_same_command_continues(
    members: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import _thread

    from actionmail.providers.outbox import Outbox

    calls = []
    original = Outbox.send

    def send_then_interrupt(self: Outbox, batch: Any) -> Any:
        calls.append(batch)
        if len(calls) == 3:
            _thread.interrupt_main()  # Ctrl-C: SIGINT's KeyboardInterrupt, in the main thread, mid-send
        return original(self, batch)

    monkeypatch.setattr(Outbox, "send", send_then_interrupt)
    code, output = invoke("send", f"newsletters/{SEED.name}", "--yes", "--concurrency", "1")
    accepted = len(outbox(members))
    assert code == 130 and 0 < accepted < 1000
    assert output == (
        f"Interrupted: {accepted:,} of 1,000 accepted so far ({accepted:,} in this run). Nothing is lost: "
        f"`actionmail send newsletters/{SEED.name}`, the same command, continues with the rest\n"
    )
    monkeypatch.setattr(Outbox, "send", original)
    assert invoke("send", f"newsletters/{SEED.name}", "--yes") == (
        0,
        f"Send 1 of {SEED.stem} through outbox: accepted 1,000\n",
    )
    assert len(outbox(members)) == 1000


def test_status_shows_times_in_the_organizations_time_zone(members: Path) -> None:
    import datetime as dt
    import re
    import zoneinfo

    assert invoke("send", f"newsletters/{SEED.name}", "--yes", "--segment", "district=5")[0] == 0
    line = invoke("status", f"newsletters/{SEED.name}")[1].splitlines()[0]
    found = re.fullmatch(r"Send 1, started (\d{4}-\d\d-\d\d \d\d:\d\d) (P[SD]T), finished \(district=5\):", line)
    assert found, line
    seattle = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles"))
    shown = dt.datetime.strptime(found[1], "%Y-%m-%d %H:%M").replace(tzinfo=seattle.tzinfo)
    assert abs((seattle - shown).total_seconds()) < 300 and found[2] == seattle.strftime("%Z")


def test_at_with_a_provider_that_cannot_schedule_fails_in_a_dry_run_too(members: Path) -> None:
    error = (2, "Error: outbox cannot schedule a send: drop --at, or use a provider that can\n")
    assert invoke("send", f"newsletters/{SEED.name}", "--dry-run", "--at", "2099-01-01 07:00") == error
    assert invoke("send", f"newsletters/{SEED.name}", "--to", "me@example.org", "--at", "2099-01-01 07:00") == error
