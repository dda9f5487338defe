"""What the preview shows: the newsletters named on the command line, loaded and rendered on demand, and kept
until one of their inputs changes.

Everything here is plain data in, JSON-ready dicts and strings out; the HTTP side is in
:mod:`actionmail.preview.server`. A newsletter that does not load is not an exception to the page: its problems
(file, line, what, how to fix) are what the page shows, until the file is saved again.

Nothing a file holds stops the preview. Each load, render and check runs as :class:`~actionmail.preview.work.Work`,
in a thread of its own that a request waits for only so long (:attr:`Workspace.patience`): a file that sends the
loader into a loop, or eats memory, gets "still loading" in the page while the other newsletters go on being
served, and an exception the loader didn't expect becomes "could not load: …" (its traceback goes to the log, not
the page). A newsletter that is a link out of the project, a directory or a named pipe is refused with a problem.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from actionmail import audience, check, tokens, variants
from actionmail import database as db
from actionmail.config import SETTINGS_FILE, Settings, find_root, load_settings
from actionmail.errors import ActionmailError, InvalidInput, Problem, UsageError, shown
from actionmail.preview.work import Work
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
# How long a request waits for a load, render or check before it answers "still loading": a newsletter takes
# milliseconds, the first one after a start or a template change a second or two on a slow machine.
PATIENCE_SECONDS = 10.0
T = TypeVar("T")


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
    editions: dict[Path, Work[Edition]] = field(default_factory=dict)
    rendered: dict[tuple[Path, VariantKey], Work[Rendered]] = field(default_factory=dict)
    checks: dict[Path, Work[list[Problem]]] = field(default_factory=dict)
    # Each newsletter file as it was when its work above began: a save the watcher did not report (an event lost
    # while a watch restarts, a file system that reports none) is seen at the next request all the same.
    stamps: dict[Path, tuple[int, int, int] | None] = field(default_factory=dict)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is saved: its modification time, size and inode (None: not there)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size, found.st_ino)


class NotFound(ActionmailError):
    """The page asked for a newsletter or variant that isn't there (any more)."""


