"""`actionmail send` and `actionmail status`."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import json
import shlex
import sys
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import tqdm

from actionmail import audience, check, delivery, providers, tokens, variants
from actionmail.audience.model import BadAddress, normalize_email
from actionmail.cli import SEGMENT_HELP, format_option, reported, reports_errors, sync
from actionmail.cli.common import find_member, local_time, secret_or_none
from actionmail.config import Project, load_project
from actionmail.delivery.ledger import SendRecord
from actionmail.errors import ActionmailError, ExitCode, InvalidInput, Problem, UsageError, shown
from actionmail.providers.base import ProviderError, Pullable
from actionmail.render import sample_values


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--segment", help=SEGMENT_HELP)
@click.option("--provider", "provider_name", help="Send through this provider instead of [send] provider.")
@click.option("--to", "test_to", metavar="ADDRESS", help="Send one test copy here ([TEST] in the subject); no ledger.")
@click.option("--as", "as_email", metavar="EMAIL", help="With --to: the copy this member would get.")
@click.option("--dry-run", is_flag=True, help="Do everything but send: who gets which variant, and sample headers.")
@click.option("--yes", "-y", is_flag=True, help="Don't ask for confirmation.")
@click.option("--at", "at", metavar="TIME", help="Deliver at this time ('2019-08-01 07:00', the org's time zone).")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Provider calls at once (default: [send]).")
@click.option("--rate", metavar="N/s", help="At most N messages a second (50/s), the send's processes together.")
@click.option("--workers", type=click.IntRange(1, 32),
              help="Processes that build and send (default: a big send, one per two cores, up to 4).")  # fmt: skip
@click.option(
    "--join",
    is_flag=True,
    help="PostgreSQL: help a send of FILE running on another host, claiming batches from its queue.",
)
@click.option("--new-version", is_flag=True, help="Send a changed newsletter to those who didn't get the old one.")
@click.option("--resend-uncertain", is_flag=True, help="Send again to those an interrupted call may have reached.")
@click.option("--include-new", is_flag=True, help="Continuing a send: also send to members who joined since it began.")
@click.option("--force", is_flag=True, help="Send despite errors `check` finds (an invalid file is never sent).")
@click.option("--no-sync", is_flag=True, help="Don't read the provider's bounces and unsubscribes first (`sync`).")
@reports_errors
def send(
    file: Path,
    segment: str | None,
    provider_name: str | None,
    test_to: str | None,
    as_email: str | None,
    dry_run: bool,
    yes: bool,
    at: str | None,
    concurrency: int | None,
    rate: str | None,
    workers: int | None,
    join: bool,
    new_version: bool,
    resend_uncertain: bool,
    include_new: bool,
    force: bool,
    no_sync: bool,
) -> None:
    """Send a newsletter FILE to every active member (or a segment), exactly once each.

    Every recipient's progress is kept in the ledger (in the subscriber database): run the same command again
    after a crash or an outage and it continues with whoever has not been reached. Exits 3 when some
    recipients failed or may not have been reached (see `actionmail status`).

    Before anything is sent, it runs every check of `actionmail check` and shows what they find: errors stop
    the send (--force sends anyway), warnings don't. --dry-run and --to show them and go on. And, for a
    provider that keeps them, it reads back its bounces, complaints and unsubscribes (`actionmail sync`), so
    that nobody it suppressed is mailed again; --no-sync skips that.
    """
    if as_email is not None and test_to is None:
        raise UsageError(
            f"--as {as_email} only chooses whose copy a test sends: add --to YOUR-ADDRESS to send it there "
            "(without --to, send goes to every member)"
        )
    if test_to is not None:
        test_to = _one_address(test_to)
    if join:
        given = [name for name, on in (("--workers", workers is not None), ("--new-version", new_version),
                 ("--resend-uncertain", resend_uncertain), ("--include-new", include_new), ("--to", test_to),
                 ("--dry-run", dry_run), ("--at", at is not None), ("--rate", rate is not None)) if on]  # fmt: skip
        if given:
            raise UsageError(
                f"--join takes part in a send as it was started: drop {', '.join(given)} (the send's own process "
                "decides those)"
            )
    try:
        edition = variants.load_edition(file)  # every problem `check` finds in the files stops the send here …
    except InvalidInput as e:
        raise _nothing_sent(e.problems, "fix the errors above") from None
    project = edition.project
    provider = providers.build(project, provider_name)
    send_at = _send_at(project, at)
    edition = edition.going_out_on(variants.send_day(project, send_at))  # countdowns right on the day it goes out
    try:
        # … and here, every other check, on the variants the plan renders
        blocking = test_to is None and not dry_run and not force
        if send_at is not None and not provider.can_schedule:  # before a dry run or a test copy too
            raise UsageError(f"{provider.name} cannot schedule a send: drop --at, or use a provider that can")
        if test_to is None and not join:  # the send joined synced before it started, and holds the lock it needs
            _sync_first(project, provider, skip=no_sync)
        with _planned(edition, segment, send_at, blocking=blocking) as (store, ledger, plan):
            if test_to is not None:
                _send_test(plan, provider, test_to, as_email)
                return
            if dry_run:
                _print_plan(plan, provider, ledger, file, resend_uncertain=resend_uncertain, include_new=include_new)
                return
            if plan.total == 0 and plan.resume is None:
                raise UsageError(
                    f"no active members to send to ({segment or 'everyone'}): check --segment, or import members "
                    "with `actionmail subscribers import`"
                )
            if plan.resume is not None and not join:
                counts = ledger.counts(plan.resume.id)
                left = delivery.remaining(ledger, plan.resume.id, provider, resend_uncertain)
                if not left and not (include_new and plan.joined):
                    # Nothing for this run to do: say so, rather than repeat the summary of the run that did it.
                    click.echo(f"Nothing to send: send {plan.resume.id} of {plan.issue} has no one left to send to "
                               f"({_summary(counts)})")  # fmt: skip
                    if _report(plan, provider, ledger, plan.resume.id, file, include_new=include_new):
                        sys.exit(ExitCode.PARTIAL_FAILURE)
                    return
            secret_key = tokens.secret_key()
            # Who the send had reached before this run: what Ctrl-C's count of "in this run" is taken from.
            before = ledger.counts(plan.resume.id)[delivery.State.ACCEPTED] if plan.resume else 0
            _another_day(plan, before)
            _confirm(plan, provider.name, ledger, yes, include_new)
            pace = _pace(project, concurrency, rate)
            try:
                with _progress() as bar:
                    if join:
                        send_record, outcome, counts = delivery.join(
                            plan, store, ledger, provider, pace, secret_key, progress=bar.update
                        )
                    else:
                        send_record, outcome, counts = delivery.execute(
                            plan, store, ledger, provider, pace, secret_key,
                            new_version=new_version, resend_uncertain=resend_uncertain, include_new=include_new,
                            progress=bar.update, on_start=lambda total: setattr(bar, "total", total),
                            workers=workers,
                        )  # fmt: skip
            except KeyboardInterrupt:
                _interrupted(plan, ledger, file, before)
            summary = _summary(counts) or "nobody left to send to (an earlier version reached everyone)"
            click.echo(f"Send {send_record.id} of {plan.issue} through {provider.name}: {summary}")
            left = _report(plan, provider, ledger, send_record.id, file, include_new=include_new)
            if not join:  # the send's own process publishes the web edition
                _publish(plan.edition)
    finally:
        provider.close()
    if outcome.stopped is not None:
        click.echo(f"Error: stopped: {outcome.stopped}", err=True)
        sys.exit(outcome.stopped.exit_code)
    if left:
        sys.exit(ExitCode.PARTIAL_FAILURE)


def _sync_first(project: Project, provider: providers.Provider, *, skip: bool) -> None:
    """`actionmail sync` before a send, for a provider that keeps lists: what it suppressed is not mailed again."""
    if not provider.pulls:
        return
    if skip:
        click.echo(
            f"Not synced with {provider.name} (--no-sync): bounces, complaints and unsubscribes it recorded since "
            f"the last sync ({sync.last_synced(project, provider.name)}) are not applied before this send",
            err=True,
        )
        return
    try:
        synced = sync.run(project, provider)
    except ProviderError as e:
        raise UsageError(
            f"nothing was sent: reading back {provider.name}'s bounces and unsubscribes failed ({e}): try again "
            "later, or send with --no-sync (whoever it suppressed since the last sync may then be mailed)"
        ) from None
    for line in sync.report(synced):
        click.echo(line, err=True)


def _publish(edition: variants.Edition) -> None:
    """The day's page on the web edition, where the email's "View in your browser" link goes: published once the
    email is out (not before: the link would show what members have not been sent). Not when the project has no
    web_version_url; a page that can't be written is said, and the send stands."""
    project = edition.project
    if project.settings.email.web_version_url is None:
        return
    from actionmail import web

    try:
        built = web.publish(project, edition, project.root / project.settings.web.output)
    except ActionmailError as e:
        click.echo(f"Note: the web edition was not updated ({e}): `actionmail web build` writes it", err=True)
        return
    if built.pages:
        click.echo(f"Published {shown(built.pages[0])} (the web edition: {shown(built.output)}/)", err=True)
    elif built.members_only:
        click.echo("Not published on the web edition: web: false (for members only)", err=True)


