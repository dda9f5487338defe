"""What the preview shows: the newsletters named on the command line, loaded and rendered on demand, and kept
until one of their inputs changes.

Everything here is plain data in, JSON-ready dicts and strings out; the HTTP side is in
:mod:`actionmail.preview.server`. A newsletter that does not load is not an exception to the page: its problems
(file, line, what, how to fix) are what the page shows, until the file is saved again.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actionmail import audience, check, tokens, variants
from actionmail.config import SETTINGS_FILE, Settings, find_root, load_settings
from actionmail.errors import ActionmailError, InvalidInput, Problem, UsageError, shown
from actionmail.render import Rendered, sample_values
from actionmail.variants import Edition, VariantKey

logger = logging.getLogger(__name__)

Values = Mapping[str, str | None]
# The headers a send would give this variant's message (actionmail.delivery knows them; the CLI passes this in,
# so the preview never imports the providers a send needs).
HeadersHook = Callable[[Edition, VariantKey, Rendered, Values], dict[str, str]]
# Sends one test copy the way `send --to` does; returns what to tell the user. None: no test sends.
SendTestHook = Callable[[Edition, VariantKey, str, Values], str]

# A translation sits beside its newsletter as NAME.es.yaml: it is previewed with it, not listed on its own.
_TRANSLATION = re.compile(r"^(?P<base>.+)\.(?P<language>[a-z]{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Hooks:
    headers: HeadersHook
    send_test: SendTestHook | None = None
    send_test_enabled: Callable[[Edition], bool] = lambda edition: False


@dataclass(frozen=True)
class Entry:
    """One newsletter in the list. ``id`` is its path as the user would write it; the page names it by that."""

    id: str
    path: Path

    @property
    def date(self) -> str:
        match = _DATE.match(self.path.stem)
        return match[0] if match else ""


@dataclass(frozen=True)
class Change:
    """What a batch of saved files affects: some newsletters, or every one (a shared input changed)."""

    ids: frozenset[str] = frozenset()
    shared: bool = False
    listing: bool = False  # a newsletter file appeared or went away

    def __bool__(self) -> bool:
        return bool(self.ids) or self.shared or self.listing


@dataclass
class _Cache:
    editions: dict[Path, Edition | InvalidInput] = field(default_factory=dict)
    rendered: dict[tuple[Path, VariantKey], Rendered | InvalidInput] = field(default_factory=dict)
    checks: dict[Path, list[Problem]] = field(default_factory=dict)


class NotFound(ActionmailError):
    """The page asked for a newsletter or variant that isn't there (any more)."""


