"""A CSV file's records with the physical lines each came from, so that damage costs only the damaged rows.

``csv.reader`` alone loses too much: one unclosed quote makes the rest of the file a single cell, one cell over
its size limit or one line in another encoding stopped the whole import. Here the lines the reader consumes are
numbered and kept per record, so that:

- a line that is not UTF-8 is reported and left out, and the rest of the file is read;
- a cell over the size limit costs its row only;
- a quote that never closes, or closes only after taking in lines that are rows of their own, is reported on
  the line where it opened, that row is not imported, and the lines it took in are read again as rows.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

# A byte that is not UTF-8 arrives as a lone surrogate (the file is read with errors="surrogateescape").
_UNDECODABLE = re.compile(r"[\udc80-\udcff]")
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

Line = tuple[int, str]  # (line number, text)


@dataclass(slots=True)  # not frozen: one is made per row, and a frozen one takes four times as long
class Record:
    """One record: its cells and the lines they came from."""

    cells: list[str]
    lines: list[Line]

    @property
    def line(self) -> int:
        return self.lines[0][0]


@dataclass(frozen=True, slots=True)
class Damage:
    """Lines that could not be read as a row: ``what`` went wrong at ``line``."""

    line: int
    what: str
    fix: str


class _Lines:
    """The lines ``csv.reader`` reads: numbered, those of the current record kept, lines can be read again."""

    def __init__(self, source: Iterator[str], number: int) -> None:
        self._source = source
        self._again: list[Line] = []  # lines to read again, the next one last
        self.number = number  # of the last line read from the file
        self.record: list[Line] = []
        self.undecodable: list[Line] = []
        self.ended = False  # the file ran out: a record that ends so ended inside a quoted cell

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        while True:
            if self._again:
                line = self._again.pop()
            else:
                text = next(self._source, None)
                if text is None:
                    self.ended = True
                    raise StopIteration
                self.number += 1
                line = (self.number, text)
            if not line[1].isascii() and _UNDECODABLE.search(line[1]):
                self.undecodable.append(line)
                continue
            self.record.append(line)
            return line[1]

    def again(self, lines: list[Line]) -> None:
        self._again.extend(reversed(lines))
        self.ended = False


def records(f: TextIO, dialect: type[csv.Dialect], skip: int, email_column: int) -> Iterator[Record | Damage]:
    """The records of ``f`` after its first ``skip`` lines, and what could not be read (in file order, near
    enough: a line left out is reported after the record it interrupted)."""
    lines = _Lines(iter(f), 0)
    for _ in range(skip):
        next(lines, None)
    reader = csv.reader(lines, dialect)
    while True:
        lines.record = []
        try:
            cells = next(reader)
        except StopIteration:
            yield from _undecodable(lines)
            return
        except csv.Error as e:
            yield from _undecodable(lines)
            if lines.record:
                yield _unreadable(lines.record[0][0], e)
            continue
        if lines.undecodable:
            yield from _undecodable(lines)
        if not lines.record:
            continue
        if lines.ended or len(lines.record) > 1:
            damage = _quote_damage(lines.record, lines.ended, dialect, email_column)
            if damage is not None:
                yield damage
                lines.again(lines.record[1:])
                continue
        yield Record(cells, lines.record)


def _undecodable(lines: _Lines) -> Iterator[Damage]:
    for number, text in lines.undecodable:
        at = _UNDECODABLE.search(text)
        assert at is not None
        yield Damage(
            number,
            f"not UTF-8 text (byte 0x{ord(at[0]) - 0xDC00:02x} at character {at.start() + 1}; the file was probably "
            "saved as Windows-1252 or Latin-1), so this row was not imported",
            "save the file as UTF-8 — in Excel, Save As, 'CSV UTF-8 (Comma delimited)'; in Google Sheets, File, "
            "Download, CSV — and import it again (rows already imported are not duplicated)",
        )
    lines.undecodable = []


def _unreadable(line: int, error: csv.Error) -> Damage:
    if "field larger than field limit" in str(error):
        return Damage(
            line,
            f"a cell is longer than the {csv.field_size_limit():,} characters a CSV cell may have, so this row was "
            "not imported",
            "shorten it and import the file again (rows already imported are not duplicated)",
        )
    return Damage(
        line,
        f"cannot read this row as CSV ({error}), so it was not imported",
        "correct it and import the file again (rows already imported are not duplicated)",
    )


def _quote_damage(record: list[Line], ended: bool, dialect: type[csv.Dialect], email_column: int) -> Damage | None:
    """Whether a record over several lines (or cut off by the end of the file) is a quote gone wrong: one that
    never closes, or one that closes only after taking in lines that look like rows of their own. A cell over
    several lines that holds no such line is just that (notes, an address)."""
    first = record[0][0]
    fix = (
        'close it, or remove it (a quote inside a quoted cell is written twice: ""), and import the file again; '
        "the lines after it were read as rows of their own"
    )
    if ended:
        return Damage(first, "the quote opened here never closes", fix)
    for number, text in record[1:]:
        cells = next(csv.reader([text], dialect), [])
        if len(cells) > email_column and _ADDRESS.fullmatch(cells[email_column].strip()):
            return Damage(
                first,
                f"the quote opened here closes only on line {record[-1][0]}, taking in line {number}, which looks "
                "like a row of its own",
                fix,
            )
    return None
