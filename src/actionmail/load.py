"""Load: read a YAML file, keeping the line of every key, and validate it into a model.

PyYAML (with its C loader where available) builds the node tree, which carries line marks; pydantic validates.
What this module adds is the glue neither library has: a map from key paths to lines, and the translation of
pydantic's errors into :class:`~actionmail.errors.Problem` lines of the form ``FILE:LINE: key.path: what: fix``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml
from pydantic_core import ErrorDetails

from actionmail import syntax
from actionmail.errors import InvalidInput, Problem, shown

_Loader: Any = syntax.Loader

Loc = tuple[int | str, ...]
Lines = dict[Loc, int]
M = TypeVar("M", bound=pydantic.BaseModel)

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
# The tags that build plain values; everything else (python/*, binary, set, omap, custom '!foo') is refused.
_PLAIN = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp"))
_PLAIN_FIX = "remove it: a newsletter is plain YAML (text, numbers, dates, lists and mappings)"


def read_yaml(path: Path, max_bytes: int = syntax.MAX_BYTES) -> tuple[Any, Lines]:
    """Parse ``path``; return the data and the 1-based line of every key path in it.

    Whatever the file holds, this returns or raises :class:`InvalidInput` with the file and line of every
    problem: the text is checked before YAML sees it (:func:`actionmail.syntax.read_text`), parser errors are
    explained (:func:`actionmail.syntax.explain`), and the data is built by :class:`_Builder`, which refuses what
    a newsletter has no use for and what could make it hang (aliases of lists, deep nesting, unknown tags).
    """
    text = syntax.read_text(path, max_bytes)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        line, what, fix = syntax.explain(text, e)
        raise InvalidInput.one(path, what, fix, line=line) from None
    except (yaml.YAMLError, RecursionError) as e:  # pragma: no cover - the checks above leave libyaml nothing else
        raise InvalidInput.one(path, f"YAML syntax error: {e}", "check the file's syntax", line=1) from None
    finally:
        loader.dispose()
    if node is None:
        return None, {}
    lines: Lines = {(): node.start_mark.line + 1}
    builder = _Builder(loader, lines, shown(path))
    data = builder.build(node, (), 0)
    if builder.problems:
        raise InvalidInput(builder.problems)
    return data, lines


MAX_DEPTH = 50
"""How deeply lists and mappings may nest. A newsletter needs six levels; without a limit, a file of 10,000
brackets overflows Python's stack here and in pydantic."""


def _tag(node: yaml.Node) -> str:
    return node.tag.replace("tag:yaml.org,2002:", "!!", 1)


