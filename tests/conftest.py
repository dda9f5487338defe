from __future__ import annotations

import contextlib
import gc
import os
import re
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from actionmail import database
from actionmail.database import Location
from tests.accessibility import require_axe
from tests.fakes.mailgun import MailgunFake
from tests.postgres import Cluster, binaries

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "newsletters").glob("*.yaml"))
SEED = ROOT / "newsletters" / "2019-08-01-no-police-facial-recognition.yaml"
# Screenshots that browser tests keep, to look at (gitignored).
ARTIFACTS = ROOT / "tests" / "artifacts"
# Debian's Chromium: Playwright can't download its own browser here.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip
PHONE = 375  # px: the width browser tests read pages at unless they say otherwise


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for every browser test; they skip where it isn't installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A new browser context at a phone's width (downloads accepted: the web edition's calendar files)."""
    context = browser.new_context(viewport={"width": PHONE, "height": 800}, accept_downloads=True)
    yield context
    context.close()


@pytest.fixture(scope="session")
def axe() -> None:
    """For a module whose tests all depend on the audit (``pytest.mark.usefixtures("axe")``): each fails where
    axe-core is not installed (tests/accessibility.py)."""
    require_axe()


# ACTIONMAIL_TEST_DATABASE=postgresql: every test's database is a PostgreSQL one of its own, through
# ACTIONMAIL_DATABASE_URL (which every command, worker and server the test starts reads): the suite on the second
# backend. Tests about the SQLite file itself are marked sqlite_only.
ON_POSTGRES = os.environ.get("ACTIONMAIL_TEST_DATABASE", "sqlite") == "postgresql"
# On PostgreSQL, the tests that open no database (rendering, checks, providers' payloads against their fakes,
# signatures) are not run a second time: they would test the same thing twice. They are those of the modules
# below but for the ones marked `database`. On SQLite a test of theirs that leaves a database file in its
# directory fails, saying to mark it, so that the list stays true.
NO_DATABASE = [
    "test_alerts.py", "test_check_accessibility.py", "test_check_content.py", "test_check_deliverability.py",
    "test_check_fuzz.py", "test_check_online.py", "test_feedback_basic_auth.py", "test_feedback_fuzz.py",
    "test_feedback_matching.py", "test_feedback_policy.py", "test_feedback_resend.py", "test_feedback_sendgrid.py",
    "test_golden.py", "test_merge.py", "test_mjml_validator.py", "test_outlook.py", "test_provider_mailgun.py",
    "test_provider_mime.py", "test_provider_postmark.py", "test_provider_resend.py", "test_provider_sendgrid.py",
    "test_provider_smtp.py", "test_tokens.py", "test_axe.py", "test_browser.py", "test_checks.py", "test_render.py",
    "test_legislation.py", "test_fuzz_newsletters.py", "test_project.py", "test_hostile_yaml.py",
    "test_validation.py", "test_check_spam.py", "test_check_dates.py", "test_layers.py", "test_start.py",
    "test_cli.py", "test_tally.py", "test_variants.py", "test_district_sets.py", "preview/", "web/",
]  # fmt: skip


# The modules with the longest tests (whole sends through fakes, killed and run again: up to a minute and a half
# each) run first, so that a pass on two processes does not end with one of them waiting on such a test.
FIRST = [
    "test_send_faults.py", "test_send.py", "test_send_workers.py", "test_send_claims.py", "test_provider_pull.py",
    "test_provider_http_send.py", "test_provider_send_whole.py", "serve/test_end_to_end.py",
]  # fmt: skip


def _module(item: pytest.Item) -> str:
    return item.path.relative_to(ROOT / "tests").as_posix()


def _opens_no_database(item: pytest.Item) -> bool:
    name = _module(item)
    listed = any(name == entry or (entry.endswith("/") and name.startswith(entry)) for entry in NO_DATABASE)
    return listed and not any(item.get_closest_marker(mark) for mark in ("database", "sqlite_only"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: _module(item) not in FIRST)  # stable: each module's tests stay in their order
    if ON_POSTGRES:
        skipped = [item for item in items if _opens_no_database(item)]
        if skipped:
            config.hook.pytest_deselected(items=skipped)
            items[:] = [item for item in items if not _opens_no_database(item)]


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster (tests/postgres.py) for this test process; skipped where none is installed."""
    bindir = binaries()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed: apt-get install postgresql")
    cluster = Cluster(bindir).start()
    try:
        cluster.template()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A new, empty PostgreSQL database at the latest schema, dropped after the test."""
    url = postgres_cluster.fresh()
    yield url
    postgres_cluster.drop(url)


@pytest.fixture(scope="module")
def module_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """For a module-scoped fixture that starts a server (whose process reads ACTIONMAIL_DATABASE_URL once, when it
    starts): on PostgreSQL, one database for the whole module, in the environment while the module runs, and the
    database of each of its tests that use it; None on SQLite."""
    if not ON_POSTGRES:
        yield None
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    url = cluster.fresh()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACTIONMAIL_DATABASE_URL", url)
        yield url
    cluster.drop(url)


class Databases:
    """More databases than the test's own, for a test about two (a backup restored into another; an import fuzzed
    into a new one each time). On SQLite each is the file asked for; on PostgreSQL a new database in the tests'
    cluster, dropped after. The newest is the one every command opens: on PostgreSQL through
    ACTIONMAIL_DATABASE_URL (as the test's own is), on SQLite through the project's settings where given."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._later = contextlib.ExitStack()

    @contextlib.contextmanager
    def new(self, path: Path) -> Iterator[Location]:
        """A new database while the block runs: ``path`` on SQLite."""
        if not ON_POSTGRES:
            yield path
            return
        cluster: Cluster = self._request.getfixturevalue("postgres_cluster")
        url = cluster.fresh()
        before = os.environ.get(database.URL_VARIABLE)
        os.environ[database.URL_VARIABLE] = url
        try:
            yield url
        finally:
            if before is None:
                del os.environ[database.URL_VARIABLE]
            else:
                os.environ[database.URL_VARIABLE] = before
            gc.collect()  # the connections the block left to be collected, before the database is dropped
            cluster.drop(url)

    def switch(self, path: Path, settings: Path | None = None) -> Location:
        """A new database for the rest of the test; on SQLite ``path``, written as [audience] database in the
        ``settings`` file (relative to it) where one is given, so that commands open it."""
        if settings is not None and not ON_POSTGRES:
            name = path.relative_to(settings.parent).as_posix()
            settings.write_text(settings.read_text() + f'\n[audience]\ndatabase = "{name}"\n')
        return self._later.enter_context(self.new(path))


@pytest.fixture
def databases(request: pytest.FixtureRequest) -> Iterator[Databases]:
    """See Databases."""
    made = Databases(request)
    with made._later:
        yield made


@pytest.fixture(autouse=True)
def database_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The backend this test runs on: on PostgreSQL (see ON_POSTGRES), ACTIONMAIL_DATABASE_URL set to a database
    of the test's own (its module's, where a server of the module's uses one: module_database)."""
    if not ON_POSTGRES:
        watched = _opens_no_database(request.node) and "tmp_path" in request.fixturenames
        directory: Path | None = request.getfixturevalue("tmp_path") if watched else None
        yield "sqlite"
        if directory is not None:
            made = sorted(directory.rglob("*.db"))
            if made:
                pytest.fail(
                    f"this test made a database ({made[0].name}), so it runs on PostgreSQL too: mark it "
                    "@pytest.mark.database (tests/conftest.py: NO_DATABASE)"
                )
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("about the SQLite file itself")
    shared = "module_database" in request.fixturenames
    url = request.getfixturevalue("module_database" if shared else "postgres_url")
    monkeypatch.setenv("ACTIONMAIL_DATABASE_URL", url)
    yield "postgresql"
    # A connection left open is a warning (an error here) when it is collected: in this test, not a later one.
    # Frozen after, so that the next test's collection looks only at what that test made: a collection of
    # everything alive took 0.2-0.6 s a test, two-thirds of the PostgreSQL pass's setups and teardowns.
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def hermetic_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI keeps compiled templates in the user's cache directory; tests get their own."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example project (settings and officials, no newsletters) as the current directory."""
    shutil.copy(ROOT / "actionmail.toml", tmp_path)
    shutil.copy(ROOT / "officials.yaml", tmp_path)
    (tmp_path / "newsletters").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


KEY = "k" * 32  # the secret key of the sends in tests (ACTIONMAIL_SECRET_KEY)


@pytest.fixture
def members(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example project with the 1,000 sample members imported, the seed newsletter and a secret key set."""
    from click.testing import CliRunner

    from actionmail.cli import main

    shutil.copy(ROOT / "sample" / "members.csv", project / "members.csv")
    assert CliRunner().invoke(main, ["subscribers", "import", "members.csv"]).exit_code == 0
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", KEY)
    write(project / "newsletters", SEED.name, SEED.read_text())
    return project


MAILGUN_KEY = "test-key-not-secret"  # the fake Mailgun's API key (ACTIONMAIL_MAILGUN_API_KEY)


@pytest.fixture
def project_with_members(members: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``members``, with the API key of the fake Mailgun that ``mailgun`` starts."""
    monkeypatch.setenv("ACTIONMAIL_MAILGUN_API_KEY", MAILGUN_KEY)
    return members


@pytest.fixture
def mailgun(project_with_members: Path) -> Iterator[MailgunFake]:
    """A fake Mailgun on 127.0.0.1, and the project sending through it."""
    with MailgunFake(MAILGUN_KEY) as fake:
        use_provider(project_with_members, "mailgun", domain="mg.example.org", base_url=fake.url)
        yield fake


class Clock:
    """A clock that moves only when told (``now += …``) or slept on, for code that takes its clock."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def use_provider(project: Path, name: str, **settings: str) -> None:
    """Send through provider ``name`` ([send] provider in the project's actionmail.toml), with these
    [providers.NAME] settings, in this order (a fake's base_url, say)."""
    path = project / "actionmail.toml"
    section = "".join(f'{key} = "{value}"\n' for key, value in settings.items())
    path.write_text(path.read_text() + f'\n[send]\nprovider = "{name}"\n\n[providers.{name}]\n{section}')


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden/ from the current templates and examples.",
    )


def summary(output: str) -> str:
    """The line `actionmail send` sums a send up with ("Send 1 of … through …: accepted 1,000"), wherever the lines
    before and after it (the sync's, the web edition's) put it."""
    return next(line for line in output.splitlines() if re.match(r"Send \d+ of ", line))