class Workspace:
    """The newsletters under preview. Thread-safe: the server's request threads and its watcher share it."""

    def __init__(self, targets: Sequence[Path], hooks: Hooks) -> None:
        self.targets = [Path(t) for t in targets]
        self.hooks = hooks
        self.root = find_root(self.targets[0]) if self.targets else None
        # One lock for loading and rendering: renders are a few milliseconds each, and two threads rendering the
        # same newsletter at once would only do the work twice.
        self._lock = threading.RLock()
        self._cache = _Cache()
        self._saves = 0  # how many times files were saved: what was computed before a save is stale
        self.entries = self._scan()
        if not self.entries:
            raise UsageError(
                f"no newsletters in {', '.join(shown(t) for t in self.targets)}: name a .yaml file, or a directory "
                "with some (start one with `actionmail new`)"
            )

    # The list and what changes in it

    def _scan(self) -> list[Entry]:
        shared = self._shared_inputs()
        try:
            files = [p for p in check.collect(self.targets) if p.resolve() not in shared]
        except UsageError:  # the directory was deleted or renamed while the preview runs: nothing to list
            return []
        bases = {p.resolve() for p in files}
        entries = [
            Entry(shown(p), p)
            for p in files
            if not ((m := _TRANSLATION.match(p.stem)) and p.with_name(m["base"] + p.suffix).resolve() in bases)
        ]
        return sorted(entries, key=lambda e: (e.date, e.id), reverse=True)  # the newest day first

    def entry(self, entry_id: str) -> Entry:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise NotFound(f"{entry_id}: not a newsletter in this preview")

    def _settings(self) -> Settings:
        path = None if self.root is None else self.root / SETTINGS_FILE
        try:
            return Settings() if path is None else load_settings(path)
        except (InvalidInput, OSError):
            return Settings()  # broken or gone: watch the default places; the page shows the problem

    def _shared_inputs(self) -> set[Path]:
        """The files every newsletter depends on: the settings and the officials."""
        root = self.root or Path.cwd()
        settings = self._settings()
        return {(root / SETTINGS_FILE).resolve(), (root / settings.officials).resolve()}

    def template_dir(self) -> Path:
        return ((self.root or Path.cwd()) / self._settings().templates).resolve()

    def watched(self) -> list[Path]:
        """The directories to watch (each not recursively: a project root may hold a virtualenv or node_modules)."""
        directories = {t.resolve() if t.is_dir() else t.resolve().parent for t in self.targets}
        directories |= {p.parent for p in self._shared_inputs()}
        templates = self.template_dir()
        if templates.is_dir():
            directories |= {templates, *(p for p in templates.rglob("*") if p.is_dir())}
        return sorted(d for d in directories if d.is_dir())

    def changed(self, paths: Iterable[Path]) -> Change:
        """Forget what ``paths`` (saved, created or deleted files) make stale, and say what that affects."""
        paths = [p.resolve() for p in paths]
        shared_files = self._shared_inputs()
        templates = self.template_dir()
        with self._lock:
            self._saves += 1
            shared = any(p in shared_files or p.is_relative_to(templates) for p in paths)
            before = [e.id for e in self.entries]
            self.entries = self._scan()
            listing = [e.id for e in self.entries] != before
            ids = {e.id for e in self.entries if any(_belongs(p, e.path.resolve()) for p in paths)}
            if shared:
                self._cache = _Cache()
            else:
                self._forget({e.path for e in self.entries if e.id in ids})
        return Change(frozenset(ids), shared, listing)

    def _forget(self, paths: set[Path]) -> None:
        cache = self._cache
        for path in paths:
            cache.editions.pop(path, None)
            cache.checks.pop(path, None)
        cache.rendered = {k: v for k, v in cache.rendered.items() if k[0] not in paths}

    # Loading and rendering, cached

    def edition(self, entry: Entry) -> Edition:
        with self._lock:
            cached = self._cache.editions.get(entry.path)
            if cached is None:
                try:
                    cached = variants.load_edition(entry.path)
                except InvalidInput as e:
                    cached = e
                self._cache.editions[entry.path] = cached
        if isinstance(cached, InvalidInput):
            raise cached
        return cached

    def rendered(self, entry: Entry, key: VariantKey) -> Rendered:
        with self._lock:  # the edition and its rendering together: a save in between would cache a stale one
            edition = self.edition(entry)
            cached = self._cache.rendered.get((entry.path, key))
            if cached is None:
                try:
                    cached = edition.render(key)
                except InvalidInput as e:  # a mistake in a template
                    cached = e
                self._cache.rendered[(entry.path, key)] = cached
        if isinstance(cached, InvalidInput):
            raise cached
        return cached

    def problems(self, entry: Entry) -> list[Problem]:
        """What `actionmail check --no-spam` says about this newsletter: SpamAssassin takes seconds a run, too long
        to wait for after every save (and to start again on each)."""
        with self._lock:
            if entry.path in self._cache.checks:
                return self._cache.checks[entry.path]
            saves = self._saves
        # Outside the lock: check renders every variant, and the page's frames shouldn't wait for it.
        problems = check.check_files([entry.path], spam_score=False)
        with self._lock:
            if self._saves == saves:  # else it may have checked the file as it was before a save
                self._cache.checks[entry.path] = problems
        return problems

    # What the page asks for

    def listing(self) -> list[dict[str, Any]]:
        rows = []
        for entry in self.entries:
            row: dict[str, Any] = {"id": entry.id, "name": entry.path.stem, "date": entry.date}
            try:
                edition = self.edition(entry)
                row["subject"] = edition.newsletters[edition.default_language].subject
            except InvalidInput as e:
                row["subject"], row["problems"] = None, len(e.problems)
            except Exception:  # a bug of ours in one newsletter must not hide the others
                logger.exception("loading %s failed", entry.id)
                row["subject"], row["problems"] = None, 1
            rows.append(row)
        return rows

    def select(self, entry_id: str, variant: str | None, member: str | None) -> tuple[Edition, VariantKey, Values]:
        """The newsletter, variant and merge values the page asks for: a member's own, when it names one."""
        edition = self.edition(self.entry(entry_id))
        project = edition.project
        if member:
            reader = _member(project, member)
            return edition, edition.key_for(reader), variants.reader_values(reader, project, _secret_or_none())
        key = parse_variant(edition, variant)
        return edition, key, sample_values(project)

    def view(self, entry_id: str, variant: str | None, member: str | None) -> dict[str, Any]:
        edition, key, values = self.select(entry_id, variant, member)
        entry = self.entry(entry_id)
        rendered = self.rendered(entry, key)
        email = rendered.personalize(values)
        size = len(email.html.encode())
        headers = {"Subject": email.subject, "Preheader": rendered.preheader}
        headers |= self.hooks.headers(edition, key, rendered, values)
        return {
            "id": entry.id,
            "variant": variant_id(key),
            "label": edition.label(key),
            "names": variants.describe(edition, key),
            "variants": [
                {"id": variant_id(k), "label": edition.label(k), "names": variants.describe(edition, k)}
                for k in all_keys(edition)
            ],
            "member": member or None,
            "subject": email.subject,
            "preheader": rendered.preheader,
            "html": email.html,
            "text": email.text,
            "mjml": rendered.mjml,
            "headers": headers,
            "size": {"bytes": size, "clip": check.CLIP_BYTES, "warning": check.CLIP_WARNING_BYTES},
            "send_test": self.hooks.send_test is not None and self.hooks.send_test_enabled(edition),
        }

    def email_html(self, entry_id: str, variant: str | None, member: str | None) -> str:
        _, key, values = self.select(entry_id, variant, member)
        return self.rendered(self.entry(entry_id), key).personalize(values).html

    def sheet(self, entry_id: str) -> dict[str, Any]:
        """Every variant at once: whom each names, and how many members get it (when there is a database)."""
        edition = self.edition(self.entry(entry_id))
        counts = _counts(edition)
        rows = []
        for key in all_keys(edition):
            self.rendered(self.entry(entry_id), key)  # a template mistake shows as the page's problem
            rows.append(
                {
                    "id": variant_id(key),
                    "label": edition.label(key),
                    "names": variants.describe(edition, key),
                    "members": None if counts is None else counts.get(key, 0),
                }
            )
        return {"id": entry_id, "variants": rows}

    def check(self, entry_id: str) -> list[dict[str, Any]]:
        return [problem_json(p) for p in self.problems(self.entry(entry_id))]

    def send_test(self, entry_id: str, variant: str | None, member: str | None, address: str) -> str:
        edition, key, values = self.select(entry_id, variant, member)
        if self.hooks.send_test is None or not self.hooks.send_test_enabled(edition):
            raise UsageError("test sends need a mail provider: set [send] provider in actionmail.toml")
        if not address.strip():
            raise UsageError("no address to send the test to: type yours")
        return self.hooks.send_test(edition, key, address.strip(), values)