class _Builder:
    """Build plain Python data from a node tree, recording the line of each key and list item.

    Done by hand rather than with ``construct_document`` because YAML 1.1, which PyYAML speaks, has two traps
    for people writing times and answers: ``20:00`` is the sexagesimal integer 1200, and an impossible date such
    as ``2019-02-30`` makes the constructor raise without a line. Both stay text here, so the validator can
    say what is wrong, where. Duplicate keys, which PyYAML silently lets the last one win, are an error.

    And because a file is hostile input: a tag other than YAML's plain types (``!!python/object``, ``!foo``)
    is refused, not constructed; a list or mapping is built once, so an alias to one (``*a``, as in "billion
    laughs", nine levels of which would make 10⁹ items) is refused instead of expanded; nesting is capped at
    :data:`MAX_DEPTH`; and text that escapes make (``"\\0"``, ``"\\ud800"``) is held to what a file may hold.
    """

    def __init__(self, loader: Any, lines: Lines, file: str) -> None:
        self.loader, self.lines, self.file = loader, lines, file
        self.problems: list[Problem] = []
        self.built: set[int] = set()  # the ids of the collection nodes built so far
        self.aliased: set[int] = set()  # and of those an alias was found to

    def resolve(self, text: str) -> str:
        """The tag that ``text`` written plain would have."""
        tag: str = self.loader.resolve(yaml.ScalarNode, text, (True, False))
        return tag

    def problem(self, line: int, loc: Loc, what: str, fix: str) -> None:
        self.problems.append(Problem(self.file, line, dotted(loc), what, fix))

    def build(self, node: yaml.Node, loc: Loc, depth: int, line: int | None = None) -> Any:
        """The value of ``node`` at ``loc``; ``line`` is where it is used (an alias's node carries its anchor's)."""
        line = line or node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, loc, line)
        if id(node) in self.built:
            if id(node) not in self.aliased:  # once for each: nine aliases of nine aliases are one mistake
                self.aliased.add(id(node))
                what = "list" if isinstance(node, yaml.SequenceNode) else "mapping"
                self.problem(
                    line,
                    loc,
                    f"an alias (*name) of the {what} anchored on line {node.start_mark.line + 1}",
                    f"write the {what} out here: aliases of lists and mappings are not expanded",
                )
            return None
        self.built.add(id(node))
        expected = "!!map" if isinstance(node, yaml.MappingNode) else "!!seq"
        if _tag(node) != expected:
            self.problem(line, loc, f"unknown tag '{_tag(node)}'", _PLAIN_FIX)
            return None
        if depth >= MAX_DEPTH:
            self.problem(
                line,
                loc[:5],  # where the nesting starts, rather than fifty levels of it
                f"lists and mappings nested more than {MAX_DEPTH} deep",
                "check the indentation and the brackets: a newsletter needs a few levels",
            )
            return None
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                here = (*loc, index)
                self.lines[here] = item_line = item.start_mark.line + 1 if id(item) not in self.built else line
                items.append(self.build(item, here, depth + 1, item_line))
            return items
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            key = self.key(key_node, loc, key_line)
            here = (*loc, key)
            if key in result:
                self.problem(
                    key_line, here, "duplicate key", f"remove one of the two (the first is on line {self.lines[here]})"
                )
                continue
            self.lines[here] = key_line
            result[key] = self.build(value_node, here, depth + 1, key_line if id(value_node) in self.built else None)
        return result

    def key(self, node: yaml.Node, loc: Loc, line: int) -> str | int:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(line, loc, "a list or mapping used as a key", "a key is a word followed by ':', like 'title:'")
            return f"<{_tag(node)} on line {line}>"
        if node.tag == _MERGE:
            self.problem(line, loc, "a merge key (<<)", "write the keys out: '<<' is not supported")
            return "<<"
        key = self.scalar(node, loc, line)
        if isinstance(key, str) and (m := syntax.ODD_INDENT.match(key)):
            self.problem(
                line,
                (*loc, key.strip(syntax.ODD_SPACES)),
                f"the indentation has {syntax.space_name(m[1])} in it",
                "retype the indentation with plain spaces",
            )
        # Keys are names: 'yes:' or '3:' or '2019-08-01:' is the text as written, not a boolean, number or date.
        return key if isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)) else node.value

    def scalar(self, node: yaml.ScalarNode, loc: Loc, line: int) -> Any:
        tag = node.tag
        if tag in (_INT, _FLOAT) and ":" in node.value:
            return node.value
        if tag == _BOOL and node.value.lower() not in ("true", "false"):
            # YAML 1.1 reads yes/no/on/off as booleans; in an action email these are answers, not switches.
            return node.value
        if tag == _VALUE:  # a lone '=' (YAML 1.1's "value" key): text
            return node.value
        if tag not in _PLAIN:
            self.problem(line, loc, f"unknown tag '{_tag(node)}'", _PLAIN_FIX)
            return None
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.constructor.ConstructorError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            # PyYAML's constructors raise all of these on values that don't match a tag written by hand
            # ('!!float x', '!!int ""', '!!timestamp garbage'), and ValueError on a date that
            # doesn't exist or an integer of thousands of digits, which resolve as such without a tag.
            implicit = not node.style and self.resolve(node.value) == tag
            if implicit:
                return node.value  # the validator says what is wrong with it
            what = f"{syntax.shorten(node.value)} is not a valid '{_tag(node)}'"
            self.problem(line, loc, what, f"remove '{_tag(node)}', or correct the value")
            return None
        if isinstance(value, str) and (m := syntax.NOT_IN_TEXT.search(value)):
            self.problem(line, loc, f"the text contains {syntax.describe(m[0])}, written as an escape", "remove it")
            return None
        if isinstance(value, str) and not node.style and syntax.CUT_BY_CURLY.match(value):
            what = f"{syntax.shorten(value)} has a curly quote at one end only: YAML cut the text short"
            self.problem(line, loc, what, syntax.CURLY_FIX)
        return value


