"""The database seam: which database a project uses, the SQL PostgreSQL is given, locks every host sees, and
`db copy` moving a SQLite file into PostgreSQL. Tests marked here with ``postgres_url`` start the throwaway
cluster (tests/postgres.py) whichever backend the rest of the suite runs on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import database
from actionmail.audience import Segment, Status, Store
from actionmail.cli import main
from actionmail.config import load_project
from actionmail.database import locks
from actionmail.database.postgres import translate
from actionmail.delivery import Ledger
from actionmail.errors import InvalidInput, UsageError
from tests import sql
from tests.conftest import SEED, write

FILE = f"newsletters/{SEED.name}"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


# --- which database -------------------------------------------------------------------------------------------


def test_placeholders_become_psycopgs_outside_literals_and_percent_signs_are_doubled() -> None:
    sql = "SELECT 'what?', x FROM t WHERE a = ? AND b LIKE '50%' AND c = '' || ? -- ok?"
    assert translate(sql) == "SELECT 'what?', x FROM t WHERE a = %s AND b LIKE '50%%' AND c = '' || %s -- ok%s"


def test_a_url_is_named_without_its_password() -> None:
    assert database.describe("postgresql://am:s3cret@db.example.org:5433/members?sslmode=require&password=x") == (
        "postgresql://am@db.example.org:5433/members?sslmode=require"
    )
    assert "s3cret" not in database.describe("postgres://am:s3cret@h/d")


def test_the_environment_wins_over_the_settings_and_the_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from actionmail.audience import database_location

    monkeypatch.delenv("ACTIONMAIL_DATABASE_URL", raising=False)
    assert database_location(load_project(project)) == project / "actionmail.db"
    settings = (project / "actionmail.toml").read_text()
    (project / "actionmail.toml").write_text(settings + '\n[database]\nurl = "postgresql://am@db.example.org/am"\n')
    assert database_location(load_project(project)) == "postgresql://am@db.example.org/am"
    monkeypatch.setenv("ACTIONMAIL_DATABASE_URL", "postgresql://other@h/x")
    assert database_location(load_project(project)) == "postgresql://other@h/x"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://am:hunter2@db/am", "no password here"),
        ("postgresql://am@db/am?password=hunter2", "no password here"),
        ("mysql://am@db/am", "write a PostgreSQL URL"),
    ],
)
def test_a_password_or_another_database_in_the_settings_is_refused(project: Path, url: str, says: str) -> None:
    settings = (project / "actionmail.toml").read_text()
    (project / "actionmail.toml").write_text(settings + f'\n[database]\nurl = "{url}"\n')
    with pytest.raises(InvalidInput) as raised:
        load_project(project)
    text = "\n".join(str(p) for p in raised.value.problems)
    assert "database.url" in text and says in text
    assert "hunter2" not in text


def test_a_url_that_is_not_postgresql_in_the_environment_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACTIONMAIL_DATABASE_URL", "mysql://root:pw@localhost/x")
    with pytest.raises(UsageError) as raised:
        Store.open(tmp_path / "actionmail.db")
    assert "not a PostgreSQL URL" in str(raised.value) and "pw" not in str(raised.value)


def test_a_server_that_is_not_there_is_a_clear_error_naming_it_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACTIONMAIL_DATABASE_URL", "postgresql://am:hunter2@127.0.0.1:1/am?connect_timeout=2")
    with pytest.raises(UsageError) as raised:
        Store.open(tmp_path / "actionmail.db")
    message = str(raised.value)
    assert message.startswith("cannot connect to the database postgresql://am@127.0.0.1:1/am")
    assert "hunter2" not in message and "PGPASSWORD" in message


# --- PostgreSQL itself ----------------------------------------------------------------------------------------


def test_the_store_on_postgresql_keeps_the_stores_rules(postgres_url: str) -> None:
    with Store.open(postgres_url) as store:
        store.add("ana@example.org", first_name="Ana", district="3", tags=["Volunteer"], fields={"shift": "am"})
        store.add("ANA@example.org", tags=["volunteer", "driver"])  # one member; tags ignore case, as in SQLite
        store.add("bo@example.org", district="4", districts={"congress": "9"})
        ana = store.get("Ana@Example.org")
        assert ana is not None and ana.tags == ("driver", "Volunteer") and dict(ana.fields) == {"shift": "am"}
        assert store.count(Segment.parse("tag=VOLUNTEER")) == 1
        assert store.count(Segment.parse("field.shift=AM")) == 1
        assert store.count(Segment.parse("district.congress=9")) == 1
        assert store.district_sets() == ["congress"]
        assert [m.email for m in store.subscribers()] == ["ana@example.org", "bo@example.org"]
        store.unsubscribe("bo@example.org", "asked")
        assert (
            store.add("bo@example.org", first_name="Bo")[0].status is Status.UNSUBSCRIBED
        )  # an add never resubscribes
        assert [e.change for e in store.history("bo@example.org")] == ["unsubscribed"]
        assert sorted(store.sendable([1, 2, 999])) == [1]


def test_a_lock_is_seen_by_every_connection_and_released_when_its_process_dies(postgres_url: str) -> None:
    held = locks.Lock(postgres_url, "send-lock")
    assert held.acquire()
    other = locks.Lock(postgres_url, "send-lock")
    assert not other.acquire()
    held.release()
    assert other.acquire()
    other.release()
    # Another process takes a worker's lock and is killed: the server lets it go with its connection.
    script = textwrap.dedent(
        f"""
        import sys, time
        from actionmail.database import locks
        lock = locks.Lock({postgres_url!r}, "send-worker", 3)
        assert lock.acquire()
        print("held", flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        assert locks.held(postgres_url, "send-worker")
        assert not locks.Lock(postgres_url, "send-worker", 3).acquire()
    finally:
        child.kill()
        child.wait()
        child.stdout.close()  # type: ignore[union-attr]
    again = locks.Lock(postgres_url, "send-worker", 3)
    assert again.acquire(timeout=10)
    again.release()
    assert not locks.held(postgres_url, "send-worker")


def test_a_send_on_postgresql_refuses_a_second_one_at_once(
    members: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACTIONMAIL_DATABASE_URL", postgres_url)
    code, output = run("subscribers", "import", "members.csv")
    assert code == 0, output
    lock = locks.Lock(postgres_url, "send-lock")  # as a send running on another host
    assert lock.acquire()
    try:
        code, output = run("send", FILE, "--yes")
    finally:
        lock.release()
    assert code != 0 and "another send is running" in output
    code, output = run("send", FILE, "--yes")
    assert code == 0, output
    ledger = Ledger(postgres_url)
    assert ledger.counts(1)["accepted"] == 1000
    ledger.close()


# --- db migrate, db copy --------------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_db_copy_moves_everything_from_the_file_into_postgresql(
    members: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = run("send", FILE, "--yes", "--segment", "district=5")
    assert code == 0, output
    with Store.open(members / "actionmail.db") as store:
        store.unsubscribe(store.everyone().__next__().email, "asked at a meeting")
        before = sorted(store.everyone(), key=lambda m: m.id)
        histories = {m.email: store.history(m.email) for m in before if m.status is not Status.ACTIVE}
        suppressions = list(store.suppressions())
    ledger = Ledger(members / "actionmail.db")
    counts = ledger.counts(1)
    ledger.close()

    code, output = run("db", "copy", "--to", postgres_url)
    assert code == 0, output
    assert "Copied actionmail.db into postgresql://postgres@" in output and "subscribers 1,000" in output

    with Store.open(postgres_url) as store:
        assert sorted(store.everyone(), key=lambda m: m.id) == before
        assert {m.email: store.history(m.email) for m in before if m.status is not Status.ACTIVE} == histories
        assert list(store.suppressions()) == suppressions
        new, _ = store.add("new.member@example.org")
        assert new.id == max(m.id for m in before) + 1  # the id sequence goes on after the copied ids
    ledger = Ledger(postgres_url)
    assert ledger.counts(1) == counts
    ledger.close()
    # The send, run again from PostgreSQL, knows whom it reached.
    monkeypatch.setenv("ACTIONMAIL_DATABASE_URL", postgres_url)
    code, output = run("send", FILE, "--yes")
    assert code == 0, output
    accepted = sql.rows(Path("unused"), "SELECT subscriber_id FROM deliveries WHERE state = 'accepted'")
    assert len(accepted) == len(set(accepted)) == counts["accepted"] == 144  # the send was done: nobody again

    code, output = run("db", "copy", "--to", postgres_url)  # never into a database with rows
    assert code != 0 and "already has subscribers: copy into an empty one" in output


def test_db_copy_says_what_it_needs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTIONMAIL_DATABASE_URL", raising=False)
    code, output = run("db", "copy")
    assert code != 0 and "no SQLite database at actionmail.db: give the file with --from" in output
    write(project, "actionmail.db", "")
    code, output = run("db", "copy")
    assert code != 0 and "no PostgreSQL database to copy into" in output


def test_db_copy_of_a_file_that_is_not_a_database_is_a_clear_error(project: Path, postgres_url: str) -> None:
    (project / "junk.db").write_bytes(b"not a database at all" * 100)
    code, output = run("db", "copy", "--from", "junk.db", "--to", postgres_url)
    assert code == 2 and "junk.db is not an actionmail subscriber database (file is not a database)" in output
    assert "Traceback" not in output


def test_db_migrate_says_where_the_database_stands(project: Path, postgres_url: str) -> None:
    code, output = run("db", "migrate", env={"ACTIONMAIL_DATABASE_URL": postgres_url})
    assert code == 0, output
    from actionmail.audience import schema

    assert output.strip() == f"{database.describe(postgres_url)} is up to date (schema version {schema.latest()})."