def _summary(counts: Mapping[delivery.State, int]) -> str:
    return ", ".join(f"{state} {counts[state]:,}" for state in delivery.State if counts[state])


def _command(file: Path, *options: str) -> str:
    return shlex.join(["actionmail", "send", str(file), *options])


def _report(
    plan: delivery.Plan,
    provider: providers.Provider,
    ledger: delivery.Ledger,
    send_id: int,
    file: Path,
    *,
    include_new: bool,
) -> bool:
    """Whoever a send has not reached, each kind with the command that deals with it; whether there are any."""
    state, counts = delivery.State, ledger.counts(send_id)
    uncertain = counts[state.UNCERTAIN] + counts[state.IN_FLIGHT]
    repeatable = ledger.repeatable(send_id, delivery.repeat_since(provider)) if provider.idempotent else 0
    later = counts[state.QUEUED] + counts[state.FAILED]
    status = f"`actionmail status {shlex.quote(str(file))}` lists them"
    if later:
        click.echo(
            f"{later:,} not sent yet (refused or not reached this time): `{_command(file)}` sends to them; {status}",
            err=True,
        )
    if repeatable:
        click.echo(
            f"{repeatable:,} uncertain: a call to {provider.name} was interrupted, and it may have sent to them: "
            f"`{_command(file)}` repeats that call, which {provider.name} recognises, so nobody gets two; {status}",
            err=True,
        )
    if uncertain - repeatable:
        why = "can't be asked" if not provider.idempotent else "no longer remembers the call"
        click.echo(
            f"{uncertain - repeatable:,} uncertain: a call to {provider.name} was interrupted, and it may have sent "
            f"to them; {provider.name} {why}, so they are not sent to again: {status} (check the provider's logs); "
            f"`{_command(file, '--resend-uncertain')}` sends to them again, and whoever did get it gets it twice",
            err=True,
        )
    if plan.joined and not include_new:
        click.echo(
            f"{plan.joined:,} members joined since this send started: `{_command(file, '--include-new')}` sends "
            "to them too",
            err=True,
        )
    return bool(later or uncertain)