def strings(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Every string value in ``data`` with its key path, for checks that look inside text."""
    if isinstance(data, str):
        yield loc, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from strings(value, (*loc, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from strings(value, (*loc, index))


def validate(
    model: type[M], data: Any, lines: Lines, file: str | Path, context: Mapping[str, Any], prefix: Loc = ()
) -> M:
    """Validate ``data`` into ``model``; on failure raise :class:`InvalidInput` with every problem found.

    ``prefix`` is where ``data`` sits in its file (``("providers", "mailgun")``), for lines and key paths.
    """
    try:
        return model.model_validate(data, context=dict(context))
    except pydantic.ValidationError as e:
        problems = problems_from(e, model, {loc[len(prefix) :]: n for loc, n in lines.items()
                                            if loc[: len(prefix)] == prefix}, shown(file))  # fmt: skip
        if prefix:
            head = dotted(prefix)
            problems = [replace(p, key=f"{head}.{p.key}" if p.key else head) for p in problems]
        raise InvalidInput(problems) from None


def problems_from(
    error: pydantic.ValidationError, model: type[pydantic.BaseModel], lines: Lines, file: str
) -> list[Problem]:
    details = error.errors(include_url=False)
    # A misspelt required key shows up twice, as unknown and as missing; report it once, as the misspelling.
    guessed = {
        (*_user_loc(d["loc"])[:-1], guess)
        for d in details
        if d["type"] == "extra_forbidden" and (guess := _guess(model, d["loc"]))
    }
    problems = []
    for detail in details:
        loc = _user_loc(detail["loc"])
        if detail["type"] == "missing" and loc in guessed:
            continue
        what, fix = explain(detail, model)
        given = detail.get("input")
        if isinstance(given, str) and given[:1] in "“‘" and given[-1:] in "”’":  # noqa: RUF001
            fix = syntax.CURLY_FIX  # '“17:00”' is not a time because the quotes are part of it
        problems.append(Problem(file, line_for(loc, lines), dotted(loc), what, fix))
    return sorted(set(problems), key=lambda p: (p.line or 0, p.key))


def _user_loc(loc: tuple[int | str, ...]) -> Loc:
    """Drop the names pydantic adds for union members and discriminator tags: they are not keys in the file."""
    return tuple(part for part in loc if not (isinstance(part, str) and ("<" in part or "[" in part)))


def line_for(loc: Loc, lines: Lines) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# What to tell the user, by pydantic error type: (what is wrong, how to fix). ``{input}`` is the value given.
_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("required key is missing", "add it"),
    "string_type": (
        "expected text",
        "write text here (put it in quotes if it looks like a number or yes/no)",
    ),
    "string_too_short": ("must not be empty", "write something here, or remove the key"),
    "int_type": ("is not a whole number", "write a number such as 3"),
    "int_parsing": ("is not a whole number", "write a number such as 3"),
    "int_from_float": ("is not a whole number", "write a number such as 3"),
    "greater_than": ("is too small", "use a number greater than {gt}"),
    "less_than_equal": ("is too large", "use a number no greater than {le}"),
    "string_pattern_mismatch": ("is not in the expected form", "see docs/newsletter-format.md for this key"),
    "string_too_long": ("is too long", "keep it to {max_length} characters"),
    "bool_type": ("is not true or false", "write true or false"),
    "bool_parsing": ("is not true or false", "write true or false"),
    "list_type": ("expected a list", "write each item on its own line starting with '- '"),
    "too_short": ("must have at least one item", "add an item starting with '- '"),
    "dict_type": ("expected a mapping of keys", "write 'key: value' lines, indented under this key"),
    "model_type": ("expected a mapping of keys", "write 'key: value' lines, indented under this key"),
    "model_attributes_type": (
        "expected a mapping of keys",
        "write 'key: value' lines, indented under this key",
    ),
    "date_type": ("is not a date", "write it as YYYY-MM-DD, like 2019-08-06"),
    "date_parsing": ("is not a valid date", "write it as YYYY-MM-DD, like 2019-08-06"),
    "date_from_datetime_parsing": ("is not a valid date", "write it as YYYY-MM-DD, like 2019-08-06"),
    "date_from_datetime_inexact": ("is not a date", "write it as YYYY-MM-DD, without a time"),
    "datetime_type": ("is not a date and time", "write it like 2019-08-01T06:30:00-07:00"),
    "datetime_parsing": ("is not a valid date and time", "write it like 2019-08-01T06:30:00-07:00"),
    "datetime_from_date_parsing": ("is not a valid date and time", "write it like 2019-08-01T06:30:00-07:00"),
    "time_type": ("is not a time of day", "write it like '20:00' or '8 pm'"),
    "time_parsing": (
        "is not a valid time of day",
        "write it like '20:00' or '8 pm'",
    ),
    "url_parsing": ("not a web address", "write the whole address, starting with https://"),
    "url_type": ("not a web address", "write the whole address, starting with https://"),
    "url_scheme": ("not a web address", "write the whole address, starting with https://"),
    "literal_error": ("is not one of the allowed values", "use one of: {expected}"),
    "enum": ("is not one of the allowed values", "use one of: {expected}"),
}


def explain(detail: ErrorDetails, model: type[pydantic.BaseModel]) -> tuple[str, str]:
    """Turn one pydantic error into (what is wrong, how to fix)."""
    kind = detail["type"]
    ctx = dict(detail.get("ctx") or {})
    loc = _user_loc(detail["loc"])
    if kind == "extra_forbidden":
        known = _known_keys(model, detail["loc"][:-1])
        guess = _guess(model, detail["loc"])
        fix = f"did you mean '{guess}'?" if guess else "remove it, or check its spelling"
        if known:
            fix += " (allowed here: " + ", ".join(known) + ")"
        return "unknown key", fix
    if "fix" in ctx:  # our own validators carry their fix with them (see newsletter.py)
        return detail["msg"], str(ctx["fix"])
    what, fix = _MESSAGES.get(kind, (detail["msg"][0].lower() + detail["msg"][1:], "correct the value"))
    if kind == "missing":
        fix = f"add '{loc[-1]}:'" if loc else fix
    if what.startswith("is "):
        given = detail.get("input")
        what = (
            f"{syntax.shorten(given)} {what}"
            if isinstance(given, str | int | float | dt.date)
            else what.removeprefix("is ")
        )
    if "expected" in ctx or "expected_tags" in ctx:
        ctx["expected"] = str(ctx.get("expected", ctx.get("expected_tags", ""))).replace("'", "").replace(" or ", ", ")
    return what, fix.format(**ctx) if ctx else fix


def _guess(model: type[pydantic.BaseModel], loc: tuple[int | str, ...]) -> str | None:
    known = _known_keys(model, loc[:-1])
    guesses = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return guesses[0] if guesses else None


def _known_keys(model: type[pydantic.BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys a file may use at ``loc`` (pydantic's own loc, with union tags), found by walking the model."""
    current: Any = model
    for part in loc:
        current = _inner(current, part)
        if current is None:
            return []
    current = _inner(current, None)
    if isinstance(current, type) and issubclass(current, pydantic.BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _inner(tp: Any, part: int | str | None) -> Any:
    """The type found one step into ``tp`` at ``part``: a list index, a union tag, or a field name."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        if isinstance(part, str) and part.startswith("<"):
            return next(
                (m for m in members if any(getattr(x, "tag", None) == part for x in getattr(m, "__metadata__", ()))),
                None,
            )
        if len(members) == 1:
            return _inner(members[0], part)
        return None if part is not None else tp
    if part is None:
        return tp
    if isinstance(part, int):
        args = typing.get_args(tp)
        return args[0] if origin is list and args else None
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        for name, field in tp.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
    return None
