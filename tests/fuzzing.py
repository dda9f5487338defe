"""A mutation corpus for the newsletter loader: damaged copies of the example newsletters, and a runner.

Each mutant starts from one of the examples in ``newsletters/`` and applies one to three mutations that people
and programs do to YAML files: byte flips, truncations, pasted control characters and non-characters, YAML tags
(hostile and merely wrong), values of the wrong type, deep nesting, anchors and aliases ("billion laughs"),
duplicated, deleted and re-indented lines, tabs and non-breaking spaces in indentation, curly quotes from a word
processor, an unclosed quote inside ``{…}``, and a splice of two examples. Everything is drawn from one
:class:`random.Random`, so a seed reproduces a mutant exactly; ``tests/test_fuzz_newsletters.py`` draws it from
Hypothesis, and the command below from plain seeds.

Every outcome must be a success or an :class:`~actionmail.errors.InvalidInput` (or ``UsageError``) whose every
problem names the file and a line in it; anything else (another exception, a problem without a line, a case
that runs past its time limit) is a failure. docs/fuzzing.md has the commands and the results of the large runs::

    python -m tests.fuzzing --cases 5000            # load, validate and render each mutant, in-process
    python -m tests.fuzzing --cases 200 --cli       # through `actionmail check` and `render`, one process each
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import faulthandler
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "newsletters").glob("*.yaml"))
TIME_LIMIT = 20  # seconds for one case: a good file loads and renders in well under one

# --- Mutations: each takes the text (as bytes) and the generator, and returns the damaged bytes ------------------

Mutation = Callable[[bytes, random.Random], bytes]

# What gets pasted into files: NUL, other C0 controls, DEL, C1 controls, non-characters, a BOM, line separators.
STRANGE_CHARACTERS = [
    "\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f", "\ufeff",
    "\ufffe", "\uffff", "\u2028", "\u2029", "\u200b", "\u00a0", "\u3000", "\U0010ffff", "\U0001f600", "\r",
]  # fmt: skip
# Escapes in double-quoted YAML make characters that the file itself cannot hold (a lone surrogate, NUL, CR LF).
ESCAPES = ["\\0", "\\x00", "\\e", "\\a", "\\ud800", "\\udfff", "\\uffff", "\\r\\nBcc: a@evil.example", "\\x85", "\\N",
           "\\L", "\\_", "\\U0010ffff", "\\x1b[31m"]  # fmt: skip
TAGS = [
    "!!python/name:os.system", "!!python/object/apply:os.system ['true']", "!!python/object:builtins.dict",
    "!!python/tuple", "!!float", "!!int", "!!bool", "!!null", "!!str", "!!timestamp", "!!binary", "!!set",
    "!!omap", "!!pairs", "!!map", "!!seq", "!!merge", "!!value", "!foo", "!", "!<tag:yaml.org,2002:int>",
    "!<tag:example.org,2002:thing>", "!!yaml",
]  # fmt: skip
TAGGED_VALUES = ["x", "garbage", "", "1", "1.5", "0x1F", "0b", "1_000", "2019-02-30", "maybe", "@@@", "AAAA",
                 "[1, 2]", "{a: 1}", "~", "1e999", "-.inf", ".nan", "12:30:00", "0o17", "+", "9" * 5000]  # fmt: skip
WRONG_VALUES = [
    "[]", "[1, 2]", "[[a]]", "{}", "{a: 1}", "{text: x}", "42", "-1", "0", "3.5", "1e400", ".nan", "-.inf", "true",
    "no", "off", "null", "~", "''", '""', "2019-01-01", "2019-02-30", "2019-01-01 10:00:00", "12:30", "0x1F",
    "1_000", "'20:00'", "25:99", "99 pm", "+1 206", "[text, url]", "{url: https://example.org}", "x" * 2000,
    "'{first_name'", "'{frist_name}'", "'{}'", "https://", "http://[::1", "'see {x|y} and {DISTRICT}'",
    "!!binary aGk=", "{? [a]: b}", "? complex", "|\n  block", ">-\n  folded", "'   '", "-", "&a x", "*a",
]  # fmt: skip
KEYS = ["date", "subject", "kind", "targets", "official", "group", "phones", "number", "url", "text", "time",
        "deadline", "events", "election", "survey", "choices", "script", "for", "language", "timezone", "link",
        "actions", "bonus", "day", "start", "end", "value", "label", "id", "hotline", "lookup", "message"]  # fmt: skip


def _lines(text: bytes) -> list[bytes]:
    return text.split(b"\n")


def _pick_line(lines: list[bytes], rng: random.Random) -> int:
    return rng.randrange(len(lines))


def flip_bytes(text: bytes, rng: random.Random) -> bytes:
    data = bytearray(text)
    for _ in range(rng.choice([1, 1, 2, 5, 20])):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def truncate(text: bytes, rng: random.Random) -> bytes:
    return text[: rng.randrange(len(text) + 1)]


def insert_character(text: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(text) + 1)
    return text[:at] + rng.choice(STRANGE_CHARACTERS).encode("utf-8") + text[at:]


def insert_invalid_utf8(text: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(text) + 1)
    junk = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"])
    return text[:at] + junk + text[at:]


def insert_escape(text: bytes, rng: random.Random) -> bytes:
    """A double-quoted value with an escape in it, in place of some line's value."""
    return _replace_value(text, rng, lambda _: f'"a{rng.choice(ESCAPES)}b"'.encode())