def _interrupted(plan: delivery.Plan, ledger: delivery.Ledger, file: Path, before: int) -> None:
    """Ctrl-C: the calls under way were finished and recorded (delivery.Engine.run); say where the send stands
    (``before``: how many it had reached before this run)."""
    # The send continued (begun on another day, its hash is of that day's emails), or the one this run made.
    record = plan.resume or next((s for s in ledger.sends(plan.issue) if s.content_hash == plan.content_hash), None)
    counts = ledger.counts(record.id) if record else dict.fromkeys(delivery.State, 0)
    accepted = counts[delivery.State.ACCEPTED]
    click.echo(
        f"Interrupted: {accepted:,} of {sum(counts.values()):,} accepted so far ({accepted - before:,} in this run). "
        f"Nothing is lost: `{_command(file)}`, the same command, continues with the rest",
        err=True,
    )
    sys.exit(130)  # as a shell reports a command ended by SIGINT


def _nothing_sent(problems: Sequence[Problem], fix: str) -> UsageError:
    """A send refused before anything went out: the problems, then a last line that says so."""
    for problem in problems:
        click.echo(str(problem), err=True)
    return UsageError(f"nothing was sent: {fix}")


@contextlib.contextmanager
def _planned(
    edition: variants.Edition,
    segment: str | None,
    send_at: dt.datetime | None,
    *,
    blocking: bool,
    show: bool = True,
) -> Iterator[tuple[audience.Store, delivery.Ledger, delivery.Plan]]:
    """The send worked out (delivery.prepare) and checked — every check of `actionmail check`, SpamAssassin's
    included: errors refuse it when ``blocking``; with ``show``, what the checks found is printed. Neither (the
    preview's test copy: the page shows its checks itself), and nothing is checked."""
    database = audience.database_location(edition.project)
    with audience.Store.open(database) as store:
        ledger = delivery.Ledger(database)
        try:
            plan = delivery.prepare(edition, store, ledger, segment, send_at)
            checked = blocking or show
            problems = check.check_edition(edition, plan.rendered) if checked else []  # as of edition.sent_on
            if blocking and check.errors(problems):
                raise _nothing_sent(problems, "fix the errors above, or send with --force to send despite them")
            for problem in problems if show else []:
                click.echo(str(problem), err=True)
            yield store, ledger, plan
        finally:
            ledger.close()


