"""Deliver: send a day's newsletter to its members through a provider, exactly once each.

:func:`prepare` works out everything without sending or writing: the variants and their audiences, the
content hash, and whether this continues an earlier send. :func:`execute` writes the ledger and sends.
:func:`send_test` sends one copy to one address, outside the ledger. The command line confirms between
``prepare`` and ``execute``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import itertools
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from email.message import EmailMessage

from actionmail.audience import Segment, Store
from actionmail.config import Project
from actionmail.database import locks, marks
from actionmail.delivery.engine import Engine, Job, Outcome, Pace
from actionmail.delivery.ledger import SEND_LOCK, WORKER_LOCK, Ledger, SendRecord, State, owner
from actionmail.errors import UsageError
from actionmail.merge import Merge
from actionmail.providers import mime
from actionmail.providers.base import Batch, Envelope, Provider, Recipient, header_text
from actionmail.render import Rendered
from actionmail.variants import Edition, ReaderValues, VariantKey, plan_counts, send_day

__all__ = [
    "Batches",
    "Ledger",
    "Outcome",
    "Pace",
    "Plan",
    "State",
    "execute",
    "prepare",
    "sample_headers",
    "sample_message",
    "send_test",
    "sending",
]


@dataclass(frozen=True)
class Plan:
    edition: Edition
    issue: str  # the newsletter's file stem: what the ledger calls this newsletter
    # Of the emails as this run renders them (for edition.day): a send continued on a later day keeps in the ledger
    # the hash of the day it began, which matched the file rendered again for that day (see _begun_on_another_day).
    content_hash: str
    rendered: Mapping[VariantKey, Rendered]  # every variant the edition can have (_Variants: more on demand)
    audience: Mapping[VariantKey, int]  # members per variant, as of now
    segment: str | None
    resume: SendRecord | None  # an earlier run of this very send, to continue (maybe begun on another day)
    earlier: SendRecord | None  # an earlier version of this issue with recipients in it
    send_at: dt.datetime | None = None
    # Members of the audience who are not in the send: for a new send, whom it will queue (the audience, less
    # whoever an earlier version reached); for one under way, those who joined (or came back) since it started,
    # whom only --include-new adds.
    unreached: int = 0

    @property
    def total(self) -> int:
        return sum(self.audience.values())

    @property
    def joined(self) -> int:
        """Members who joined since this send started (0 for a new send): --include-new sends to them."""
        return self.unreached if self.resume is not None else 0

    @property
    def started_on(self) -> dt.date | None:
        """For a send continued on another day than it began (after midnight, or days on): the day its emails
        were first rendered for (its content hash is of that day's); this run renders them for its own day
        (:attr:`Edition.day`). None for a new send, or one continued on the day it began."""
        if self.resume is None:
            return None
        first = first_day(self.edition.project, self.resume)
        return first if first != self.edition.day else None


def _label(key: VariantKey) -> str:
    """A variant as the ledger writes it: "en|3", and for an email that uses other district sets the JSON of
    their districts after it, as SQLite's json_object makes it: 'en|3|{"congress":"7"}'."""
    label = f"{key.language}|{key.district or ''}"
    if key.others:
        label += "|" + json.dumps(dict(key.others), ensure_ascii=False, separators=(",", ":"))
    return label


def _key(label: str) -> VariantKey:
    language, _, rest = label.partition("|")
    district, brace, others = rest.partition("|{")
    found = json.loads("{" + others) if brace else {}
    return VariantKey(language, district or None, tuple(found.items()))


class _Variants(dict[VariantKey, Rendered]):
    """The rendered variants of a send: those the content hash covers, and any other combination of districts
    rendered the first time a batch of it is sent (each once)."""

    def __init__(self, edition: Edition, rendered: Mapping[VariantKey, Rendered]) -> None:
        super().__init__(rendered)
        self._edition = edition

    def __missing__(self, key: VariantKey) -> Rendered:
        rendered = self[key] = self._edition.render(key)
        return rendered


def all_variants(edition: Edition) -> list[VariantKey]:
    """The variants the content hash covers, whoever the members are (:meth:`Edition.covering_keys`)."""
    return edition.covering_keys()


def envelope(project: Project, issue: str, send_id: str, send_at: dt.datetime | None = None) -> Envelope:
    settings = project.settings
    _, from_address = email.utils.parseaddr(settings.email.from_)
    domain = from_address.rpartition("@")[2] or "localhost"
    return Envelope(
        # Settings, so trusted; still made header-safe, as every value that goes into a header is.
        from_=header_text(settings.email.from_),
        reply_to=header_text(settings.email.reply_to) if settings.email.reply_to else None,
        list_id=header_text(f"{settings.organization.name} <{settings.email.list_id}.{domain}>"),
        tag=issue,
        send_id=send_id,
        # Only an address someone (or something) processes: a mailto to the reply-to or From address promised
        # an unsubscribe that nobody carried out. Gmail and Yahoo use the HTTPS one-click URL.
        unsubscribe_mailto=settings.email.unsubscribe_mailto,
        send_at=send_at,
    )


def prepare(
    edition: Edition, store: Store, ledger: Ledger, segment: str | None, send_at: dt.datetime | None = None
) -> Plan:
    """Everything about a send, worked out without sending or writing anything."""
    parsed = (
        Segment.parse(segment, edition.project.officials.districts, edition.project.officials.other_sets)
        if segment
        else None
    )
    rendered, content_hash = render_all(edition)
    issue = edition.path.stem
    sends = ledger.sends(issue)
    pruned = next(((s, s.pruned_at) for s in sends if s.pruned_at), None)
    if pruned is not None:
        # Who it reached is gone with its rows: a send now would reach them all again.
        raise UsageError(
            f"{issue} was sent on {pruned[0].created_at[:10]}, and the list of whom it reached was pruned on "
            f"{pruned[1][:10]} (actionmail prune): sent again, it would reach everyone a second time. To send "
            "this text as a new newsletter, save it under a new file name"
        )
    resume = next((s for s in sends if s.content_hash == content_hash), None) or _begun_on_another_day(edition, sends)
    earlier = next(
        (s for s in reversed(sends) if s != resume and s.content_hash != content_hash and _touched(ledger, s)), None
    )
    audience = plan_counts(edition, store.count_by_variant(parsed, other_sets=bool(edition.other_sets)))
    members, params = store.send_filter(parsed)
    unreached = ledger.unreached(issue, resume.id if resume else None, members, params)
    return Plan(edition, issue, content_hash, rendered, audience, segment, resume, earlier, send_at, unreached)


def first_day(project: Project, send: SendRecord) -> dt.date:
    """The day ``send``'s emails were first rendered for: what its content hash is of. A send made before the
    ledger kept it was rendered for the day it was made on, in the organization's time zone (or --at's, which is
    not known: such a send continued on another day is taken for a changed file)."""
    if send.sent_on is not None:
        return dt.date.fromisoformat(send.sent_on)
    return send_day(project, dt.datetime.fromisoformat(send.created_at))


def _begun_on_another_day(edition: Edition, sends: Sequence[SendRecord]) -> SendRecord | None:
    """The send of this very file begun on another day, if there is one. Every email carries the day it goes out
    (the date under the headline, "in 5 days"), so its content hash changes at midnight though the file did
    not: each earlier day's sends are compared with the file rendered again as of that day, once a day."""
    by_day: dict[dt.date, list[SendRecord]] = {}
    for send in sends:
        day = first_day(edition.project, send)
        if day != edition.day:
            by_day.setdefault(day, []).append(send)
    for day, begun in by_day.items():
        _, then = render_all(edition.going_out_on(day))
        found = next((s for s in begun if s.content_hash == then), None)
        if found is not None:
            return found
    return None


def render_all(edition: Edition) -> tuple[Mapping[VariantKey, Rendered], str]:
    """Every variant the edition can have (combinations of districts rendered when first asked for), and the
    hash of all of it with the settings that go into every message: what tells one send of a newsletter from
    another (a changed word is a new version)."""
    rendered = _Variants(edition, {key: edition.render(key) for key in all_variants(edition)})
    digest = hashlib.sha256()
    env = envelope(edition.project, edition.path.stem, "")
    for key in sorted(rendered, key=VariantKey.sort_key):
        page = rendered[key]
        for part in (_label(key), page.subject, page.html, page.text, env.from_, env.reply_to or "", env.list_id):
            digest.update(part.encode() + b"\0")
    return rendered, digest.hexdigest()


def remaining(ledger: Ledger, send_id: int, provider: Provider, resend_uncertain: bool = False) -> int:
    """How many of a send's recipients a run would send to: the queued and failed; and the uncertain (and those a
    crash left in flight) when asked to resend them, or where the provider still recognises the repeated call."""
    counts = ledger.counts(send_id)
    left = counts[State.QUEUED] + counts[State.FAILED]
    if resend_uncertain:
        left += counts[State.UNCERTAIN] + counts[State.IN_FLIGHT]
    elif provider.idempotent:
        left += ledger.repeatable(send_id, repeat_since(provider))
    return left


def repeat_since(provider: Provider) -> str | None:
    """The ledger's time from which an uncertain call may be repeated under its key (None: any time)."""
    window = provider.idempotency_window
    if window is None:
        return None
    return (dt.datetime.now(dt.UTC) - window).isoformat(timespec="seconds")


def _touched(ledger: Ledger, send: SendRecord) -> bool:
    counts = ledger.counts(send.id)
    return any(counts[s] for s in (State.ACCEPTED, State.UNCERTAIN, State.IN_FLIGHT))


def execute(
    plan: Plan,
    store: Store,
    ledger: Ledger,
    provider: Provider,
    pace: Pace,
    secret: bytes,
    *,
    new_version: bool = False,
    resend_uncertain: bool = False,
    include_new: bool = False,
    progress: Callable[[int], None] = lambda n: None,
    on_start: Callable[[int], None] = lambda total: None,
    workers: int | None = 1,
) -> tuple[SendRecord, Outcome, dict[State, int]]:
    """Send ``plan`` through ``provider``: continue it if it was started, else start it. ``include_new``: add to
    a send under way the members who joined since it started (under the same exactly-once rules). ``workers``
    above 1: the queue is sent by that many processes, each its own share on SQLite, claiming batches from it on
    PostgreSQL (:mod:`actionmail.delivery.workers`);
    None: as many as the cores for a big send (:func:`actionmail.delivery.workers.how_many`).

    One send at a time per database: two processes taking recipients from the same queue could both send to the
    same member. The lock is the operating system's, so a killed send releases it.
    """
    with sending(ledger):
        return _execute(
            plan, store, ledger, provider, pace, secret, new_version, resend_uncertain, include_new, progress, on_start,
            workers,
        )  # fmt: skip


@contextlib.contextmanager
def sending(ledger: Ledger) -> Iterator[None]:
    """Hold the database's send lock: one send at a time (and nothing else changes where its recipients stand
    meanwhile, as `sync` settling uncertain ones). Raises UsageError at once if another process holds it."""
    lock = locks.Lock(ledger.location, SEND_LOCK)
    if not lock.acquire():
        raise UsageError(
            "another send is running on this subscriber database: wait for it to finish (actionmail status shows "
            "its progress)"
        ) from None
    try:
        # The worker processes of a send whose own process was killed go on with their shares: each holds a lock
        # of its own until it is done, and no new send starts meanwhile.
        if locks.held(ledger.location, WORKER_LOCK):
            raise UsageError(
                "a worker process of an earlier send is still sending on this subscriber database: wait for it "
                "to finish (actionmail status shows its progress)"
            )
        yield
    finally:
        lock.release()


def _execute(
    plan: Plan,
    store: Store,
    ledger: Ledger,
    provider: Provider,
    pace: Pace,
    secret: bytes,
    new_version: bool,
    resend_uncertain: bool,
    include_new: bool,
    progress: Callable[[int], None],
    on_start: Callable[[int], None],
    workers: int | None,
) -> tuple[SendRecord, Outcome, dict[State, int]]:
    if plan.earlier is not None and plan.resume is None and not new_version:
        raise UsageError(
            f"{plan.issue} changed since it was partly sent (send {plan.earlier.id}, {plan.earlier.created_at}): "
            "send again with --new-version to send the new version to those who have not had the old one"
        )
    if plan.send_at is not None and not provider.can_schedule:
        raise UsageError(f"{provider.name} cannot schedule a send: drop --at, or use a provider that can")
    send = plan.resume
    if send is None:
        send = ledger.create_send(plan.issue, plan.content_hash, plan.segment, plan.edition.day)
        _enqueue(plan, store, ledger, send)
    elif send.segment != plan.segment:
        raise UsageError(
            f"this send was started for segment {send.segment or '(everyone)'}: rerun it with "
            + (f"--segment '{send.segment}'" if send.segment else "no --segment")
        )
    elif include_new:
        # The same statement that queued the others: members already in the send are left as they are (one row
        # a member and send), and whoever another version of the issue reached stays out.
        _enqueue(plan, store, ledger, send)
    ledger.recover(send.id)
    ledger.start_pace(send.id, pace.rate)
    if resend_uncertain:
        ledger.requeue_uncertain(send.id)
    left = remaining(ledger, send.id, provider)
    on_start(left)
    batches = Batches.of(plan, store, ledger, provider, send, pace, secret)
    engine = batches.engine
    if workers != 1:
        from actionmail.delivery import workers as processes  # only a send that may use them loads multiprocessing

        workers = processes.how_many(workers, left, provider.max_batch)
    if workers is not None and workers > 1:
        outcome = engine.run(batches.repeats(), progress)  # before the workers: each is a whole earlier call
        if outcome.stopped is None:
            outcome = processes.run(plan, ledger, provider, pace, secret, send, workers, progress, outcome)
    else:
        outcome = engine.run(batches.all(), progress)
    return send, outcome, _finish_if_done(ledger, send.id)


def join(
    plan: Plan,
    store: Store,
    ledger: Ledger,
    provider: Provider,
    pace: Pace,
    secret: bytes,
    progress: Callable[[int], None] = lambda n: None,
) -> tuple[SendRecord, Outcome, dict[State, int]]:
    """Take part in a send under way on PostgreSQL from another process, on this host or another (`send
    --join`): claim batches from its queue beside its workers until none are left. The send's own process holds
    the send lock and does everything else (plans, queues, repeats uncertain calls, recovers dead workers'
    claims, sets the rate all of them keep to together); this one holds a worker's lock of its own, so that if it
    dies, only its claims become uncertain. Only a send that has workers claiming can be joined."""
    from actionmail.delivery import workers as processes

    if not processes.claims(ledger.location):
        raise UsageError(
            "--join shares a send on PostgreSQL between hosts; on one machine use --workers (SQLite's sends are "
            "one process's, with its workers)"
        )
    send = plan.resume
    if send is None or send.finished_at is not None:
        raise UsageError(
            f"no send of {plan.issue} (at this version of the file) is under way to join: start it with "
            "`actionmail send` without --join"
        )
    if send.segment != plan.segment:
        raise UsageError(f"the send under way is for {send.segment or 'everyone'}: join it with the same --segment")
    if not locks.held(ledger.location, SEND_LOCK):
        raise UsageError(
            f"send {send.id} of {plan.issue} is not running: go on with it with `actionmail send` without --join"
        )
    # Only workers claim: a send made by one process reads its queue without claiming (so that, killed, it leaves
    # only the batch of its call uncertain), and a process joining it could take the same rows.
    if not locks.held(ledger.location, WORKER_LOCK):
        raise UsageError(
            f"send {send.id} of {plan.issue} is sent by one process, which doesn't share its queue: join a send "
            "started with --workers 2 or more, once its workers are sending"
        )
    # The send's rate, whatever this host's settings say: all its processes keep to it together.
    pace = replace(pace, rate=ledger.rate(send.id))
    batches = Batches.of(plan, store, ledger, provider, send, pace, secret)
    with own_claims(ledger, send.id) as name:
        outcome = batches.engine.run(batches.claimed(name), progress)
    return send, outcome, _finish_if_done(ledger, send.id)


JOIN_FROM = 1000  # the worker lock numbers of a send's own processes (claims) and of those that join it


@contextlib.contextmanager
def own_claims(ledger: Ledger, send_id: int) -> Iterator[str]:
    """A worker's lock of this process's own, by a number no claim of the send was made under yet (so that a dead
    claimer's rows are never taken for a live one's), held while it claims; the name it claims under."""
    used = ledger.owners(send_id)
    for number in range(JOIN_FROM, JOIN_FROM + 10_000):
        if owner(number) in used:
            continue
        lock = locks.Lock(ledger.location, WORKER_LOCK, number)
        if lock.acquire():
            break
    else:
        raise UsageError("no worker lock free for this send: too many processes share it")
    try:
        yield owner(number)
    finally:
        lock.release()


def _finish_if_done(ledger: Ledger, send_id: int) -> dict[State, int]:
    """The send's counts; the send marked finished when nobody is left queued, failed, uncertain or in flight
    (another process's calls may still be out: then it finishes the send)."""
    counts = ledger.counts(send_id)
    if counts[State.QUEUED] == counts[State.FAILED] == counts[State.UNCERTAIN] == counts[State.IN_FLIGHT] == 0:
        ledger.finish(send_id)
    return counts


def _enqueue(plan: Plan, store: Store, ledger: Ledger, send: SendRecord) -> None:
    """Everyone the send is for, as of now, less whoever an earlier version of this issue reached."""
    edition = plan.edition
    parsed = (
        Segment.parse(plan.segment, edition.project.officials.districts, edition.project.officials.other_sets)
        if plan.segment
        else None
    )
    members, params = store.send_filter(parsed)
    # Each member's variant label, computed by SQLite as Edition.key computes it in Python (a test holds the two
    # to the same answers): their language where there is a translation in it, else the edition's; their
    # district where the email depends on it and it is a known one.
    languages = sorted(edition.newsletters)
    districts = sorted(edition.districts)
    language = f"CASE WHEN s.language IN ({marks(len(languages))}) THEN s.language ELSE ? END"
    district = "''"
    if districts:
        district = f"CASE WHEN s.district IN ({marks(len(districts))}) THEN s.district ELSE '' END"
    variant_params: list[object] = [*languages, edition.default_language, *districts]
    variant = f"{language} || '|' || {district}"
    if edition.other_sets:
        # The other sets' districts, as Edition.key reads them: a known one, or null.
        dialect = store.connection.dialect
        member = dialect.json_member("s.districts")
        parts = []
        for name in edition.other_sets:
            known = sorted(edition.districts_of(name))
            path = dialect.member(name)
            parts.append(f"CAST(? AS TEXT), CASE WHEN {member} IN ({marks(len(known))}) THEN {member} END")
            variant_params += [name, path, *known, path]
        variant += f" || '|' || {dialect.json_object(parts)}"
    ledger.enqueue(send, variant, variant_params, members, params)


@dataclass(frozen=True)
class Batches:
    """Where a run's batches come from, and what each is made with: the plan (its rendered variants), the members
    (``store``), the ledger, the provider (its batch size; whether it repeats uncertain calls), the engine (which
    skips whoever left since), the envelope, and the key that signs each member's links."""

    plan: Plan
    store: Store
    ledger: Ledger
    provider: Provider
    engine: Engine
    send: SendRecord
    env: Envelope
    secret: bytes

    @classmethod
    def of(
        cls, plan: Plan, store: Store, ledger: Ledger, provider: Provider, send: SendRecord, pace: Pace, secret: bytes
    ) -> Batches:
        """The batches of ``send``, with an engine of their own that sends them at ``pace``."""
        engine = Engine(provider, ledger, send.id, pace)
        env = envelope(plan.edition.project, plan.issue, str(send.id), plan.send_at)
        return cls(plan, store, ledger, provider, engine, send, env, secret)

    def all(self) -> Iterator[Job]:
        """First, for an idempotent provider, the uncertain batches again under their own ids (while it remembers
        the key); then the queued and failed recipients."""
        yield from self.repeats()
        yield from self.queued()

    def repeats(self) -> Iterator[Job]:
        """For an idempotent provider, the uncertain batches again, whole and under their own ids, while it still
        remembers them."""
        if not self.provider.idempotent:
            return
        since = repeat_since(self.provider)
        rows = self.ledger.pending(self.send.id, [State.UNCERTAIN], page=1_000_000, since=since)  # batches whole
        for (label, batch_id), group in itertools.groupby(rows, key=lambda r: (r.variant, r.batch)):
            job = self._job(label, [r.subscriber_id for r in group], batch_id)
            if job:
                yield job

    def queued(self, share: tuple[int, int] | None = None) -> Iterator[Job]:
        """The queued and failed recipients, one variant at a time, in batches of what the provider takes (of
        ``share``, a worker's, only its own)."""
        states = [State.QUEUED, State.FAILED]
        for label, ids in self.ledger.batches(self.send.id, states, self.provider.max_batch, share):
            job = self._job(label, ids, None)
            if job:
                yield job

    def claimed(self, claimed_by: str) -> Iterator[Job]:
        """The queued and failed recipients, as ``claimed_by`` (a worker) claims them a batch at a time
        (:meth:`Ledger.claim`) from a queue other workers take from too: each batch is in flight, under its
        id, before it is made."""
        states = [State.QUEUED, State.FAILED]
        after: tuple[str, int] | None = None
        while True:
            batch_id = uuid.uuid4().hex
            claim = self.ledger.claim(
                self.send.id, states, self.provider.max_batch, batch=batch_id, provider=self.provider.name,
                claimed_by=claimed_by, after=after,
            )  # fmt: skip
            if claim is None:
                return
            label, ids = claim
            after = (label, ids[-1])
            job = self._job(label, ids, batch_id, claimed=True)
            if job:
                yield job

    def _job(self, label: str, ids: list[int], batch_id: str | None, claimed: bool = False) -> Job | None:
        plan, store, engine, env, secret = self.plan, self.store, self.engine, self.env, self.secret
        members = store.sendable(ids)
        engine.skip([i for i in ids if i not in members], "unsubscribed or suppressed after the send was planned")
        if not members:
            return None
        rendered = plan.rendered[_key(label)]
        subject, html, text = rendered.merges
        values = ReaderValues(plan.edition.project, secret, rendered.merge_fields)
        recipients = [Recipient(str(m.id), m.email, m.name or None, values(m)) for m in members.values()]
        batch = Batch(batch_id or uuid.uuid4().hex, env, subject, html, text, recipients)
        return Job(batch, tuple(members), claimed)


def sample_headers(
    plan: Plan,
    key: VariantKey | None = None,
    values: Mapping[str, str | None] | None = None,
    address: str = "member@example.org",
    name: str | None = "A Member",
) -> dict[str, str]:
    """The headers of the first message a send would make, for ``--dry-run`` (with a stand-in recipient);
    or of ``key``'s message to ``address`` with these merge ``values``, for the preview."""
    if key is None:
        if not plan.audience:
            return {}
        key = next(iter(plan.audience))
    env = envelope(plan.edition.project, plan.issue, "(dry run)", plan.send_at)
    recipient = _stand_in(plan.edition.project)
    if values is not None:
        recipient = Recipient("1", address, name, values)
    subject, html, text = plan.rendered[key].merges
    batch = Batch("dry-run", env, subject, html, text, [recipient])
    return {
        "From": env.from_,
        "To": batch.to(recipient),
        **({"Reply-To": env.reply_to} if env.reply_to else {}),
        "Subject": subject.fill(recipient.values),
        **batch.headers(recipient),
    }


def sample_message(project: Project, issue: str, rendered: Rendered) -> EmailMessage:
    """The whole message a send of ``rendered`` would make for a stand-in member, every header included, as the
    outbox and SMTP build theirs: what a spam filter would score (see actionmail.check.spam)."""
    env = envelope(project, issue, "(check)")
    recipient = _stand_in(project)
    subject, html, text = rendered.merges
    return mime.message(Batch("check", env, subject, html, text, [recipient]), recipient)


def _stand_in(project: Project) -> Recipient:
    email = project.settings.email
    values = {
        "unsubscribe_url": email.unsubscribe_url.format(token="TOKEN"),
        "report_url": email.report_url_template.format(token="TOKEN"),
    }
    return Recipient("1", "member@example.org", "A Member", values)


def send_test(plan: Plan, provider: Provider, address: str, values: Mapping[str, str | None], key: VariantKey) -> str:
    """One copy of ``key``'s variant to ``address``, subject marked [TEST], not in the ledger."""
    rendered = plan.rendered[key]
    env = replace(envelope(plan.edition.project, plan.issue, "test", plan.send_at), test=True)
    recipient = Recipient("test", address, None, values)
    _, html, text = rendered.merges
    subject = Merge.parse("[TEST] " + rendered.subject, escape=False)
    batch = Batch(uuid.uuid4().hex, env, subject, html, text, [recipient])
    result = provider.send(batch)
    if "test" not in result.accepted:
        reason = result.rejected.get("test", "no reason given")
        raise UsageError(f"{provider.name} did not accept the test copy: {reason}")
    return result.accepted["test"]