def _belongs(changed: Path, newsletter: Path) -> bool:
    """Is ``changed`` this newsletter's file or one of its translations (NAME.es.yaml)?"""
    if changed == newsletter:
        return True
    match = _TRANSLATION.match(changed.stem)
    return match is not None and changed.parent == newsletter.parent and match["base"] == newsletter.stem


def all_keys(edition: Edition) -> list[VariantKey]:
    """Every variant the edition has, whoever the members are: each language, each district and the unknown."""
    districts: list[str | None] = [*edition.districts, None]
    keys = {edition.key(language, district) for language in edition.newsletters for district in districts}
    return sorted(keys, key=VariantKey.sort_key)


def variant_id(key: VariantKey) -> str:
    return f"{key.language}:{key.district or ''}"


def parse_variant(edition: Edition, text: str | None) -> VariantKey:
    """``en:3`` → the district 3 variant in English; nothing → the default language, district unknown."""
    language, _, district = (text or "").partition(":")
    key = edition.key(language or None, district or None)
    if text and variant_id(key) != text:
        raise NotFound(
            f"{text}: not a variant of this newsletter (it has {', '.join(map(variant_id, all_keys(edition)))})"
        )
    return key


def problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "text": str(problem),
        "file": problem.file,
        "line": problem.line,
        "severity": str(problem.severity),
    }


def _member(project: Any, email: str) -> audience.Subscriber:
    database = audience.database_path(project)
    if not database.is_file():  # the preview reads members; it never creates a database
        raise UsageError(f"no subscriber database at {shown(database)}: import members first")
    with audience.Store.open(database) as store:
        member = store.get(email)
    if member is None:
        raise UsageError(f"{email}: no such member in {shown(database)}")
    return member


def _counts(edition: Edition) -> dict[VariantKey, int] | None:
    database = audience.database_path(edition.project)
    if not database.is_file():
        return None
    with audience.Store.open(database) as store:
        return variants.plan_counts(edition, store.count_by_language_and_district(None))


def _secret_or_none() -> bytes | None:
    """The unsubscribe link signed as a send would sign it; the stand-in when there is no key yet."""
    try:
        return tokens.secret_key()
    except tokens.MissingSecret:
        return None