def _send_test(plan: delivery.Plan, provider: providers.Provider, address: str, as_email: str | None) -> None:
    edition, project = plan.edition, plan.edition.project
    values: Mapping[str, str | None] = sample_values(project)
    key = edition.key(edition.default_language, None)
    if as_email is not None:
        member = find_member(project, as_email)
        key = edition.key_for(member)
        values = variants.reader_values(member, project, secret_or_none())
    click.echo(send_test_copy(plan, provider, address, key, values))


def send_test_copy(
    plan: delivery.Plan,
    provider: providers.Provider,
    address: str,
    key: variants.VariantKey,
    values: Mapping[str, str | None],
) -> str:
    """One [TEST] copy of a variant to ``address``: `send --to`, and the preview's "Send me a test"."""
    message_id = delivery.send_test(plan, provider, address, values, key)
    return f"Sent a test copy of {plan.edition.label(key)} to {address} through {provider.name} ({message_id})"


def _one_address(text: str) -> str:
    """The address of ``send --to``: one, valid; "Sam <s@example.org>" is taken as s@example.org."""
    fix = "give one address, like --to you@example.org"
    found = [address for address in email.utils.getaddresses([text]) if any(address)]
    if len(found) > 1 or ";" in text:
        raise UsageError(f"--to {text!r}: one address at a time: {fix} (send again for another)")
    address = found[0][1] if found else ""
    if not address.strip():
        raise UsageError(f"--to {text!r}: no address: {fix}")
    try:
        return normalize_email(address)
    except BadAddress as e:
        raise UsageError(f"--to {text!r}: not an email address ({e}): {fix}") from None


def _send_at(project: Project, at: str | None) -> dt.datetime | None:
    if at is None:
        return None
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError:
        raise UsageError(f"--at {at}: not a time: write it like '2019-08-01 07:00'") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zoneinfo.ZoneInfo(project.settings.organization.timezone))
    if when <= dt.datetime.now(dt.UTC):
        raise UsageError(f"--at {at}: that time has passed: give a time to come, or send now without --at")
    return when


def _pace(project: Project, concurrency: int | None, rate: str | None) -> delivery.Pace:
    per_second = project.settings.send.rate
    if rate is not None:
        number = rate.removesuffix("/s").strip()
        try:
            per_second = float(number)
        except ValueError:
            raise UsageError(f"--rate {rate}: write it as messages a second, like 50/s") from None
        if per_second <= 0:
            raise UsageError(f"--rate {rate}: must be more than 0")
    return delivery.Pace(concurrency=concurrency or project.settings.send.concurrency, rate=per_second)


