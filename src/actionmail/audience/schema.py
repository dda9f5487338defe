"""The database schema, as a list of migrations: the database's version (SQLite's ``PRAGMA user_version``,
PostgreSQL's ``actionmail_schema`` table) is how many have run.

A release that changes the schema appends a step; it never edits one that has shipped. Each step runs in one
transaction together with the version bump, so a database is always at exactly one version.

PostgreSQL came at version 12: a new PostgreSQL database is made at that version in one step
(:data:`POSTGRES_BASELINE`, the same tables in its types), and goes on from there. A step after 12 gives its
statements for both, or a dict of them by dialect name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from actionmail.audience.model import email_key
from actionmail.database import Connection, transaction
from actionmail.errors import UsageError

# SQL statements, or a function for what SQL cannot do (Unicode normalization); or either by dialect name.
Step = Sequence[str] | Callable[[Connection], None]
Migration = Step | Mapping[str, Step]


def _fold_email_keys(db: Connection) -> None:
    """Email keys were the address lowercased; now NFKC and case folded (:func:`email_key`). Only keys with a
    character outside ASCII can change. Two members whose keys become one were one person imported twice: the
    older is kept, with the other's details where its own are empty, both's tags, and the stricter status (an
    unsubscribe must stick); on the suppression list the earlier entry is kept."""
    non_ascii = "length({0}) <> length(CAST({0} AS BLOB))"
    for sid, email, key in db.execute(
        f"SELECT id, email, email_key FROM subscribers WHERE {non_ascii.format('email_key')} ORDER BY id"
    ).fetchall():
        new = email_key(email)
        if new == key:
            continue
        other = db.execute("SELECT id FROM subscribers WHERE email_key = ?", (new,)).fetchone()
        if other is not None:
            keep, drop = sorted((sid, other[0]))
            db.execute(
                """
                UPDATE subscribers AS k SET
                    first_name = coalesce(k.first_name, d.first_name), last_name = coalesce(k.last_name, d.last_name),
                    district = coalesce(k.district, d.district), zip = coalesce(k.zip, d.zip),
                    language = coalesce(k.language, d.language), fields = json_patch(d.fields, k.fields),
                    status = iif(k.status = 'active', d.status, k.status),
                    status_changed_at = iif(k.status = 'active', d.status_changed_at, k.status_changed_at),
                    status_reason = iif(k.status = 'active', d.status_reason, k.status_reason)
                FROM subscribers AS d WHERE k.id = ? AND d.id = ?
                """,
                (keep, drop),
            )
            db.execute("INSERT OR IGNORE INTO tags SELECT tag, ? FROM tags WHERE subscriber_id = ?", (keep, drop))
            db.execute("DELETE FROM tags WHERE subscriber_id = ?", (drop,))
            db.execute("DELETE FROM subscribers WHERE id = ?", (drop,))
            sid = keep
        db.execute("UPDATE subscribers SET email_key = ? WHERE id = ?", (new, sid))
    for key, at in db.execute(
        f"SELECT email_key, at FROM suppressions WHERE {non_ascii.format('email_key')}"
    ).fetchall():
        new = email_key(key)
        if new == key:
            continue
        other = db.execute("SELECT at FROM suppressions WHERE email_key = ?", (new,)).fetchone()
        if other is not None and other[0] <= at:
            db.execute("DELETE FROM suppressions WHERE email_key = ?", (key,))
            continue
        db.execute("DELETE FROM suppressions WHERE email_key = ?", (new,))
        db.execute("UPDATE suppressions SET email_key = ? WHERE email_key = ?", (new, key))


MIGRATIONS: list[Migration] = [
    # 1: subscribers, their tags, and the suppression list.
    (
        """
        CREATE TABLE subscribers (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL,
            email_key TEXT NOT NULL UNIQUE,
            first_name TEXT,
            last_name TEXT,
            district TEXT,
            zip TEXT,
            language TEXT,
            fields TEXT NOT NULL DEFAULT '{}' CHECK (json_type(fields) = 'object'),
            status TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained')),
            status_changed_at TEXT,
            status_reason TEXT,
            source TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        # The order sends go in, (language, district, id), straight from the index: no sort, no memory.
        "CREATE INDEX subscribers_by_status ON subscribers (status, language, district, id)",
        """
        CREATE TABLE tags (
            tag TEXT NOT NULL COLLATE NOCASE,
            subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
            PRIMARY KEY (tag, subscriber_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX tags_by_subscriber ON tags (subscriber_id)",
        """
        CREATE TABLE suppressions (
            email_key TEXT PRIMARY KEY,
            reason TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained')),
            detail TEXT,
            at TEXT NOT NULL,
            source TEXT
        ) WITHOUT ROWID
        """,
    ),
    # 2: the send ledger (actionmail.delivery.ledger): each send, and where each of its recipients stands.
    (
        """
        CREATE TABLE sends (
            id INTEGER PRIMARY KEY,
            issue TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            segment TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT,
            UNIQUE (issue, content_hash)
        )
        """,
        """
        CREATE TABLE deliveries (
            send_id INTEGER NOT NULL REFERENCES sends (id),
            subscriber_id INTEGER NOT NULL,
            email TEXT NOT NULL,
            variant TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('queued', 'in_flight', 'accepted', 'failed', 'uncertain', 'skipped')),
            batch TEXT,
            provider TEXT,
            provider_id TEXT,
            reason TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (send_id, subscriber_id)
        ) WITHOUT ROWID
        """,
        # No index on state: every recipient changes state twice per send, and the two reads by state (at the
        # start of a run) scan the send's rows once, which costs less than keeping an index up to date.
    ),
    # 3: a send's rows kept together by variant. A batch is of one variant, so ordered by subscriber alone its
    # thousand rows were spread over a whole stretch of the table: marking it wrote ~290 pages to the WAL and
    # took 3.4 ms of CPU; ordered by variant first, 43 pages and 2.7 ms. The unique index keeps one row per
    # member per send and finds a row by member; it does not hold the state, so moving a recipient from state
    # to state never changes it.
    (
        """
        CREATE TABLE deliveries_by_variant (
            send_id INTEGER NOT NULL REFERENCES sends (id),
            subscriber_id INTEGER NOT NULL,
            email TEXT NOT NULL,
            variant TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('queued', 'in_flight', 'accepted', 'failed', 'uncertain', 'skipped')),
            batch TEXT,
            provider TEXT,
            provider_id TEXT,
            reason TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (send_id, variant, subscriber_id)
        ) WITHOUT ROWID
        """,
        """
        INSERT INTO deliveries_by_variant
        SELECT send_id, subscriber_id, email, variant, state, batch, provider, provider_id, reason, attempts,
            updated_at
        FROM deliveries
        """,
        "DROP TABLE deliveries",
        "ALTER TABLE deliveries_by_variant RENAME TO deliveries",
        "CREATE UNIQUE INDEX deliveries_by_member ON deliveries (send_id, subscriber_id)",
    ),
    # 4: email keys NFKC and case folded, so that full-width 'ANA@example.org' is the member 'ana@example.org'.
    _fold_email_keys,
    # 5: each address's history of status changes (actionmail.audience.history), by address, so that it outlives
    # a member deleted and imported again. What earlier versions knew of it is carried over: each member's last
    # change (with the source of its suppression, where there is one) and each non-member's suppression.
    (
        """
        CREATE TABLE history (
            id INTEGER PRIMARY KEY,
            email_key TEXT NOT NULL,
            at TEXT NOT NULL,
            change TEXT NOT NULL
                CHECK (change IN ('unsubscribed', 'bounced', 'complained', 'resubscribed', 'unsuppressed')),
            source TEXT NOT NULL,
            detail TEXT
        )
        """,
        "CREATE INDEX history_by_address ON history (email_key, at)",
        """
        INSERT INTO history (email_key, at, change, source, detail)
        SELECT s.email_key, s.status_changed_at, iif(s.status = 'active', 'resubscribed', s.status),
            coalesce(x.source, 'recorded before history was kept'), s.status_reason
        FROM subscribers s LEFT JOIN suppressions x ON x.email_key = s.email_key
        WHERE s.status_changed_at IS NOT NULL
        ORDER BY s.status_changed_at
        """,
        """
        INSERT INTO history (email_key, at, change, source, detail)
        SELECT x.email_key, x.at, x.reason, coalesce(x.source, 'recorded before history was kept'), x.detail
        FROM suppressions x WHERE NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.email_key = x.email_key)
        ORDER BY x.at
        """,
    ),
    # 6: what mail providers reported (actionmail.feedback.journal): each event's dedupe key, so a webhook
    # delivered twice or pulled again by `sync` is applied once, and the soft bounces and deliveries that the
    # soft-bounce policy weighs. Kept for the policy's window, then pruned.
    (
        """
        CREATE TABLE feedback_events (
            id INTEGER PRIMARY KEY,
            dedupe_key TEXT NOT NULL UNIQUE,
            provider TEXT NOT NULL,
            kind TEXT NOT NULL,
            email_key TEXT,
            message_id TEXT,
            send_id TEXT,
            at TEXT,
            received_at TEXT NOT NULL,
            outcome TEXT NOT NULL
        )
        """,
        "CREATE INDEX feedback_events_by_address ON feedback_events (email_key, kind, at)",
        "CREATE INDEX feedback_events_by_age ON feedback_events (received_at)",
    ),
    # 7: where `actionmail sync` is in each provider's lists and events (actionmail.feedback.journal.position): its
    # cursor, stored after the events it read were applied, so an interrupted sync goes on where it stopped.
    (
        """
        CREATE TABLE sync_positions (
            provider TEXT PRIMARY KEY,
            cursor TEXT NOT NULL,
            complete INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            completed_at TEXT
        )
        """,
    ),
    # 8: sign-ups from `actionmail serve`'s form (actionmail.audience.signups): each request for a confirmation
    # email, whether one went out, and when it was confirmed. The rows are the rate limits' counts (per address,
    # per client network) and, once confirmed, the member's record of consent, kept.
    (
        """
        CREATE TABLE signups (
            id INTEGER PRIMARY KEY,
            email_key TEXT NOT NULL,
            email TEXT,
            first_name TEXT,
            district TEXT,
            zip TEXT,
            language TEXT,
            client TEXT NOT NULL,
            requested_at TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'failed', 'stopped', 'limited')),
            confirmed_at TEXT
        )
        """,
        "CREATE INDEX signups_by_address ON signups (email_key, requested_at)",
        "CREATE INDEX signups_by_client ON signups (client, requested_at)",
        "CREATE INDEX signups_pending ON signups (confirmed_at, requested_at)",
    ),
    # 9: what members told us through actionmail serve (actionmail.audience.reports): one row per member per
    # question of an issue ("I called", a survey's answer), changed in place when they answer again. A deleted
    # member's rows stay, without their id: the count of what happened does not shrink. The unique index finds a
    # member's answer and counts an issue's.
    (
        """
        CREATE TABLE reports (
            id INTEGER PRIMARY KEY,
            subscriber_id INTEGER REFERENCES subscribers (id) ON DELETE SET NULL,
            issue TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            district TEXT,
            target TEXT,
            reported_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (issue, question, subscriber_id)
        )
        """,
    ),
    # 10: the send order's index carries each member's address key too. Counting a send's members per variant
    # (`actionmail variants`, Store.count) checks each against the suppression list by address; without the key
    # in the index, SQLite read every member's row to find it: 0.87 s for 1,000,000 members, against 0.16 s
    # from the index alone (the index grows by 24 MB a million members).
    (
        "DROP INDEX subscribers_by_status",
        "CREATE INDEX subscribers_by_status ON subscribers (status, language, district, id, email_key)",
    ),
    # 11: several district sets (council, congress, state senate and house: actionmail.officials). A member's
    # district of the default set stays in `district`, where it was (so the send order's index, the segments and
    # every database made before keep it as it is: nothing to copy); their districts of the other sets are a JSON
    # object beside it, {"congress": "7"}, written with sorted keys so that equal ones are equal text (a send's
    # variants are counted by it). Most lists have one set: '{}' costs a byte a member, and no send reads it
    # unless the email uses another set.
    (
        "ALTER TABLE subscribers ADD COLUMN districts TEXT NOT NULL DEFAULT '{}' "
        "CHECK (json_type(districts) = 'object')",
    ),
    # 12: a send whose recipients' rows were dropped (`actionmail prune`) keeps when, and how many ended in each
    # state (JSON: {"accepted": 9874, …}).
    ("ALTER TABLE sends ADD COLUMN pruned_at TEXT", "ALTER TABLE sends ADD COLUMN summary TEXT"),
    # 13: who claimed a recipient's row for the call it is in (actionmail.delivery.workers: a worker's lock, as
    # "send-worker:3"), so that the rows of a worker that died are made uncertain while the live workers' calls
    # are left as they are. NULL: marked by the one process sending (or before this step).
    ("ALTER TABLE deliveries ADD COLUMN claimed_by TEXT",),
    # 14: a send's pace, which every process sending it keeps to together (Ledger.reserve): the rate its own
    # process was given (messages a second; NULL: none), which a process joining it keeps to as well; and when the
    # next free moment of that pace is, in seconds since 1970 by the database's clock (one clock for every host).
    ("ALTER TABLE sends ADD COLUMN rate DOUBLE PRECISION", "ALTER TABLE sends ADD COLUMN next_slot DOUBLE PRECISION"),
    # 15: the day a send's emails were first rendered for (its countdowns count from it: ISO date, in the
    # organization's time zone), so that a send continued on a later day is recognised as the same send by
    # rendering the file as of that day again (actionmail.delivery.prepare). NULL: made before this step; the
    # day it was created on, in the organization's time zone, is taken.
    ("ALTER TABLE sends ADD COLUMN sent_on TEXT",),
]


# PostgreSQL's first step: version 12's tables. Times are ISO 8601 text, as in SQLite, so that one SQL compares
# them; JSON columns are jsonb (read back as text); tags ignore case as SQLite's NOCASE does (an ICU collation).
POSTGRES_BASELINE_VERSION = 12
POSTGRES_BASELINE: Sequence[str] = (
    "CREATE COLLATION IF NOT EXISTS actionmail_nocase (provider = icu, locale = 'und-u-ks-level2', "
    "deterministic = false)",
    """
    CREATE TABLE subscribers (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        first_name TEXT,
        last_name TEXT,
        district TEXT,
        zip TEXT,
        language TEXT,
        fields JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(fields) = 'object'),
        status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained')),
        status_changed_at TEXT,
        status_reason TEXT,
        source TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        districts JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(districts) = 'object')
    )
    """,
    # NULLS FIRST: the send order is SQLite's, no language and no district first, straight from the index.
    "CREATE INDEX subscribers_by_status ON subscribers "
    "(status, language NULLS FIRST, district NULLS FIRST, id, email_key)",
    """
    CREATE TABLE tags (
        tag TEXT NOT NULL COLLATE actionmail_nocase,
        subscriber_id BIGINT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        PRIMARY KEY (tag, subscriber_id)
    )
    """,
    "CREATE INDEX tags_by_subscriber ON tags (subscriber_id)",
    """
    CREATE TABLE suppressions (
        email_key TEXT PRIMARY KEY,
        reason TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained')),
        detail TEXT,
        at TEXT NOT NULL,
        source TEXT
    )
    """,
    """
    CREATE TABLE sends (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        issue TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        segment TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        pruned_at TEXT,
        summary TEXT,
        UNIQUE (issue, content_hash)
    )
    """,
    """
    CREATE TABLE deliveries (
        send_id BIGINT NOT NULL REFERENCES sends (id),
        subscriber_id BIGINT NOT NULL,
        email TEXT NOT NULL,
        variant TEXT NOT NULL,
        state TEXT NOT NULL
            CHECK (state IN ('queued', 'in_flight', 'accepted', 'failed', 'uncertain', 'skipped')),
        batch TEXT,
        provider TEXT,
        provider_id TEXT,
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (send_id, variant, subscriber_id)
    )
    """,
    "CREATE UNIQUE INDEX deliveries_by_member ON deliveries (send_id, subscriber_id)",
    """
    CREATE TABLE history (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        email_key TEXT NOT NULL,
        at TEXT NOT NULL,
        change TEXT NOT NULL
            CHECK (change IN ('unsubscribed', 'bounced', 'complained', 'resubscribed', 'unsuppressed')),
        source TEXT NOT NULL,
        detail TEXT
    )
    """,
    "CREATE INDEX history_by_address ON history (email_key, at)",
    """
    CREATE TABLE feedback_events (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        dedupe_key TEXT NOT NULL UNIQUE,
        provider TEXT NOT NULL,
        kind TEXT NOT NULL,
        email_key TEXT,
        message_id TEXT,
        send_id TEXT,
        at TEXT,
        received_at TEXT NOT NULL,
        outcome TEXT NOT NULL
    )
    """,
    "CREATE INDEX feedback_events_by_address ON feedback_events (email_key, kind, at)",
    "CREATE INDEX feedback_events_by_age ON feedback_events (received_at)",
    """
    CREATE TABLE sync_positions (
        provider TEXT PRIMARY KEY,
        cursor TEXT NOT NULL,
        complete INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        completed_at TEXT
    )
    """,
    """
    CREATE TABLE signups (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        email_key TEXT NOT NULL,
        email TEXT,
        first_name TEXT,
        district TEXT,
        zip TEXT,
        language TEXT,
        client TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'failed', 'stopped', 'limited')),
        confirmed_at TEXT
    )
    """,
    "CREATE INDEX signups_by_address ON signups (email_key, requested_at)",
    "CREATE INDEX signups_by_client ON signups (client, requested_at)",
    "CREATE INDEX signups_pending ON signups (confirmed_at, requested_at)",
    """
    CREATE TABLE reports (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        subscriber_id BIGINT REFERENCES subscribers (id) ON DELETE SET NULL,
        issue TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        district TEXT,
        target TEXT,
        reported_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (issue, question, subscriber_id)
    )
    """,
)


def latest() -> int:
    """The schema version this actionmail makes and reads."""
    return len(MIGRATIONS)


def migrate(connection: Connection, migrations: Sequence[Migration] | None = None) -> int:
    """Bring the database up to the latest version; return the version it was at before."""
    steps = MIGRATIONS if migrations is None else migrations
    dialect = connection.dialect
    before: int | None = None
    while True:
        # The version is read inside the write transaction: two processes opening a new database at once
        # must not both run the same step.
        with transaction(connection):
            version = dialect.version(connection)
            before = version if before is None else before
            if version > len(steps):
                raise UsageError(
                    f"the subscriber database is at schema version {version}, newer than this actionmail "
                    f"knows ({len(steps)}): upgrade actionmail"
                )
            if version == len(steps):
                return int(before)
            step: Migration
            if dialect.name != "sqlite" and version < POSTGRES_BASELINE_VERSION:
                step, version = POSTGRES_BASELINE, POSTGRES_BASELINE_VERSION - 1
            else:
                step = steps[version]
            if isinstance(step, Mapping):
                step = step[dialect.name]
            if callable(step):
                step(connection)
            else:
                for statement in step:
                    connection.execute(statement)
            dialect.set_version(connection, version + 1)