def add_tag(text: bytes, rng: random.Random) -> bytes:
    tag = rng.choice(TAGS)
    if rng.random() < 0.5:  # tag the value that is there
        return _replace_value(text, rng, lambda value: f"{tag} {value.decode('utf-8', 'replace')}".encode())
    return _replace_value(text, rng, lambda _: f"{tag} {rng.choice(TAGGED_VALUES)}".encode())


def wrong_type(text: bytes, rng: random.Random) -> bytes:
    return _replace_value(text, rng, lambda _: rng.choice(WRONG_VALUES).encode())


def deep_nesting(text: bytes, rng: random.Random) -> bytes:
    depth = rng.choice([10, 60, 200, 990, 1200, 100_000])
    shape = rng.choice(["flow-list", "flow-map", "block"])
    if shape == "flow-list":
        value = "[" * depth + "]" * depth
    elif shape == "flow-map":
        value = "{a: " * depth + "1" + "}" * depth
    else:
        depth = min(depth, 1200)
        value = "\n" + "".join(" " * (2 * i + 2) + "a:\n" for i in range(depth)) + " " * (2 * depth + 2) + "1"
    return _replace_value(text, rng, lambda _: value.encode())


def aliases(text: bytes, rng: random.Random) -> bytes:
    kind = rng.choice(["laughs", "laughs-map", "scalar", "undefined", "merge", "recursive", "key"])
    if kind in ("laughs", "laughs-map"):
        levels = rng.choice([3, 9, 12])
        items = ["lol0: &a0 [lol]"] if kind == "laughs" else ["lol0: &a0 {x: lol}"]
        for level in range(1, levels):
            refs = ", ".join([f"*a{level - 1}"] * 9)
            items.append(f"lol{level}: &a{level} [{refs}]")
        block = "\n".join(items) + "\n"
        if rng.random() < 0.5:
            return block.encode() + text  # as unknown top-level keys
        return _replace_value(text, rng, lambda _: ("\n  " + block.replace("\n", "\n  ")).rstrip().encode())
    if kind == "scalar":
        return _replace_value(text, rng, lambda value: b"&s " + value) + b"\nextra: *s\n"
    if kind == "undefined":
        return _replace_value(text, rng, lambda _: b"*nowhere")
    if kind == "merge":
        return b"base: &base {kind: call, title: x}\n" + _replace_value(text, rng, lambda _: b"{<<: *base}")
    if kind == "recursive":
        return _replace_value(text, rng, lambda _: b"&r [1, *r]")
    return _replace_value(text, rng, lambda _: b"{&k [a]: 1, *k : 2}")


