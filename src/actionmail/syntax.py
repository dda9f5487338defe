"""The text of a YAML file, and what went wrong in it, said the way the person who wrote it can fix it.

PyYAML reports what its parser expected (``found character that cannot start any token``); the people who
write newsletters need the cause: a tab in the indentation, curly quotes pasted from a word processor, a
non-breaking space, a quote that never closes. :func:`read_text` refuses what YAML cannot hold before the parser
sees it; :func:`explain` turns a parser error into (line, what is wrong, how to fix).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from actionmail.errors import InvalidInput, Problem, shown

try:
    Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    Loader = yaml.SafeLoader

MAX_BYTES = 256 * 1024
"""A newsletter is a few KB (the examples are 6–9 KB): a file far larger is the wrong file, and would take
minutes to check and render."""

# What YAML 1.1 allows in a file (its "printable" set), less what is allowed but never meant: NEL (U+0085) and the
# Unicode line and paragraph separators, which YAML counts as line breaks where editors show none, so every line
# number after them would be wrong. Non-characters (U+FDD0–U+FDEF and U+xFFFE/U+xFFFF in every plane) are out too.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(17))
NOT_TEXT = re.compile(f"[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\U0010ffff]|[{_NONCHARACTERS}]")

# What text read from a file may hold: what the file may (NOT_TEXT), less the carriage return, which text has only
# by an escape ("\r"), and which in a subject or a name would start a new header line.
NOT_IN_TEXT = re.compile(NOT_TEXT.pattern + r"|\r")

# Spaces that look like a space and are not one to YAML: pasted from a web page or a word processor.
ODD_SPACES = "\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200C))) + "\u202f\u205f\u3000\ufeff"
ODD_INDENT = re.compile(f"^[ \t]*([{ODD_SPACES}])")
CURLY_QUOTES = "“”‘’„‟«»"  # noqa: RUF001 - the very characters this names
CURLY_FIX = 'type straight quotes ("…") around the text instead: curly quotes (“ ”) are not quotes in YAML'
# Plain text that a curly quote opens and never closes (or closes and never opens) was cut short by YAML: at ' #'
# (a comment) or, inside {…}, at a comma.
CUT_BY_CURLY = re.compile("^[“‘][^”’]*$|^[^“]*”$")  # noqa: RUF001


def describe(char: str) -> str:
    """A character that has no business in the file, named so it can be found: 'a control character (U+0000)'."""
    code = f"U+{ord(char):04X}"
    if char in "\u2028\u2029\x85":
        return f"a {'paragraph' if char == chr(0x2029) else 'line'} separator ({code})"
    if unicodedata.category(char) == "Cc":
        return f"a control character ({code})"
    if unicodedata.category(char) == "Cs":
        return f"half of a surrogate pair ({code})"
    return f"a non-character ({code})"


def shorten(value: object, limit: int = 100) -> str:
    """A value as a message quotes it: in quotes, cut short, its control characters made visible."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "'" + NOT_TEXT.sub(lambda m: f"\\u{ord(m[0]):04x}", text).replace("\n", "\\n") + "'"


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The text of ``path``, refusing what YAML would choke on: too large, not UTF-8, control characters."""
    try:
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as e:
        raise InvalidInput.one(path, f"cannot read the file ({e.strerror})", "check the path") from None
    if len(raw) > max_bytes:
        raise InvalidInput.one(
            path,
            f"the file is larger than {max_bytes // 1024:,} KB, far more than it needs",
            "check that it is the right file",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InvalidInput.one(path, "not UTF-8 text", "save the file as UTF-8", line=line) from None
    # As open() in text mode does: Windows and old Mac line ends are line ends.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    problems = []
    for number, content in enumerate(text.split("\n"), start=1):
        if m := NOT_TEXT.search(content):
            fix = "replace it with a line break" if "separator" in describe(m[0]) else "remove it"
            what = f"the file contains {describe(m[0])} at column {m.start() + 1}"
            problems.append(Problem(shown(path), number, "", what, fix))
    if problems:
        raise InvalidInput(problems)
    return text


def explain(text: str, error: yaml.MarkedYAMLError) -> tuple[int | None, str, str]:
    """(line, what, fix) for a YAML syntax error, naming the cause where it is one people make."""
    lines = text.split("\n")
    # libyaml puts the end of a file that lacks its last line end on a line of its own, one past the last
    at = min(error.problem_mark.line + 1, len(lines)) if error.problem_mark else None
    column = error.problem_mark.column if error.problem_mark else 0
    opened = min(error.context_mark.line + 1, len(lines)) if error.context_mark else None
    problem, context = error.problem or "", error.context or ""

    def line(number: int | None) -> str:
        return lines[number - 1] if number and 0 < number <= len(lines) else ""

    if at and (line(at)[column : column + 1] == "\t" or "tab character" in problem):
        tab = line(at).index("\t") + 1 if "\t" in line(at) else column + 1
        where = "at the start of the line" if not line(at)[: tab - 1].strip() else f"at column {tab}"
        return at, f"a tab {where}: YAML indents with spaces only", "replace the tab with spaces"
    for number in (at, opened, at - 1 if at else None):
        if number and (m := ODD_INDENT.match(line(number))):
            return number, f"the indentation has {space_name(m[1])} in it", "retype the indentation with plain spaces"
    if quote := _last_quote(text, error):
        (start, start_column), (end, end_column), inside_flow = quote
        if start != end and end == at:
            # A missing closing quote is read as text that runs on to the next quote, lines later, and the parser
            # fails just after it, far from the mistake.
            what = f"YAML syntax error: the quote opened on line {start} closes only on line {end}"
            if inside_flow:
                return start, what, f"close the quote on line {start} before the ',' or '}}' that ends its value"
            return start, what, f"close the quote on line {start}, or remove it"
        if inside_flow and end == at and "expected ','" in problem:
            # {text: "Read the coverage, url: "https://…"}: the quote closes where the next value's opens.
            what = (
                f"YAML syntax error: the quote opened at column {start_column} runs on past the end of its value "
                f"(it closes at column {end_column})"
            )
            return start, what, "close the quote before the ',' or '}' that ends its value, or remove it"
    if "quoted scalar" in context and "end of stream" in problem and opened and error.context_mark:
        before = line(opened)[: error.context_mark.column]
        inside_flow = "{" in before or "[" in before
        what = f"YAML syntax error: the quote opened at column {error.context_mark.column + 1} never closes"
        fix = "close the quote before the ',' or '}' that ends its value" if inside_flow else "close the quote"
        return opened, what, fix + ", or remove it"
    for number in (at, opened):
        if number and any(q in line(number) for q in CURLY_QUOTES):
            return (
                number,
                "curly quotes (“ ” or ‘ ’) are not quotes in YAML, so what they enclose is read as YAML",  # noqa: RUF001
                'type straight quotes ("…") around the text instead',
            )
    what = f"YAML syntax error: {problem}"
    fix = "check the indentation, and put quotes around text that contains ': ' or starts with [ { * & ! |"
    if "escape" in problem:
        fix = "in double quotes a backslash starts an escape: write \\\\ for a backslash, or use single quotes"
    if opened and ("flow" in context) and opened != at:
        return opened, f"YAML syntax error: {context}, {problem} (on line {at})", fix
    return at, what, fix


def space_name(char: str) -> str:
    name = {"\u00a0": "a non-breaking space", "\ufeff": "a zero-width no-break space", "\u200b": "a zero-width space"}
    return f"{name.get(char, 'a ' + unicodedata.name(char, 'space').lower())} (U+{ord(char):04X})"


def _last_quote(text: str, error: yaml.MarkedYAMLError) -> tuple[tuple[int, int], tuple[int, int], bool] | None:
    """The last quoted text before the parser stopped: its (line, column) of start and of end, and whether it is
    inside brackets. The scanner stops at the same mistake as the parser; the tokens before it are what matter.
    """
    if error.problem_mark is None:
        return None
    stopped = error.problem_mark.line
    last = None
    flow = 0
    try:
        for token in yaml.scan(text, Loader=Loader):
            if token.start_mark.line > stopped:
                break
            if isinstance(token, yaml.FlowMappingStartToken | yaml.FlowSequenceStartToken):
                flow += 1
            elif isinstance(token, yaml.FlowMappingEndToken | yaml.FlowSequenceEndToken):
                flow -= 1
            elif isinstance(token, yaml.ScalarToken) and token.style in ('"', "'"):
                start, end = token.start_mark, token.end_mark
                last = ((start.line + 1, start.column + 1), (end.line + 1, end.column), flow > 0)
    except yaml.YAMLError:
        pass
    return last
