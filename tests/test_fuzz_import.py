"""Fuzzing `subscribers import` with damaged copies of sample/members.csv.

Each case takes the sample's header and first rows, damages one to three lines (truncation, binary, NULs, control
characters, quotes, a huge cell, byte order marks, a line in Windows-1252, a deleted byte, a duplicated line, a
line of random text) or the whole file's line ends (CR only, CRLF), and imports it into a new database. Whatever
the damage:

- no exception but the clear errors a bad header gets (InvalidInput or UsageError, with FILE:LINE);
- 0 good rows lost: every row the damage did not touch is imported, exactly as from the undamaged file;
- every touched row that was not imported is reported (a problem on its line or on an earlier damaged one).

A bounded number of cases runs with the suite; more on demand (docs/fuzzing-import.md):

    ACTIONMAIL_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest -q tests/test_fuzz_import.py
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actionmail.audience import Store
from actionmail.audience.model import email_key
from actionmail.errors import InvalidInput, UsageError
from tests.conftest import ROOT, Databases

SAMPLE = ROOT / "sample" / "members.csv"
ROWS = 25
DISTRICTS = [str(n) for n in range(1, 8)]
EXAMPLES = int(os.environ.get("ACTIONMAIL_FUZZ_EXAMPLES", "60"))
KINDS = [
    "truncate",
    "binary",
    "nul",
    "control",
    "quote",
    "huge",
    "bom",
    "cp1252",
    "delete",
    "duplicate",
    "text",
    "cr",
    "crlf",
]
_BREAK = re.compile(rb"\r\n|\r|\n")


class Damaged:
    """A damaged copy of the sample's first rows (a plain class: Hypothesis prints dataclasses whole, and a
    huge cell is 140 kB)."""

    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines  # the file's lines, without their ends
        self.origin: list[int | None] = list(range(len(lines)))  # each line's sample row (0 the header), or None
        self.touched: set[int] = set()  # sample rows the damage touched (or cut off)
        self.ending = b"\n"
        self.kinds: list[str] = []

    def __repr__(self) -> str:  # the damaged lines only, cut short: a huge cell is 140 kB
        base = _base()
        changed = [
            (i, line[:300]) for i, (line, row) in enumerate(zip(self.lines, self.origin, strict=True))
            if row is None or base[row] != line
        ]  # fmt: skip
        return f"Damaged(kinds={self.kinds}, ending={self.ending!r}, touched={sorted(self.touched)}, changed={changed})"

    def data(self) -> bytes:
        return self.ending.join(self.lines) + self.ending

    def start_lines(self) -> list[int]:
        """The line number each of ``lines`` starts on, counted as the importer counts (CR, LF and CRLF)."""
        numbers, count = [], 1
        for line in self.lines:
            numbers.append(count)
            count += len(_BREAK.findall(line + self.ending))
        return numbers


def _base() -> list[bytes]:
    return SAMPLE.read_bytes().split(b"\n")[: ROWS + 1]


@st.composite
def damaged(draw: st.DrawFn) -> Damaged:
    lines = _base()
    case = Damaged(list(lines))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(KINDS))
        case.kinds.append(kind)
        i = draw(st.integers(0, len(case.lines) - 1))
        line = case.lines[i]
        at = draw(st.integers(0, len(line)))
        insert = {
            "binary": lambda: draw(st.binary(min_size=1, max_size=8)),
            "nul": lambda: b"\x00",
            "control": lambda: draw(st.sampled_from(["\x01", "\x0b", "\x1b", "\x7f", "\x85", "\u2028", "\t"])).encode(),
            "quote": lambda: b'"',
            "huge": lambda: b"x" * 140_000,
            "bom": lambda: "\ufeff".encode(),
        }
        if kind in insert:
            case.lines[i] = line[:at] + insert[kind]() + line[at:]
        elif kind == "cp1252":
            case.lines[i] = line.decode("utf-8", "replace").encode("cp1252", "replace")
        elif kind == "delete" and line:
            at = min(at, len(line) - 1)
            case.lines[i] = line[:at] + line[at + 1 :]
        elif kind == "duplicate":
            case.lines.insert(i + 1, line)
            case.origin.insert(i + 1, None)
            continue
        elif kind == "text":
            case.lines.insert(i, draw(st.text(max_size=40)).encode("utf-8", "surrogatepass"))
            case.origin.insert(i, None)
            if i == 0:
                case.touched.add(0)  # a line before the header is read as the header
            continue
        elif kind == "truncate":
            case.lines[i] = line[:at]
            for later in case.origin[i + 1 :]:
                if later is not None:
                    case.touched.add(later)
            del case.lines[i + 1 :], case.origin[i + 1 :]
        elif kind in ("cr", "crlf"):
            case.ending = b"\r" if kind == "cr" else b"\r\n"
            continue
        if case.origin[i] is not None:
            case.touched.add(case.origin[i])  # type: ignore[arg-type]
    return case


Member = tuple[object, ...]


def _blank(line: bytes) -> bool:
    """A line the importer skips without a word, rightly: nothing in it, or only empty cells ('""', ',,')."""
    try:
        cells = next(csv.reader([line.decode("utf-8", "replace")]), [])
    except csv.Error:  # a cell over the size limit
        return False
    return not any(cell.strip() for cell in cells)


def _members(store: Store) -> dict[str, Member]:
    return {
        email_key(m.email): (m.email, m.first_name, m.last_name, m.district, m.zip, m.language, m.tags, dict(m.fields))
        for m in store.everyone()
    }


_EXPECTED: list[tuple[dict[str, Member], list[str]]] = []


def _expected(databases: Databases) -> tuple[dict[str, Member], list[str]]:
    """What the undamaged rows import as, and each row's key (by sample row number, 1 the first)."""
    if not _EXPECTED:
        _EXPECTED.append(_import_undamaged(databases))
    return _EXPECTED[0]