def duplicate_line(text: bytes, rng: random.Random) -> bytes:
    lines = _lines(text)
    at = _pick_line(lines, rng)
    return b"\n".join([*lines[: at + 1], *[lines[at]] * rng.choice([1, 1, 2, 50]), *lines[at + 1 :]])


def delete_lines(text: bytes, rng: random.Random) -> bytes:
    lines = _lines(text)
    at = _pick_line(lines, rng)
    return b"\n".join(lines[:at] + lines[at + rng.choice([1, 1, 2, 5]) :])


def swap_lines(text: bytes, rng: random.Random) -> bytes:
    lines = _lines(text)
    a, b = _pick_line(lines, rng), _pick_line(lines, rng)
    lines[a], lines[b] = lines[b], lines[a]
    return b"\n".join(lines)


def reindent(text: bytes, rng: random.Random) -> bytes:
    lines = _lines(text)
    at = _pick_line(lines, rng)
    indent = rng.choice([b" ", b"  ", b"    ", b"\t", b"  \t", b"\xc2\xa0", b"\xc2\xa0\xc2\xa0", b"\xe3\x80\x80"])
    if rng.random() < 0.3:
        lines[at] = lines[at].lstrip(b" ")
    elif rng.random() < 0.5:
        lines[at] = indent + lines[at]
    else:  # replace the indentation itself, as an editor or a paste does
        stripped = lines[at].lstrip(b" ")
        lines[at] = indent * ((len(lines[at]) - len(stripped)) // 2 or 1) + stripped
    return b"\n".join(lines)


def curly_quotes(text: bytes, rng: random.Random) -> bytes:
    """What a word processor does to quotes: straight quotes become curly, or a value gets curly quotes."""
    if rng.random() < 0.5 and (b'"' in text or b"'" in text):
        table = {b'"': [b"\xe2\x80\x9c", b"\xe2\x80\x9d"], b"'": [b"\xe2\x80\x98", b"\xe2\x80\x99"]}
        out = bytearray()
        for char in text:
            options = table.get(bytes([char]))
            out += rng.choice(options) if options and rng.random() < 0.7 else bytes([char])
        return bytes(out)
    return _replace_value(text, rng, lambda value: "“".encode() + value + "”".encode())


def unclosed_flow_quote(text: bytes, rng: random.Random) -> bytes:
    """A quote opened inside ``{…}`` and never closed, on a line that has a flow mapping, or on a new one."""
    lines = _lines(text)
    flows = [i for i, line in enumerate(lines) if b"{" in line and b": " in line]
    if flows and rng.random() < 0.8:
        at = rng.choice(flows)
        line = lines[at]
        colons = [m.end() for m in re.finditer(rb": ", line[line.index(b"{") :])]
        cut = line.index(b"{") + rng.choice(colons) if colons else len(line)
        lines[at] = line[:cut] + rng.choice([b'"', b"'"]) + line[cut:]
        return b"\n".join(lines)
    return _replace_value(text, rng, lambda _: b'{text: "Read the coverage, url: https://example.org/x}')


def splice(text: bytes, rng: random.Random) -> bytes:
    other = _lines(rng.choice(EXAMPLES).read_bytes())
    lines = _lines(text)
    return b"\n".join(lines[: _pick_line(lines, rng)] + other[_pick_line(other, rng) :])


def shuffle_keys(text: bytes, rng: random.Random) -> bytes:
    """A key misspelt or swapped for another that exists elsewhere in the format."""
    lines = _lines(text)
    keyed = [i for i, line in enumerate(lines) if re.match(rb"^\s*(- )?[a-z_]+:", line)]
    if not keyed:
        return text
    at = rng.choice(keyed)
    lines[at] = re.sub(rb"[a-z_]+:", rng.choice(KEYS).encode() + b":", lines[at], count=1)
    return b"\n".join(lines)


def document_markers(text: bytes, rng: random.Random) -> bytes:
    marker = rng.choice([b"---\n", b"...\n", b"--- |\n", b"%YAML 1.1\n---\n", b"%YAML 9.9\n---\n", b"%TAG ! x\n"])
    if rng.random() < 0.5:
        return marker + text
    lines = _lines(text)
    at = _pick_line(lines, rng)
    return b"\n".join([*lines[:at], marker.rstrip(b"\n"), *lines[at:]])


# Values of every type YAML can make, for :func:`retype`.
ODD_VALUES: list[object] = [
    [], [1, 2], [[["deep"]]], {}, {"a": 1}, {"text": "x"}, {"url": "https://example.org"}, {"official": ["x"]},
    {"group": {"a": 1}}, {"lookup": 3}, {"hotline": None}, 42, -1, 0, 3.5, float("nan"), float("inf"), True, False,
    None, "", " ", "x", "durkan", "20:00", "8 pm", "https://example.org", dt.date(2019, 1, 1),
    dt.datetime(2019, 8, 1, 10, 0), dt.date(1900, 1, 1), dt.date(2999, 12, 31), b"bytes", 10**30, [None], [{}],
    {"date": "x"}, {"1": 2}, {3: 4}, "{first_name}", "{nope}", "+1 206 684 4000", "a\nb",
]  # fmt: skip


def retype(text: bytes, rng: random.Random) -> bytes:
    """A value somewhere in the tree replaced by one of another type, or by another part of the tree."""
    try:
        data = yaml.load(text.decode("utf-8"), Loader=yaml.CSafeLoader)
    except Exception:  # PyYAML's own loader fails in many ways on a mutant: then mutate the text instead
        return wrong_type(text, rng)
    places: list[tuple[dict[object, object] | list[object], object]] = []

    def walk(node: object, depth: int) -> None:
        if depth > 30 or len(places) > 10_000:  # a mutant nested thousands deep, or a billion laughs
            return
        if isinstance(node, dict):
            for key, value in node.items():
                places.append((node, key))
                walk(value, depth + 1)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                places.append((node, index))
                walk(value, depth + 1)

    walk(data, 0)
    if not places:
        return wrong_type(text, rng)
    for _ in range(rng.choice([1, 1, 2, 4])):
        container, key = rng.choice(places)
        if rng.random() < 0.3:
            donor, donor_key = rng.choice(places)
            new = copy.deepcopy(donor[donor_key])  # type: ignore[index]
        else:
            new = copy.deepcopy(rng.choice(ODD_VALUES))
        container[key] = new  # type: ignore[index]
    try:
        dumped: str = yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=200)
    except (yaml.YAMLError, RecursionError):
        return wrong_type(text, rng)
    return dumped.encode("utf-8")


