"""Fuzz: mutated copies of the example newsletters, each saved over the one the real preview server shows; every
answer is the newsletter or its problems (never a traceback), and the server goes on answering.

A bounded run in the suite (``PREVIEW_FUZZ_CASES``, default 60, seeded, so a failure repeats); a large run on
demand, e.g. ``PREVIEW_FUZZ_CASES=5000 pytest tests/preview/test_preview_fuzz.py -s``, which prints what the
loader made of the cases (docs/preview.md has a run's result).
"""

from __future__ import annotations

import collections
import os
import random
from collections.abc import Callable
from pathlib import Path

import requests

from actionmail.preview import PreviewServer
from tests.conftest import EXAMPLES
from tests.preview.conftest import OTHER_ID, SEED_ID, base, cookies

CASES = int(os.environ.get("PREVIEW_FUZZ_CASES", "60"))
SEED = int(os.environ.get("PREVIEW_FUZZ_SEED", "10"))

Mutation = Callable[[random.Random, bytes], bytes]


def _at(rng: random.Random, data: bytes) -> int:
    return rng.randrange(len(data) + 1)


def _insert(piece: bytes) -> Mutation:
    return lambda rng, data: (lambda i: data[:i] + piece + data[i:])(_at(rng, data))


def _line_start(rng: random.Random, data: bytes) -> int:
    starts = [0] + [i + 1 for i, byte in enumerate(data) if byte == 0x0A]
    return rng.choice(starts)


MUTATIONS: dict[str, Mutation] = {
    "flip a byte": lambda rng, data: (lambda i: data[:i] + bytes([rng.randrange(256)]) + data[i + 1 :])(
        rng.randrange(len(data))
    ),
    "truncate": lambda rng, data: data[: _at(rng, data)],
    "NUL": _insert(b"\x00"),
    "control character": _insert(b"\x1b"),
    "U+FFFF": _insert("\uffff".encode()),
    "curly quote": _insert("\u201c".encode()),
    "no-break space": lambda rng, data: (lambda i: data[:i] + "\u00a0\u00a0".encode() + data[i:])(
        _line_start(rng, data)
    ),
    "tab indent": lambda rng, data: (lambda i: data[:i] + b"\t" + data[i:])(_line_start(rng, data)),
    "python tag": _insert(b" !!python/name:os.system "),
    "float tag": _insert(b" !!float x "),
    "timestamp tag": _insert(b" !!timestamp garbage "),
    "anchor and alias": lambda rng, data: _insert(b" &a ")(rng, _insert(b" *a ")(rng, data)),
    "deep nesting": _insert(b"[" * 1200),
    "open brace": _insert(b"{a: 'b, "),
    "duplicate a line": lambda rng, data: (lambda lines, i: b"\n".join(lines[: i + 1] + lines[i:]))(
        data.split(b"\n"), rng.randrange(data.count(b"\n") + 1)
    ),
    "drop a line": lambda rng, data: (lambda lines, i: b"\n".join(lines[:i] + lines[i + 1 :]))(
        data.split(b"\n"), rng.randrange(data.count(b"\n") + 1)
    ),
    "a list for a value": lambda rng, data: data.replace(b": ", b": [1, {a: 2}] #", 1 + rng.randrange(3)),
}


def mutate(rng: random.Random, data: bytes) -> tuple[list[str], bytes]:
    names = rng.sample(sorted(MUTATIONS), rng.choice([1, 1, 2, 3]))
    for name in names:
        data = MUTATIONS[name](rng, data)
    return names, data


def test_no_mutated_newsletter_stops_the_preview(server: PreviewServer) -> None:
    rng = random.Random(SEED)
    originals = [path.read_bytes() for path in EXAMPLES]
    path = Path(SEED_ID)
    outcomes: collections.Counter[str] = collections.Counter()
    with requests.Session() as browser:
        browser.cookies.update(cookies(server))
        for case in range(CASES):
            names, data = mutate(rng, rng.choice(originals))
            path.write_bytes(data)
            server.saved([path.resolve()])  # at once, rather than when the watcher notices
            answer = browser.get(base(server) + "/api/view", params={"id": SEED_ID}, timeout=60)
            where = f"case {case} ({', '.join(names)}): {answer.status_code} {answer.text[:300]}"
            assert answer.status_code in (200, 422), where
            assert "Traceback" not in answer.text and 'File "' not in answer.text, where
            if answer.status_code == 422:
                problems = answer.json()["problems"]
                assert problems and all(p["text"].startswith(SEED_ID) for p in problems), where
                texts = " ".join(p["text"] for p in problems)
                kind = next((k for k in ("still loading", "could not load") if k in texts), "problems shown")
            else:
                kind = "shown"
            outcomes[kind] += 1
            assert browser.get(base(server) + "/api/newsletters", timeout=60).status_code == 200, where
        assert browser.get(base(server) + "/api/view", params={"id": OTHER_ID}, timeout=60).status_code == 200
    print(f"\n{CASES} mutated newsletters (seed {SEED}): {dict(outcomes)}")