class Workspace:
    """The newsletters under preview. Thread-safe: the server's request threads and its watcher share it."""

    def __init__(self, targets: Sequence[Path], hooks: Hooks, *, patience: float = PATIENCE_SECONDS) -> None:
        self.targets = [Path(t) for t in targets]
        self.hooks = hooks
        self.patience = patience
        self.root = find_root(self.targets[0]) if self.targets else None
        # What the preview reads: the project, or without one the directories named (each file named, its own).
        # A newsletter that resolves outside these (a link to ~/.ssh/…) is refused, not shown.
        self.directories = [t for t in self.targets if t.is_dir()]
        self.roots = [(find_root(t) or (t if t in self.directories else t.parent)).resolve() for t in self.targets]
        # Held only to look up or store Work, never while it runs: two requests for the same newsletter share one
        # load, and a load that hangs holds up nothing else.
        self._lock = threading.RLock()
        self._cache = _Cache()
        self.entries = self._scan()
        if not self.entries:
            raise UsageError(
                f"no newsletters in {', '.join(shown(t) for t in self.targets)}: name a .yaml file, or a directory "
                "with some (start one with `actionmail new`)"
            )

    # The list and what changes in it

    def _files(self) -> list[Path]:
        """The newsletter files named, or in the directories named (not recursively), as ``check`` finds them; and
        in those directories, each .yaml name that is not a file (a directory, a link to nowhere, a named pipe),
        so that a file replaced by one shows what is wrong instead of vanishing from the list."""
        files: list[Path] = []
        for target in self.targets:
            if target in self.directories:
                try:
                    found = sorted(target.iterdir())
                except OSError:  # the directory was deleted or renamed while the preview runs: nothing to list
                    continue
                files += [
                    p
                    for p in found
                    if p.suffix in (".yaml", ".yml") and (p.is_file() or not p.name.startswith((".", "#")))
                ]  # (an editor's lock file, like Emacs' .#name.yaml, is a link to nowhere: not a newsletter)
            elif target.exists() or target.is_symlink():
                files.append(target)
        return files

    def _scan(self) -> list[Entry]:
        shared = self._shared_inputs()
        files = [p for p in self._files() if p.resolve() not in shared]
        bases = {p.resolve() for p in files}
        entries = [
            Entry(_own_name(p), p)
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
        if path is None or not path.is_file():  # a named pipe would hold up the watcher for good: not read here
            return Settings()
        try:
            return load_settings(path)
        except Exception:  # broken or gone: watch the default places; the page shows the problem
            return Settings()

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
        # A newsletter that is a link (to drafts/, say): where the file itself is saved, if that is in the project.
        linked = {e.path.resolve() for e in self.entries if e.path.is_symlink()}
        directories |= {p.parent for p in linked if any(p.is_relative_to(root) for root in self.roots)}
        templates = self.template_dir()
        if templates.is_dir():
            directories |= {templates, *(p for p in templates.rglob("*") if p.is_dir())}
        return sorted(d for d in directories if d.is_dir())

    def changed(self, paths: Iterable[Path]) -> Change:
        """Forget what ``paths`` (saved, created or deleted files) make stale, and say what that affects."""
        paths = list(paths)
        own = [_own(p) for p in paths]  # a link is its own file here, not the one it points to
        paths = [p.resolve() for p in paths]
        shared_files = self._shared_inputs()
        templates = self.template_dir()
        with self._lock:
            shared = any(p in shared_files or p.is_relative_to(templates) for p in paths)
            before = [e.id for e in self.entries]
            self.entries = self._scan()
            listing = [e.id for e in self.entries] != before
            ids = {
                e.id
                for e in self.entries
                for mine in {_own(e.path), e.path.resolve()}  # a link, and the file it points to
                if any(_belongs(p, mine) for p in own + paths)
            }
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
            cache.stamps.pop(path, None)
        cache.rendered = {k: v for k, v in cache.rendered.items() if k[0] not in paths}

    # Loading and rendering, cached

    def _refused(self, entry: Entry) -> InvalidInput | None:
        """Why this entry is not a newsletter file the preview reads, if it is not."""
        path = entry.path
        if path.is_symlink() and not path.exists():
            what, fix = "a link to a file that isn't there", "put the file back, or delete the link"
        elif path.is_dir():
            what, fix = "a directory, not a newsletter file", "put the newsletter file back, or rename the directory"
        elif not path.exists():
            what, fix = "the file is gone", "put it back"
        elif not any(path.resolve().is_relative_to(root) for root in self.roots):
            what = "a link to a file outside the project: the preview reads only the project's own files"
            fix = "copy the file into the project instead of linking to it"
        elif not path.is_file():
            what, fix = "not an ordinary file (a named pipe or a device)", "save the newsletter as an ordinary file"
        else:
            return None
        return _problem(entry, what, fix)

    def _fresh(self, entry: Entry) -> None:
        """Forget what was made of ``entry``'s file if it was saved since (the lock is held)."""
        stamp = _stamp(entry.path)
        if entry.path in self._cache.stamps and self._cache.stamps[entry.path] != stamp:
            self._forget({entry.path})
        self._cache.stamps.setdefault(entry.path, stamp)

    def _edition_work(self, entry: Entry) -> Work[Edition]:
        with self._lock:
            self._fresh(entry)
            work = self._cache.editions.get(entry.path)
            if work is None:
                work = self._cache.editions[entry.path] = Work(f"load {entry.id}", lambda: self._load(entry))
            return work

    def _load(self, entry: Entry) -> Edition:
        refused = self._refused(entry)
        if refused is not None:
            raise refused
        return _guarded(entry, lambda: variants.load_edition(entry.path))

    def _wait(self, work: Work[T], entry: Entry, patience: float | None = None) -> T:
        try:
            return work.result(self.patience if patience is None else patience)
        except TimeoutError:
            if not work.overdue:
                work.overdue = True
                # It runs on (Python can't stop a thread), with its CPU and memory, until it ends or the preview
                # stops: the terminal says so once.
                logger.warning("%s: still loading after %g s; the preview goes on without it", entry.id, self.patience)
            raise _problem(
                entry,
                f"still loading after {self.patience:g} seconds: the file may be too big, or nest or repeat itself too "
                "deeply (YAML aliases), or one of its inputs may not be an ordinary file",
                "fix it and save; the preview goes on showing the other newsletters",
            ) from None

    def edition(self, entry: Entry) -> Edition:
        return self._wait(self._edition_work(entry), entry)

    def _render_work(self, entry: Entry, key: VariantKey) -> Work[Rendered]:
        with self._lock:  # the edition and its rendering from the same cache: a save in between drops both
            self._fresh(entry)
            work = self._cache.rendered.get((entry.path, key))
            if work is None:
                loading = self._edition_work(entry)
                work = Work(
                    f"render {entry.id} {variant_id(key)}",
                    lambda: _guarded(entry, lambda: loading.result(None).render(key)),
                )
                self._cache.rendered[(entry.path, key)] = work
            return work

    def rendered(self, entry: Entry, key: VariantKey) -> Rendered:
        return self._wait(self._render_work(entry, key), entry)

    def problems(self, entry: Entry) -> list[Problem]:
        """What `actionmail check --no-spam` says about this newsletter: SpamAssassin takes seconds a run, too long
        to wait for after every save (and to start again on each)."""
        with self._lock:
            self._fresh(entry)
            work = self._cache.checks.get(entry.path)
            if work is None:
                # Not under the load's Work: check renders every variant, and the page's frames shouldn't wait.
                checking = Work(
                    f"check {entry.id}",
                    lambda: _guarded(entry, lambda: self._check(entry)),
                )
                work = self._cache.checks[entry.path] = checking
        return self._wait(work, entry)

    def _check(self, entry: Entry) -> list[Problem]:
        refused = self._refused(entry)
        return list(refused.problems) if refused else check.check_files([entry.path], spam_score=False)

    # What the page asks for

    def listing(self) -> list[dict[str, Any]]:
        entries = list(self.entries)
        loading = [self._edition_work(entry) for entry in entries]  # all at once: one slow file delays no other
        deadline = time.monotonic() + self.patience
        rows = []
        for entry, work in zip(entries, loading, strict=True):
            row: dict[str, Any] = {"id": entry.id, "name": entry.path.stem, "date": entry.date}
            try:
                done = work.wait(max(0.0, deadline - time.monotonic()))
                if not done and not work.overdue and work.running_for() < 2 * self.patience:
                    # Not yet, with many to load at once: the page asks again for the list. One that a view gave up
                    # on, or that is still at it when asked again, is "still loading", below.
                    row["subject"], row["loading"] = None, True
                    rows.append(row)
                    continue
                edition = self._wait(work, entry, 0.0)
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
        entry = self.entry(entry_id)
        edition = self.edition(entry)
        counts = _counts(edition)
        keys = all_keys(edition)
        rendering = [self._render_work(entry, key) for key in keys]
        rows = []
        for key, work in zip(keys, rendering, strict=True):
            self._wait(work, entry)  # a template mistake shows as the page's problem
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


def _own(path: Path) -> Path:
    """The absolute path of ``path`` itself: its directory resolved, but not the file, which may be a link."""
    return path.parent.resolve() / path.name


def _own_name(path: Path) -> str:
    """``path`` as the user would write it, a link named as itself (not what it points to)."""
    return str(Path(shown(path.parent)) / path.name)


def _problem(entry: Entry, what: str, fix: str, line: int | None = None) -> InvalidInput:
    # Named by the entry: a link's target (outside the project, or nowhere) is not for the page to show.
    return InvalidInput([Problem(entry.id, line, "", what, fix)])


def _guarded(entry: Entry, compute: Callable[[], T]) -> T:
    """``compute()``, with an exception it didn't mean to raise turned into the file's problem (and logged)."""
    try:
        return compute()
    except ActionmailError:
        raise
    except Exception as e:
        logger.exception("%s: could not load", entry.id)
        mark_line = getattr(getattr(e, "problem_mark", None), "line", None)  # YAML's errors know the line
        raise _problem(
            entry,
            f"could not load: {_describe(e)}",
            "fix what this points at and save; if the file looks right, this is a bug in actionmail: please report it",
            mark_line + 1 if isinstance(mark_line, int) else None,
        ) from None


def _describe(error: Exception) -> str:
    if isinstance(error, MemoryError):
        return "it needs more memory than there is (YAML aliases repeating a list inside itself?)"
    if isinstance(error, RecursionError):
        return "it nests too deeply"
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:300] + "…"