def _replace_value(text: bytes, rng: random.Random, new: Callable[[bytes], bytes]) -> bytes:
    """Replace the value of a random ``key: value`` line (or a list item) with ``new(old value)``."""
    lines = _lines(text)
    candidates = [i for i, line in enumerate(lines) if re.match(rb"^\s*(- )?([A-Za-z_]+: |- )\S", line)]
    if not candidates:
        return text + b"\nextra: " + new(b"x")
    at = rng.choice(candidates)
    m = re.match(rb"^(\s*(?:- )?(?:[A-Za-z_]+: |- ))(.*)$", lines[at])
    assert m is not None
    lines[at] = m[1] + new(m[2])
    return b"\n".join(lines)


MUTATIONS: list[Mutation] = [
    flip_bytes, truncate, insert_character, insert_invalid_utf8, insert_escape, add_tag, wrong_type, deep_nesting,
    aliases, duplicate_line, delete_lines, swap_lines, reindent, curly_quotes, unclosed_flow_quote, splice,
    shuffle_keys, document_markers, retype, retype, retype,
]  # fmt: skip


def mutant(rng: random.Random) -> tuple[str, bytes]:
    """One damaged copy of an example: (what was done to it, the bytes)."""
    example = rng.choice(EXAMPLES)
    text = example.read_bytes()
    done = [example.stem[:10]]
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        mutation = rng.choice(MUTATIONS)
        text = mutation(text, rng)
        done.append(mutation.__name__)
    return " + ".join(done), text


