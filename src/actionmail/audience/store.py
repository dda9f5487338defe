"""The subscriber store: members, their tags and suppressions, in the database (:mod:`actionmail.database`:
the SQLite file, or PostgreSQL).

Two rules hold whatever path a member takes in (import, ``add``, provider events):

- Nothing but :meth:`Store.resubscribe`, with a reason, makes an unsubscribed, bounced or complained member
  active again; an import or ``add`` only fills in details.
- An address on the suppression list is never sent to, even if its member is deleted and imported again:
  it comes back with the suppression's status.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import gc
import json
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TextIO

import orjson

from actionmail import database
from actionmail.audience import history, schema, upsert
from actionmail.audience.cells import clean_cell, find_district
from actionmail.audience.history import Entry as HistoryEntry
from actionmail.audience.model import (
    DEFAULT_SET,
    Addressee,
    BadAddress,
    BadLanguage,
    Incoming,
    Status,
    Subscriber,
    Suppressed,
    clean_tags,
    clean_text,
    email_key,
    field_name,
    from_db_time,
    lookup_key,
    normalize_email,
    normalize_language,
    now,
    to_db_time,
)
from actionmail.audience.reports import Reports
from actionmail.audience.segment import Segment
from actionmail.audience.upsert import Change, ImportReport
from actionmail.database import Connection, Location, transaction
from actionmail.database.dialect import SQLITE, Dialect
from actionmail.errors import Problem, UsageError

# Rows per transaction: each commit writes every page it changed to the WAL (and a checkpoint writes them again),
# and a batch of addresses changes pages all over the unique index on them. At 1,000,000 members, 5,000 rows a
# commit wrote 5.7 GB (11.8 s of system time), 20,000 wrote 2.6 GB (7.9 s), for 16 MB more memory; 100,000
# members take the same time either way. The write lock is held only while a batch is applied, not while read.
BATCH = 20_000
_SELECT = """
    SELECT s.id, s.email, s.first_name, s.last_name, s.district, s.zip, s.language,
           (SELECT {tags} FROM tags t WHERE t.subscriber_id = s.id),
           s.fields, s.status, s.status_changed_at, s.status_reason, s.source, s.created_at, s.updated_at,
           s.districts
    FROM subscribers s