def _belongs(changed: Path, newsletter: Path) -> bool:
    """Is ``changed`` this newsletter's file or one of its translations (NAME.es.yaml)?"""
    if changed == newsletter:
        return True
    match = _TRANSLATION.match(changed.stem)
    return match is not None and changed.parent == newsletter.parent and match["base"] == newsletter.stem


def all_keys(edition: Edition) -> list[VariantKey]:
    """Every variant the edition has, whoever the members are: each language, each district and the unknown;
    with several district sets, each set's districts with the others unknown (:meth:`Edition.covering_keys`)."""
    return sorted(set(edition.covering_keys()), key=VariantKey.sort_key)


def variant_id(key: VariantKey) -> str:
    """``en:3``, and for another district set ``en:3:congress=7``."""
    return f"{key.language}:{key.district or ''}" + "".join(f":{name}={d or ''}" for name, d in key.others)


def parse_variant(edition: Edition, text: str | None) -> VariantKey:
    """``en:3`` → the district 3 variant in English; ``en::congress=7`` → the congressional district 7 one;
    nothing → the default language, district unknown."""
    language, _, rest = (text or "").partition(":")
    district, *others = rest.split(":")
    chosen = dict(part.partition("=")[::2] for part in others)
    key = edition.key(language or None, district or None, {k: v for k, v in chosen.items() if v})
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
    database = audience.database_location(project)
    if not db.exists(database):  # the preview reads members; it never creates a database
        raise UsageError(f"no subscriber database at {db.describe(database)}: import members first")
    with audience.Store.open(database) as store:
        member = store.get(email)
    if member is None:
        raise UsageError(f"{email}: no such member in {db.describe(database)}")
    return member


def _counts(edition: Edition) -> dict[VariantKey, int] | None:
    database = audience.database_location(edition.project)
    if not db.exists(database):
        return None
    with audience.Store.open(database) as store:
        return variants.plan_counts(edition, store.count_by_variant(None, other_sets=bool(edition.other_sets)))


def _secret_or_none() -> bytes | None:
    """The unsubscribe link signed as a send would sign it; the stand-in when there is no key yet."""
    try:
        return tokens.secret_key()
    except tokens.MissingSecret:
        return None