def officials_mutant(rng: random.Random) -> tuple[str, bytes]:
    """A damaged copy of the example officials.yaml, by the same mutations (it is read by the same loader)."""
    text = (ROOT / "officials.yaml").read_bytes()
    done = ["officials"]
    for _ in range(rng.choice([1, 1, 2])):
        mutation = rng.choice(MUTATIONS)
        text = mutation(text, rng)
        done.append(mutation.__name__)
    return " + ".join(done), text


# For actionmail.toml: values of every TOML type, and keys that are secrets, unknown, or tables.
TOML_VALUES = [
    b"3", b"-1", b"1.5", b"true", b'"x"', b'""', b"[]", b"[1, 2]", b"{}", b"{a = 1}", b"1979-05-27", b"07:32:00",
    b"inf", b"nan", b'"#zzz"', b"[[1]]", b'"' + b"x" * 500 + b'"', b"[" * 500 + b"]" * 500,
    b"{a = " * 300 + b"1" + b"}" * 300, b'"key-' + b"0" * 32 + b'"', b'"mailgunn"', b'"smtp"', b'"\\u0000"',
]  # fmt: skip
TOML_KEYS = [
    b"api-key", b"sendgrid_api_key_value", b"password", b"name", b"providers", b"social", b"logo", b"provider",
    b"port", b"colors.brand", b"a.b.c", b"[providers.x]", b"[providers]", b"[providers.mailgun]", b"[providers.smtp]",
    b"[[social]]", b"[send]", b"[organization.logo]", b"[oroviders.mailgun]",
]  # fmt: skip
SETTINGS_BASE = (ROOT / "actionmail.toml").read_bytes() + (
    b'\n[providers.mailgun]\ndomain = "mg.example.org"\n\n[providers.smtp]\nhost = "smtp.example.org"\nport = 587\n'
)


def settings_mutant(rng: random.Random) -> tuple[str, bytes]:
    """A damaged copy of the example actionmail.toml (with two provider sections)."""
    text = SETTINGS_BASE
    done = ["settings"]
    for _ in range(rng.choice([1, 1, 2, 3])):
        lines = text.split(b"\n")
        at = rng.randrange(len(lines))
        kind = rng.choice(["value", "key", "delete", "duplicate", "flip", "character"])
        if kind == "value" and b"=" in lines[at]:
            lines[at] = lines[at].split(b"=")[0] + b"= " + rng.choice(TOML_VALUES)
        elif kind == "key":
            key = rng.choice(TOML_KEYS)
            lines.insert(at, key if key.startswith(b"[") else key + b" = " + rng.choice(TOML_VALUES))
        elif kind == "delete":
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, lines[at])
        text = b"\n".join(lines)
        if kind == "flip":
            text = flip_bytes(text, rng)
        elif kind == "character":
            text = insert_character(text, rng)
        done.append(kind)
    return " + ".join(done), text


# --- Running one case ---------------------------------------------------------------------------------------------


class Hang(Exception):
    """A case ran past :data:`TIME_LIMIT`."""


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise :class:`Hang` in this (main) thread after ``seconds``; Python code is interrupted wherever it is."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    kind: str  # "ok", "invalid" (a clean InvalidInput/UsageError), or "failure"
    detail: str = ""


