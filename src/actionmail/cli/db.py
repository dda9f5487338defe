"""`actionmail db`: the database itself: bring it up to date, or move a SQLite file's contents into PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import click

from actionmail.cli import reports_errors


@click.group("db")
def db_group() -> None:
    """The database: where members, sends and what came back are kept (the SQLite file, or PostgreSQL)."""


@db_group.command("migrate")
@reports_errors
def migrate() -> None:
    """Bring the database's tables up to this version of actionmail (every command does so when it opens it;
    run this once when several hosts share a PostgreSQL database, before they upgrade)."""
    from actionmail import audience, database
    from actionmail.audience import schema
    from actionmail.config import load_project
    from actionmail.errors import UsageError

    project = load_project(Path.cwd())
    location = audience.database_location(project)
    named = database.describe(location)
    try:
        connection = database.connect(location)
    except UsageError:
        raise
    except Exception as e:
        raise UsageError(f"cannot open the database {named} ({e})") from None
    try:
        before = schema.migrate(connection)
    except connection.dialect.errors() as e:
        raise UsageError(f"cannot bring {named} up to date ({e}); it is unchanged") from None
    finally:
        connection.close()
    latest = schema.latest()
    if before == latest:
        click.echo(f"{named} is up to date (schema version {latest}).")
    else:
        click.echo(f"{named}: schema version {before} → {latest}.")


@db_group.command("copy")
@click.option(
    "--from",
    "source",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The SQLite file to copy. Default: [audience] database in actionmail.toml.",
)
@click.option(
    "--to",
    "target",
    default=None,
    metavar="URL",
    help="The PostgreSQL database, empty. Default: ACTIONMAIL_DATABASE_URL, else [database] url.",
)
@reports_errors
def copy_command(source: Path | None, target: str | None) -> None:
    """Copy everything in the SQLite file (members, suppressions, history, sends, what came back) into an empty
    PostgreSQL database, in one transaction. The file is left as it was.

    Then point every host at PostgreSQL (ACTIONMAIL_DATABASE_URL, or [database] url in actionmail.toml) and keep
    the file as a backup. Run it while nothing is sending or serving: what they write meanwhile is not copied.
    """  # fmt: skip
    from actionmail import audience, database
    from actionmail.audience import schema
    from actionmail.config import load_project
    from actionmail.database import copy as copying
    from actionmail.errors import UsageError

    project = load_project(Path.cwd())
    source = source or project.root / project.settings.audience.database
    if not source.is_file():
        raise UsageError(f"there is no SQLite database at {database.describe(source)}: give the file with --from")
    location = target or audience.database_location(project)
    if not database.is_postgres(location):
        raise UsageError(
            "no PostgreSQL database to copy into: give --to postgresql://USER@HOST/DATABASE, or set "
            "ACTIONMAIL_DATABASE_URL"
        )
    to = database.connect(location)
    try:
        schema.migrate(to)  # a new database gets its tables
        try:
            from_db = copying.open_source(source)
        except Exception as e:  # not a database, or not one this actionmail can bring up to date
            raise UsageError(
                f"{database.describe(source)} is not an actionmail subscriber database ({e}): give another file "
                "with --from"
            ) from None
        try:
            copied = copying.copy(from_db, to, lambda table, n: click.echo(f"  {table}: {n:,}", err=True))
        except copying.NotEmpty as e:
            raise UsageError(str(e)) from None
        except to.dialect.errors() as e:
            raise UsageError(
                f"the copy into {database.describe(location)} stopped ({e}); it was one transaction, so nothing was "
                "copied: fix what it says and run it again"
            ) from None
        finally:
            from_db.close()
    finally:
        to.close()
    rows = ", ".join(f"{table} {n:,}" for table, n in copied.rows.items() if n)
    click.echo(f"Copied {database.describe(source)} into {database.describe(location)}: {rows or 'nothing (empty)'}.")