def _import_undamaged(databases: Databases) -> tuple[dict[str, Member], list[str]]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "members.csv"
        path.write_bytes(b"\n".join(_base()) + b"\n")
        with databases.new(Path(directory) / "clean.db") as clean, Store.open(clean) as store:
            report = store.import_csv(path, known_districts=DISTRICTS)
            assert report.skipped == 0 and not report.problems
            members = _members(store)
    keys = ["", *(email_key(row[0]) for row in csv.reader(line.decode() for line in _base()[1:]))]
    return members, keys


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # `databases` makes a new database for each example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(case=damaged())
def test_damaged_imports_lose_no_good_row(databases: Databases, case: Damaged) -> None:
    expected, keys = _expected(databases)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "members.csv"
        path.write_bytes(case.data())
        with databases.new(Path(directory) / "fuzz.db") as fuzzed, Store.open(fuzzed) as store:
            try:
                report = store.import_csv(path, known_districts=DISTRICTS)
            except (InvalidInput, UsageError) as e:
                # Only a damaged header stops the whole import, and then with FILE:LINE.
                assert 0 in case.touched, (case.kinds, str(e))
                assert re.match(r"(\S*members\.csv:\d+: |--map)", str(e)), str(e)  # the header's line
                return
            got = _members(store)
    if 0 in case.touched:
        return  # the columns may have moved: only "no traceback" holds
    problem_lines = sorted(p.line for p in report.problems if p.line)
    starts = case.start_lines()
    touched_starts = [starts[i] for i, row in enumerate(case.origin) if row in case.touched or row is None]
    for index, row in enumerate(case.origin):
        if row is None or row == 0 or _blank(case.lines[index]):
            continue  # an inserted line, the header, or a row the damage blanked out
        key = keys[row]
        if row not in case.touched:
            assert got.get(key) == expected[key], (case.kinds, row, report.problems)
        elif key not in got:
            # Not imported under its address: reported, or imported under the address the damage made of it.
            end = starts[index] + len(_BREAK.findall(case.lines[index]))
            first = min(touched_starts, default=starts[index])
            reported = any(first <= line <= end for line in problem_lines)
            text = case.lines[index].decode("utf-8", "replace").casefold()
            renamed = any(str(member[0]).casefold() in text for other, member in got.items() if other not in expected)
            assert reported or renamed, (case.kinds, row, report.problems)