def make_project(directory: Path) -> Path:
    """The example project's settings and officials in ``directory``, with a newsletters/ folder to fill."""
    shutil.copy(ROOT / "actionmail.toml", directory)
    shutil.copy(ROOT / "officials.yaml", directory)
    (directory / "newsletters").mkdir(exist_ok=True)
    return directory / "newsletters"


def run_case(path: Path, data: bytes, *, render: bool = True, newsletter: Path | None = None) -> Outcome:
    """Write ``data`` to ``path`` and load ``newsletter`` (by default ``path`` itself) as `actionmail check` and
    `render` do; classify what happened. ``path`` may be the project's officials.yaml or actionmail.toml."""
    from actionmail import check, variants
    from actionmail.errors import InvalidInput, UsageError, shown

    path.write_bytes(data)
    line_count = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1  # as editors count
    try:
        with time_limit(TIME_LIMIT):
            edition = variants.load_edition(newsletter or path)
            if render:
                for language in edition.newsletters:
                    rendered = edition.render(variants.VariantKey(language, None))
                    rendered.html.encode("utf-8")  # what writing it out does: a lone surrogate fails here
                    rendered.text.encode("utf-8")
                # What `actionmail check` does with a file that loads: every check, on every variant.
                for problem in check.check_files([newsletter or path], spam_score=False):
                    str(problem).encode("utf-8")
    except (InvalidInput, UsageError) as e:
        problems = getattr(e, "problems", None)
        if problems is None:
            return Outcome("failure", f"UsageError for a file: {e}")
        for problem in problems:
            # A damaged officials.yaml may leave the newsletter naming someone no longer in it: that's its problem.
            if problem.file not in (shown(path), shown(newsletter or path)):
                return Outcome("failure", f"a problem in another file: {problem}")
            too_big = len(data) > _size_limit()  # refused before it is read: no line to point at
            last = line_count if problem.file == shown(path) else 1 << 30
            if data.strip() and not too_big and not (problem.line and 1 <= problem.line <= last):
                return Outcome("failure", f"a problem without a line in the file: {problem}")
            if "Traceback" in str(problem) or not problem.what:
                return Outcome("failure", f"a problem that says nothing: {problem!r}")
        return Outcome("invalid", str(e))
    except Hang as e:
        return Outcome("failure", f"hang: {e}")
    except BaseException as e:  # anything else is exactly what the fuzzer looks for
        if isinstance(e, KeyboardInterrupt):
            raise
        return Outcome("failure", "".join(traceback.format_exception(e)[-6:]))
    return Outcome("ok")


def _size_limit() -> int:
    """The largest file actionmail reads: a larger one is refused whole, with no line to point at."""
    try:
        from actionmail.syntax import MAX_BYTES
    except ImportError:  # code from before the size limit: this runs against it too, to show what it finds there
        return 1 << 62
    return MAX_BYTES


def _source() -> str:
    """Where the actionmail being tested comes from (this checkout's src/, or another one on PYTHONPATH)."""
    import actionmail

    return str(Path(actionmail.__file__).resolve().parents[1])