"""
_NO_FIELDS: Mapping[str, str] = types.MappingProxyType({})
_NOT_SUPPRESSED = "NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.email_key = s.email_key)"
_IS_MEMBER = "SELECT 1 FROM subscribers WHERE email_key = ?"


@dataclass(frozen=True, slots=True)
class SuppressEvent:
    """One provider event that stops mail to an address: a hard bounce, a complaint or an unsubscribe."""

    email: str
    status: Status
    at: dt.datetime | None = None
    detail: str | None = None
    source: str | None = None


@dataclass
class SuppressReport:
    suppressed: collections.Counter[Status] = field(default_factory=collections.Counter)
    already: int = 0  # the address was on the suppression list before
    stale: int = 0  # the event is older than the member's resubscription
    members_stopped: int = 0  # active members whose status the events changed


@dataclass(frozen=True, slots=True)
class Suppression:
    reason: Status
    detail: str | None
    at: dt.datetime
    source: str | None


class Store:
    """Members, tags and suppressions in the database. Open with :meth:`open`; use as a context manager."""

    def __init__(self, connection: Connection, location: Location) -> None:
        self._db = connection
        self.location = location
        self._select = _select(connection.dialect)

    @classmethod
    def open(cls, location: Location, *, any_thread: bool = False) -> Store:
        """Open the database (``ACTIONMAIL_DATABASE_URL`` where it is set, else ``location``: see
        :mod:`actionmail.database`), creating it or bringing its schema up to date. With ``any_thread``, the
        store may be used from one thread after another (never from two at once): a web server's pool of them."""
        location = database.locate(location)
        named = database.describe(location)
        fix = _fix(location)
        elsewhere = (
            "point ACTIONMAIL_DATABASE_URL (or [database] url in actionmail.toml) at another database"
            if database.is_postgres(location)
            else "point [audience] database in actionmail.toml at another file"
        )
        try:
            connection = database.connect(location, any_thread=any_thread)
        except UsageError:
            raise
        except database.NotADatabase as e:
            raise UsageError(f"{named} is not an actionmail subscriber database ({e}): {elsewhere}") from None
        except Exception as e:  # sqlite3.OperationalError: the file cannot be opened
            raise UsageError(f"cannot open the subscriber database {named} ({e}): {fix}") from None
        try:
            schema.migrate(connection)
        except connection.dialect.errors() as e:
            connection.close()
            raise UsageError(
                f"cannot bring the subscriber database {named} up to date ({e}); it is unchanged: is it another "
                f"program's database? {elsewhere[0].upper()}{elsewhere[1:]}"
            ) from None
        except BaseException:
            connection.close()
            raise
        return cls(connection, location)

    @staticmethod
    def probe(location: Location) -> None:
        """Open the database read-only and read from it, as a monitor's health check does: :class:`UsageError`
        saying why if it cannot be read, or is not at this actionmail's schema version. Takes no lock."""
        location = database.locate(location)
        named = database.describe(location)
        try:
            db = database.connect(location, read_only=True)
        except UsageError:
            raise
        except Exception as e:
            raise UsageError(f"cannot read the subscriber database {named} ({e})") from None
        try:
            version = db.dialect.version(db)
            db.execute("SELECT 1 FROM subscribers LIMIT 1").fetchall()
        except db.dialect.errors() as e:
            raise UsageError(f"cannot read the subscriber database {named} ({e})") from None
        finally:
            db.close()
        if version != schema.latest():
            raise UsageError(f"the subscriber database {named} is at schema version {version}, not {schema.latest()}")

    def close(self) -> None:
        self._db.close()

    @property
    def connection(self) -> Connection:
        """The store's connection, for the audience's modules with tables of their own (:mod:`.signups`)."""
        return self._db

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Reading

    def get(self, email: str) -> Subscriber | None:
        row = self._db.execute(f"{self._select} WHERE s.email_key = ?", (lookup_key(email),)).fetchone()
        return _subscriber(row) if row else None

    def sendable(self, ids: Sequence[int]) -> dict[int, Addressee]:
        """Those of these members a send may reach now (active, not suppressed), by id: a send's last check."""
        # "+s.status": without it SQLite walks the status index over every active member instead of looking each
        # id up (measured: 38 µs a member against 2). The batch comes back as one JSON array made by SQLite, not a
        # row at a time: each row costs a return to Python through the GIL, which the sending threads are asking
        # for meanwhile, and the array with orjson costs less to read (1.3 ms for 1,000 against 1.8).
        d = self._db.dialect
        columns = ("s.id", "s.email", "s.first_name", "s.last_name", "s.district", "s.zip", "s.language")
        row = d.json_array(*columns, d.json_text("s.fields"))
        sql = (
            f"SELECT {d.json_array_agg(row)} FROM subscribers s WHERE s.id IN ({d.ids()}) "
            f"AND {d.no_index('s.status')} = 'active' AND {_NOT_SUPPRESSED}"
        )
        # The ids as text: SQLite 3.45 and later read a BLOB given to a JSON function as its binary JSONB.
        (found,) = self._db.execute(sql, (orjson.dumps(list(ids)).decode(),)).fetchone()
        return {
            sid: Addressee(
                sid, address, first, last, district, zip_code, language,
                types.MappingProxyType(fields) if fields else _NO_FIELDS,
            )
            for sid, address, first, last, district, zip_code, language, fields in orjson.loads(found)
        }  # fmt: skip

    def send_filter(self, segment: Segment | None = None) -> tuple[str, list[str]]:
        """The WHERE clause (over ``subscribers s``) and parameters that select :meth:`subscribers`: for a
        send's ledger, which queues them inside SQLite."""
        return self._where("s.status = 'active' AND " + _NOT_SUPPRESSED, segment)

    def subscribers(self, segment: Segment | None = None) -> Iterator[Subscriber]:
        """Active, unsuppressed members (of ``segment``), ordered by (language, district, id), as a stream.

        Rows come from SQLite one at a time through the ``subscribers_by_status`` index, so a million members
        take no more memory than one. The iterator reads one snapshot of the database (WAL), on a connection of
        its own from its first member to its last: writes made while it runs, through this store or another
        process, do not change what it yields, and are not blocked by it.
        """
        return self._stream(*_send_query(segment, self._db.dialect))

    def everyone(self, segment: Segment | None = None) -> Iterator[Subscriber]:
        """Every member (of ``segment``) whatever their status: active first, then bounced, complained and
        unsubscribed; within each, by (language, district, id)."""
        where, params = self._where("TRUE", segment)
        order = self._db.dialect.nulls_first("s.status", "s.language", "s.district", "s.id")
        return self._stream(f"{self._select} WHERE {where} ORDER BY {order}", params)

    def count(self, segment: Segment | None = None) -> int:
        """How many members :meth:`subscribers` would give."""
        where, params = self._where("s.status = 'active' AND " + _NOT_SUPPRESSED, segment)
        (number,) = self._db.execute(f"SELECT count(*) FROM subscribers s WHERE {where}", params).fetchone()
        return int(number)

    def count_by_language_and_district(
        self, segment: Segment | None = None
    ) -> list[tuple[str | None, str | None, int]]:
        """How many of :meth:`subscribers` there are per (language, district): the inputs of a send's variants,
        counted by SQLite without reading a member into Python; without a segment, from the index alone."""
        sql, params = _count_query(segment, self._db.dialect)
        return [(language, district, int(number)) for language, district, number in self._db.execute(sql, params)]

    def count_by_variant(
        self, segment: Segment | None = None, *, other_sets: bool = True
    ) -> list[tuple[str | None, str | None, Mapping[str, str], int]]:
        """How many of :meth:`subscribers` there are per (language, district, districts of the other sets): the
        inputs of the variants of an email that uses several district sets. ``other_sets`` False: per
        (language, district) alone, from the index (:meth:`count_by_language_and_district`), for an email that
        uses the default set at most."""
        if not other_sets:
            return [
                (language, district, _NO_FIELDS, n)
                for language, district, n in self.count_by_language_and_district(segment)
            ]
        where, params = self._where("s.status = 'active' AND " + _NOT_SUPPRESSED, segment)
        sql = f"SELECT s.language, s.district, s.districts, count(*) FROM subscribers s WHERE {where} GROUP BY 1, 2, 3"
        return [
            (language, district, _NO_FIELDS if others == "{}" else json.loads(others), int(number))
            for language, district, others, number in self._db.execute(sql, params)
        ]

    def district_sets(self) -> list[str]:
        """The district sets other than the default one that some member has a district of, sorted."""
        d = self._db.dialect
        (names,) = self._db.execute(
            f"SELECT {d.json_array_agg('j.key', distinct=True)} FROM {d.json_keys('subscribers s', 's.districts')}"
        ).fetchone()
        return sorted(json.loads(names))

    def count_by_status(self, segment: Segment | None = None) -> dict[Status, int]:
        where, params = self._where("TRUE", segment)
        rows = self._db.execute(f"SELECT s.status, count(*) FROM subscribers s WHERE {where} GROUP BY 1", params)
        counts = dict.fromkeys(Status, 0)
        counts.update({Status(status): number for status, number in rows})
        return counts

    def suppression(self, email: str) -> Suppression | None:
        row = self._db.execute(
            "SELECT reason, detail, at, source FROM suppressions WHERE email_key = ?", (lookup_key(email),)
        ).fetchone()
        return Suppression(Status(row[0]), row[1], from_db_time(row[2]), row[3]) if row else None

    def _stream(self, sql: str, params: Sequence[str]) -> Iterator[Subscriber]:
        # A connection of its own, in one read transaction: the stream reads one snapshot (WAL; PostgreSQL's
        # repeatable read), unaffected by writes made while it runs, whether through this store (a send recording
        # an unsubscribe) or elsewhere.
        reader = database.connect(self.location, read_only=True)
        try:
            reader.execute(reader.dialect.begin_snapshot())
            for row in reader.stream(sql, params):
                yield _subscriber(row)
        finally:
            reader.close()

    # Writing

    def add(
        self,
        email: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        district: str | None = None,
        zip: str | None = None,
        language: str | None = None,
        tags: Iterable[str] = (),
        fields: Mapping[str, str] | None = None,
        source: str = "added by hand",
        known_districts: Sequence[str] = (),
        districts: Mapping[str, str] | None = None,
        known_sets: Mapping[str, Sequence[str]] | None = None,
    ) -> tuple[Subscriber, Change]:
        """Add a member, or fill in details of one already there (an empty value erases nothing).

        ``districts``: their districts of the other district sets ({"congress": "7"}), each checked against
        ``known_sets`` (each set's districts in officials.yaml) where it is given.

        Never makes anyone active again: an address that unsubscribed, bounced or complained keeps that status,
        and one on the suppression list is added with the suppression's status.
        """
        try:
            address = normalize_email(email)
        except BadAddress as e:
            raise UsageError(f"'{email}' is not a valid email address: {e}") from None
        district = clean_text(district)
        if district is not None and known_districts:
            district = find_district(district, known_districts) or district
        if district is not None and known_districts and district not in known_districts:
            raise UsageError(
                f"district '{district}' is not in officials.yaml (known: {', '.join(known_districts)}): "
                "use one of them, or leave it out"
            )
        others: dict[str, str] = {}
        for set_name, written in (districts or {}).items():
            if set_name == DEFAULT_SET:
                raise UsageError(f"the {DEFAULT_SET} set is the member's district: give it as the district")
            known = (known_sets or {}).get(set_name)
            if known_sets is not None and known is None:
                sets = ", ".join(s for s in known_sets if s != DEFAULT_SET) or "none"
                raise UsageError(f"'{set_name}' is not a district set of officials.yaml (its other sets: {sets})")
            text = _one_value(f"{set_name} district", written)
            if text is not None and known:
                text = find_district(text, known) or text
                if text not in known:
                    raise UsageError(
                        f"{set_name} district '{text}' is not in officials.yaml (known: {', '.join(known)}): "
                        "use one of them, or leave it out"
                    )
            if text is not None:
                others[set_name] = text
        language = clean_text(language)
        if language is not None:
            try:
                language = normalize_language(language)
            except BadLanguage:
                raise UsageError(f"'{language}' is not a language: write a code like en or es") from None
        incoming = Incoming(
            email=address,
            key=email_key(address),
            first_name=_one_value("first name", first_name),
            last_name=_one_value("last name", last_name),
            district=district,
            zip=_one_value("zip", zip),
            language=language,
            tags=clean_tags([_one_value("tag", tag) or "" for tag in tags]),
            fields={
                field_name(name): value
                for name, v in (fields or {}).items()
                if (value := _one_value(name, v, multi_line=True)) is not None
            },
            districts=others,
            source=source,
        )
        with self._transaction():
            (change,) = upsert.apply(self._db, [incoming], ImportReport())
        subscriber = self.get(address)
        assert subscriber is not None
        return subscriber, change

    def unsubscribe(self, email: str, reason: str | None = None, source: str = "by hand") -> Subscriber | None:
        """Stop sending to ``email`` and put it on the suppression list. An address that is not a member is
        suppressed all the same, so that it is never added later; then None is returned. Text that is not an
        address (and not a member's, which an older version may have let in) is a :class:`UsageError`."""
        key = lookup_key(email)
        if self.get(email) is None:
            try:
                key = email_key(normalize_email(email))
            except BadAddress as e:
                raise UsageError(f"'{email}' is not a valid email address ({e}): check it") from None
        when = now()
        at = to_db_time(when)
        reason = history.clean_detail(reason)
        with self._transaction():
            listed = self._db.execute(
                "INSERT INTO suppressions (email_key, reason, detail, at, source) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (key, Status.UNSUBSCRIBED, reason, at, source),
            ).rowcount
            stopped = self._db.execute(
                "UPDATE subscribers SET status = ?, status_changed_at = ?, status_reason = ?, updated_at = ? "
                "WHERE email_key = ? AND status = 'active'",
                (Status.UNSUBSCRIBED, at, reason, at, key),
            ).rowcount
            # A second unsubscribe (a repeated one-click POST) changes nothing, and so records nothing.
            if stopped or (listed and not self._db.execute(_IS_MEMBER, (key,)).fetchone()):
                history.record(self._db, key, history.Entry(when, "unsubscribed", source, reason))
        return self.get(email)

    def resubscribe(self, email: str, reason: str, source: str = "by hand") -> Subscriber:
        """Make a member who unsubscribed, bounced or complained active again: the only way back. The reason
        (who asked, when, how) is kept with the member, and the address leaves the suppression list; the
        member's history records it with ``source``."""
        reason_text = clean_text(reason)
        if reason_text is None:
            raise UsageError(
                "a reason is required to resubscribe someone: say who asked and how, e.g. "
                "--reason 'asked at the 2024-05-01 meeting'"
            )
        key = lookup_key(email)
        member = self.get(email)
        if member is None:
            raise UsageError(
                f"{email} is not a subscriber: add it with actionmail subscribers add (an address that is only "
                "on the suppression list needs adding first)"
            )
        suppressed = self.suppression(email)
        if member.status is Status.ACTIVE and suppressed is None:
            raise UsageError(f"{member.email} is already active: nothing to do")
        with self._transaction():
            upsert.reactivate(self._db, key, now(), reason_text, source)
        resubscribed = self.get(email)
        assert resubscribed is not None
        return resubscribed

    def suppress_events(self, events: Iterable[SuppressEvent]) -> SuppressReport:
        """Record bounces, complaints and unsubscribes from a mail provider: each address goes on the suppression
        list (the first event for it wins) and its member, if active, takes the event's status. An event older
        than the member's resubscription is stale and changes nothing."""
        report = SuppressReport()
        with self._transaction():
            for event in events:
                key = lookup_key(event.email)
                at = event.at or now()
                row = self._db.execute(
                    "SELECT status, status_changed_at FROM subscribers WHERE email_key = ?", (key,)
                ).fetchone()
                # An active member with a status change was resubscribed then; an older event predates that.
                if row is not None and row[0] == Status.ACTIVE and row[1] and at < from_db_time(row[1]):
                    report.stale += 1
                    continue
                inserted = self._db.execute(
                    "INSERT INTO suppressions (email_key, reason, detail, at, source) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (key, event.status, event.detail, to_db_time(at), event.source),
                ).rowcount
                if inserted:
                    report.suppressed[event.status] += 1
                else:
                    report.already += 1
                entry = history.Entry(at, str(event.status), event.source or "provider event", event.detail)
                if row is not None and row[0] == Status.ACTIVE:
                    self._db.execute(
                        "UPDATE subscribers SET status = ?, status_changed_at = ?, status_reason = ?, "
                        "updated_at = ? WHERE email_key = ?",
                        (event.status, to_db_time(at), event.detail, to_db_time(now()), key),
                    )
                    report.members_stopped += 1
                    history.record(self._db, key, entry)
                elif row is None and inserted:
                    history.record(self._db, key, entry)
        return report

    def import_csv(
        self,
        path: Path,
        mapping: Mapping[str, str] | None = None,
        known_districts: Sequence[str] = (),
        source: str | None = None,
        known_sets: Mapping[str, Sequence[str]] | None = None,
    ) -> ImportReport:
        """Import members from a CSV file (Mailchimp and Action Network exports, or this store's own export).

        Bad rows are reported in :attr:`ImportReport.problems` and skipped; the good ones are kept, in batches of
        one transaction each. A file that cannot be read at all (not UTF-8, no email column, a ``mapping``
        naming a column it lacks) raises before anything is imported.
        """
        from actionmail.audience import importer, readahead

        reader = importer.open_csv(path, mapping or {})
        if known_sets is not None:
            importer.check_sets(reader, known_sets)
        report = ImportReport(custom_fields=reader.custom_fields)
        batch: list[Incoming] = []
        entries: list[Suppressed] = []
        arguments = (known_districts, source or f"import {path.name}", known_sets)
        # A large file is read in a process of its own while this one writes (see readahead).
        ahead = readahead.Rows(reader, BATCH, *arguments) if readahead.wanted(reader, BATCH) else None
        with _no_cycle_collection(), ahead if ahead is not None else contextlib.nullcontext():
            for item in ahead if ahead is not None else reader.rows(*arguments):
                if isinstance(item, importer.BadRow):
                    report.problems.extend(item.problems)
                    report.skipped += 1
                    continue
                if isinstance(item, Problem):  # a warning: the member is imported all the same
                    report.problems.append(item)
                    continue
                if isinstance(item, Suppressed):  # a backup's address on the suppression list that is not a member
                    entries.append(item)
                    if len(entries) == BATCH:
                        with self._transaction():
                            report.suppressions_added += upsert.add_suppressions(self._db, entries)
                        entries = []
                    continue
                batch.append(item)
                if len(batch) == BATCH:
                    self._import_batch(batch, report)
                    batch = []
            if batch:
                self._import_batch(batch, report)
            if entries:
                with self._transaction():
                    report.suppressions_added += upsert.add_suppressions(self._db, entries)
        return report

    def _import_batch(self, batch: list[Incoming], report: ImportReport) -> None:
        with self._transaction():
            for change in upsert.apply(self._db, batch, report):
                if change is Change.ADDED:
                    report.added += 1
                elif change is Change.UPDATED:
                    report.updated += 1
                else:
                    report.unchanged += 1

    def export_csv(self, out: TextIO, segment: Segment | None = None, *, everyone: bool = False) -> int:
        """Write members as CSV with the canonical columns, which :meth:`import_csv` reads back as they were;
        with ``everyone``, a backup (see :func:`actionmail.audience.export.write_csv`). Returns how many members
        were written."""
        from actionmail.audience import export

        return export.write_csv(self, self._db, out, segment, everyone=everyone)

    def suppressions(self, *, members: bool = True) -> Iterator[tuple[str, Suppression, bool]]:
        """The suppression list in address order: each address (as its key), its entry, and whether it is
        a member's; only those that are not members' unless ``members``."""
        where = "" if members else "WHERE NOT is_member"
        for key, reason, detail, at, source, is_member in self._db.execute(
            "SELECT * FROM (SELECT email_key, reason, detail, at, source, EXISTS (SELECT 1 FROM subscribers s "
            f"WHERE s.email_key = x.email_key) AS is_member FROM suppressions x) listed {where} ORDER BY email_key"
        ):
            yield key, Suppression(Status(reason), detail, from_db_time(at), source), bool(is_member)

    def remove_suppression(self, email: str, source: str = "by hand") -> Suppression | None:
        """Take an address off the suppression list (an import or ``add`` can then make it a member again; a
        member's status is not changed: only :meth:`resubscribe` makes anyone active). Returns the entry
        removed, None if the address was not on the list. Any text is looked up as it is typed, so that an
        entry that is not a valid address can be removed too."""
        entry = self.suppression(email)
        if entry is not None:
            key = lookup_key(email)
            with self._transaction():
                self._db.execute("DELETE FROM suppressions WHERE email_key = ?", (key,))
                history.record(self._db, key, history.Entry(now(), "unsuppressed", source, f"was {entry.reason}"))
        return entry

    def history(self, email: str) -> list[HistoryEntry]:
        """Every change of whether ``email`` is sent to, oldest first (see :mod:`actionmail.audience.history`)."""
        return history.read(self._db, lookup_key(email))

    @property
    def reports(self) -> Reports:
        """What members told us through actionmail serve (:mod:`actionmail.audience.reports`)."""
        return Reports(self._db)

    def email_of(self, subscriber_id: int) -> str | None:
        """The address of the member with this id: what an unsubscribe token is checked against."""
        row = self._db.execute("SELECT email FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
        return str(row[0]) if row else None

    def _transaction(self) -> contextlib.AbstractContextManager[Connection]:
        return transaction(self._db)

    def _where(self, base: str, segment: Segment | None) -> tuple[str, list[str]]:
        return _where(base, segment, self._db.dialect)


def _fix(location: Location) -> str:
    """What to check when the database cannot be opened."""
    if isinstance(location, str):
        return "check ACTIONMAIL_DATABASE_URL (or [database] url in actionmail.toml) and the server"
    return "check [audience] database in actionmail.toml, and that its directory exists"


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused: an import makes a dozen objects a row and no reference cycles, and the
    collector scanning the objects alive (a batch of members, and every module loaded) took 8% of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _one_value(what: str, value: str | None, *, multi_line: bool = False) -> str | None:
    """A value given to :meth:`Store.add`, trimmed; one an import would have to change (control characters,
    encoded words) is refused, since whoever typed it can type it again."""
    text = clean_text(value)
    if text is None:
        return None
    cleaned, change = clean_cell(text, multi_line=multi_line)
    if change is not None:
        raise UsageError(f"the {what} {text!r} {change}: write it as {clean_text(cleaned) or ''!r}")
    return text


def _select(dialect: Dialect) -> str:
    """A :class:`Subscriber`'s columns, its tags joined as the dialect joins text."""
    return _SELECT.format(tags=dialect.concat("t.tag"))


def _send_query(segment: Segment | None, dialect: Dialect = SQLITE) -> tuple[str, list[str]]:
    where, params = _where("s.status = 'active' AND " + _NOT_SUPPRESSED, segment, dialect)
    order = dialect.nulls_first("s.language", "s.district", "s.id")
    return f"{_select(dialect)} WHERE {where} ORDER BY {order}", params


def _count_query(segment: Segment | None, dialect: Dialect = SQLITE) -> tuple[str, list[str]]:
    where, params = _where("s.status = 'active' AND " + _NOT_SUPPRESSED, segment, dialect)
    return f"SELECT s.language, s.district, count(*) FROM subscribers s WHERE {where} GROUP BY 1, 2", params


def _where(base: str, segment: Segment | None, dialect: Dialect) -> tuple[str, list[str]]:
    if segment is None:
        return base, []
    sql, params = segment.where("s", dialect)
    return f"{base} AND {sql}", params


def _subscriber(row: tuple[Any, ...]) -> Subscriber:
    return Subscriber(
        id=row[0],
        email=row[1],
        first_name=row[2],
        last_name=row[3],
        district=row[4],
        zip=row[5],
        language=row[6],
        tags=tuple(sorted(row[7].split("\x1f"), key=str.casefold)) if row[7] else (),
        fields=types.MappingProxyType(json.loads(row[8])),
        status=Status(row[9]),
        status_changed_at=from_db_time(row[10]) if row[10] else None,
        status_reason=row[11],
        source=row[12],
        created_at=from_db_time(row[13]),
        updated_at=from_db_time(row[14]),
        districts=_NO_FIELDS if row[15] == "{}" else types.MappingProxyType(json.loads(row[15])),
    )