def _print_plan(
    plan: delivery.Plan,
    provider: providers.Provider,
    ledger: delivery.Ledger,
    file: Path,
    *,
    resend_uncertain: bool,
    include_new: bool,
) -> None:
    """What the send would do, as it would do it: a new send's audience by variant; or where a send under way
    stands, and how many this run would send to."""
    who = plan.segment or "everyone"
    if plan.resume is not None:
        counts = ledger.counts(plan.resume.id)
        left = delivery.remaining(ledger, plan.resume.id, provider, resend_uncertain)
        left += plan.joined if include_new else 0
        click.echo(
            f"Dry run: {plan.issue} through {provider.name} would continue send {plan.resume.id} ({who}), started "
            f"{local_time(plan.edition.project, plan.resume.created_at)}: {left:,} to send ({_summary(counts)})"
        )
        if plan.started_on is not None:
            click.echo(
                f"  begun on {plan.started_on}, and the file has not changed: the rest would be rendered for "
                f"{plan.edition.day}, the day they go out"
            )
        if plan.joined:
            click.echo(
                f"  {plan.joined:,} members joined since this send started: "
                + ("included (--include-new)" if include_new else f"`{_command(file, '--include-new')}` includes them")
            )
    else:
        click.echo(f"Dry run: {plan.issue} through {provider.name} to {plan.unreached:,} members ({who})")
        if plan.unreached != plan.total:
            click.echo(f"  ({plan.total - plan.unreached:,} of the {plan.total:,} had an earlier version: not again)")
        for key, count in plan.audience.items():
            click.echo(f"  {plan.edition.label(key):<24} {count:>8,}")
    sample = delivery.sample_headers(plan)
    if sample:
        click.echo("Headers of the first message:")
        for name, value in sample.items():
            click.echo(f"  {name}: {value}")
    click.echo("Nothing was sent.")


def _another_day(plan: delivery.Plan, accepted: int) -> None:
    """A send continued on another day than it began (``accepted``: those it reached before this run): the file is
    the same, the day is not; say what goes out."""
    if plan.started_on is None or plan.resume is None:
        return
    click.echo(
        f"Continuing send {plan.resume.id} of {plan.issue}, begun on {plan.started_on} ({accepted:,} accepted so "
        f"far): the file has not changed; the emails still to go are rendered for {plan.edition.day}, the day they "
        "go out, so their dates and countdowns are right when read",
        err=True,
    )


def _confirm(plan: delivery.Plan, provider: str, ledger: delivery.Ledger, yes: bool, include_new: bool) -> None:
    subject = plan.rendered[next(iter(plan.rendered))].subject
    if plan.resume is not None:
        counts = ledger.counts(plan.resume.id)
        done = counts[delivery.State.ACCEPTED]
        new = f", and {plan.joined:,} who joined since" if include_new and plan.joined else ""
        question = f"Continue send {plan.resume.id} of '{subject}' ({done:,} already accepted{new}) through {provider}?"
        uncertain = counts[delivery.State.UNCERTAIN]
        if uncertain:
            click.echo(f"Note: {uncertain:,} may or may not have been reached by an interrupted call.", err=True)
    else:
        question = f"Send '{subject}' to {plan.total:,} members ({plan.segment or 'everyone'}) through {provider}?"
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{question} Not confirmed: pass --yes to send without asking")
    if not click.confirm(question, default=False, err=True):
        raise UsageError("not sent")