def run_cli(project: Path, path: Path, data: bytes | None) -> Outcome:
    """`actionmail check FILE` and `actionmail render FILE`, each in a process of its own, as a user runs them.

    ``data`` is written to ``path`` first, unless it is None (when the damaged file is another of the project's).
    """
    if data is not None:
        path.write_bytes(data)
    relative = str(path.relative_to(project))
    # A problem in the newsletter has its line; one in the settings may be about a key left out, which has none.
    where = rf"{re.escape(relative)}:\d+|officials\.yaml:\d+|actionmail\.toml(:\d+)?"
    if data is not None and len(data) > _size_limit():
        where += f"|{re.escape(relative)}"
    for args in (["check", "--no-spam", relative], ["render", relative, "-o", "out.html"]):
        try:
            result = subprocess.run(
                [sys.executable, "-m", "actionmail", *args],
                cwd=project,
                capture_output=True,
                timeout=TIME_LIMIT * 3,
                env={"PYTHONPATH": _source(), "PATH": "/usr/bin:/bin", "HOME": str(project)},
            )
        except subprocess.TimeoutExpired:
            return Outcome("failure", f"actionmail {' '.join(args)}: hang")
        stderr = result.stderr.decode("utf-8", "replace")
        if result.returncode not in (0, 2) or "Traceback" in stderr:
            return Outcome("failure", f"actionmail {' '.join(args)}: exit {result.returncode}\n{stderr[-2000:]}")
        if result.returncode == 2 and not re.search(rf"^({where}): ", stderr, re.MULTILINE):
            return Outcome("failure", f"actionmail {' '.join(args)}: exit 2 without FILE:LINE:\n{stderr[-2000:]}")
    return Outcome("ok")


MUTANTS = {"newsletter": mutant, "officials": officials_mutant, "settings": settings_mutant}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzzing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=500, help="How many mutants (default 500).")
    parser.add_argument("--seed", type=int, default=0, help="The first seed; case N uses seed+N.")
    parser.add_argument("--file", choices=list(MUTANTS), default="newsletter", help="Which file to damage.")
    parser.add_argument("--cli", action="store_true", help="Run `actionmail check` and `render` on each instead.")
    parser.add_argument("--no-render", action="store_true", help="Only load and validate, without rendering.")
    parser.add_argument("--keep", type=Path, help="Copy each failing mutant into this directory.")
    parser.add_argument("--verbose", action="store_true", help="Print every case's outcome.")
    args = parser.parse_args(argv)
    # A hang in C code, where the alarm cannot interrupt it, still ends the run with a stack trace.
    faulthandler.enable()
    counts = {"ok": 0, "invalid": 0, "failure": 0}
    failures: list[tuple[int, str, str]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as directory:
        project = Path(directory)
        newsletters = make_project(project)
        example = newsletters / "example.yaml"
        shutil.copy(EXAMPLES[0], example)
        with contextlib.chdir(directory):
            for number in range(args.seed, args.seed + args.cases):
                what, data = MUTANTS[args.file](random.Random(number))
                path = {"officials": project / "officials.yaml", "settings": project / "actionmail.toml"}.get(
                    args.file, newsletters / f"case-{number}.yaml"
                )
                faulthandler.dump_traceback_later(TIME_LIMIT * 4, exit=True)
                if args.cli:
                    if args.file != "newsletter":
                        path.write_bytes(data)
                    outcome = run_cli(project, *((path, data) if args.file == "newsletter" else (example, None)))
                else:
                    newsletter = example if args.file != "newsletter" else None
                    outcome = run_case(path, data, render=not args.no_render, newsletter=newsletter)
                faulthandler.cancel_dump_traceback_later()
                counts[outcome.kind] += 1
                if args.verbose:
                    print(f"seed {number}: {what}: {outcome.kind}: {outcome.detail.splitlines()[:1]}", flush=True)
                if outcome.kind == "failure":
                    failures.append((number, what, outcome.detail))
                    print(f"FAILED seed {number} ({what}):\n{outcome.detail}\n", flush=True)
                    if args.keep:
                        args.keep.mkdir(parents=True, exist_ok=True)
                        (args.keep / f"case-{number}{path.suffix}").write_bytes(data)
                if args.file == "newsletter":
                    path.unlink(missing_ok=True)
    elapsed = time.monotonic() - started
    print(
        f"{args.cases} {args.file} cases (seeds {args.seed}–{args.seed + args.cases - 1}) in {elapsed:.0f} s: "
        + (
            f"{counts['ok']} exited 0, or 2 with FILE:LINE messages, "
            if args.cli
            else f"{counts['ok']} loaded, {counts['invalid']} refused with FILE:LINE problems, "
        )
        + f"{counts['failure']} failures"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