@contextlib.contextmanager
def _progress() -> Iterator[Any]:
    with tqdm.tqdm(total=0, unit="msg", file=sys.stderr, disable=None, smoothing=0.1) as bar:
        yield bar


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--all", "show_all", is_flag=True, help="List every recipient not reached, not just the first 50.")
@format_option("the sends and what members reported, as one object on standard output.")
@reports_errors
def status(file: Path, show_all: bool, output_format: str) -> None:
    """Where each send of a newsletter FILE stands: accepted, failed, uncertain, pending, and who was missed.

    Then what members reported through `actionmail serve`: calls (and other report-backs) per target and
    district, and each survey answer with its count and share. Nothing else is counted: no opens, no clicks.
    """
    project = load_project(file)
    issue = file.stem
    with audience.Store.open(audience.database_location(project)) as store:  # creates or migrates the database
        counted = reported.tallies(file, project, store)
    ledger = delivery.Ledger(audience.database_location(project))
    try:
        sends = [_send_status(project, ledger, record, file, show_all) for record in ledger.sends(issue)]
    finally:
        ledger.close()
    if output_format == "json":
        data = {"issue": issue, "sends": sends, "reports": [t.as_dict() for t in counted or []]}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if not sends:
        click.echo(f"{issue} has not been sent.")
    for send in sends:
        done = "finished" if send["finished"] else "not finished"
        click.echo(f"Send {send['id']}, started {send['started']}, {done} ({send['segment'] or 'everyone'}):")
        click.echo("  " + (", ".join(f"{state} {n:,}" for state, n in send["counts"].items()) or "no recipients"))
        if send["pruned"]:
            click.echo(f"  who it reached was pruned on {send['pruned']} (actionmail prune): the counts are kept")
        for line in send["uncertain"]:
            click.echo(f"  {line}")
        for row in send["missed"]:
            click.echo(f"  {row['email']}  {row['state']}" + (f"  {row['reason']}" if row["reason"] else ""))
        if send["more"]:
            click.echo("  … and more: --all lists everyone")
    for line in reported.lines(counted or []):
        click.echo(line)


def _send_status(
    project: Project, ledger: delivery.Ledger, record: SendRecord, file: Path, show_all: bool
) -> dict[str, Any]:
    """One send, as `status` shows it (the same for text and JSON)."""
    counts = ledger.counts(record.id)
    uncertain = [f"{number:,} uncertain ({name or 'unknown provider'}): {_why_uncertain(project, name, latest, file)}"
                 for name, number, latest in ledger.uncertain_calls(record.id)]  # fmt: skip
    missed, more = [], False
    waiting = [delivery.State.FAILED, delivery.State.UNCERTAIN, delivery.State.QUEUED, delivery.State.IN_FLIGHT]
    for index, row in enumerate(ledger.pending(record.id, waiting)):
        if index == 50 and not show_all:
            more = True
            break
        missed.append({"email": row.email, "state": str(row.state), "reason": row.reason})
    return {
        "id": record.id,
        "started": local_time(project, record.created_at),
        "finished": local_time(project, record.finished_at) if record.finished_at else None,
        "segment": record.segment,
        "pruned": local_time(project, record.pruned_at) if record.pruned_at else None,
        "counts": {str(state): counts[state] for state in delivery.State if counts[state]},
        "uncertain": uncertain,
        "missed": missed,
        "more": more,
    }


def _why_uncertain(project: Project, name: str, latest: str, file: Path) -> str:
    """Why recipients whose call to provider ``name`` was cut off are still uncertain, and what settles them."""
    resend = f"`{_command(file, '--resend-uncertain')}` sends to them again, and whoever did get it gets it twice"
    try:
        cls = providers.provider_class(name) if name in providers.REGISTRY else None
    except UsageError:  # its library is not installed here (an extra): it can't be asked from here
        cls = None
    if cls is None or Pullable.MESSAGES not in cls.pulls:
        return f"the call was cut off before {name} answered, and it keeps no record actionmail can ask: {resend}"
    after = dt.datetime.fromisoformat(latest) + cls.event_delay
    when = "now" if after <= dt.datetime.now(dt.UTC) else f"from {local_time(project, after.isoformat())}"
    if cls.lists_sends:
        return (f"the call was cut off before {name} answered; `actionmail sync` asks {name} ({when}), and settles "
                "each: sent, or back in the queue for the next send")  # fmt: skip
    return (f"the call was cut off before {name} answered; `actionmail sync` ({when}) settles those {name} shows "
            f"it sent; for the others, {resend}")  # fmt: skip
