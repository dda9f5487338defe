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

from actionmail.errors import InvalidInput, Problem, shown

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

Loc = tuple[int | str, ...]
Lines = dict[Loc, int]
M = TypeVar("M", bound=pydantic.BaseModel)

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def read_yaml(path: Path) -> tuple[Any, Lines]:
    """Parse ``path``; return the data and the 1-based line of every key path in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        line = e.object[: e.start].count(b"\n") + 1
        raise InvalidInput.one(path, "not UTF-8 text", "save the file as UTF-8", line=line) from None
    except OSError as e:
        raise InvalidInput.one(path, f"cannot read the file ({e.strerror})", "check the path") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        # For an unclosed quote or bracket, point at where it opens, not at the end of the file where the parser
        # gave up; for anything else (a bad indent inside a block), the problem's own line is the right one.
        what = f"YAML syntax error: {e.problem}"
        fix = "check the indentation, and put quotes around text that contains ': ' or starts with [ { * & ! |"
        at = e.problem_mark.line + 1 if e.problem_mark else None
        unclosed = e.context and ("quoted scalar" in e.context or "flow" in e.context)
        if e.context_mark and unclosed and e.context_mark.line + 1 != at:
            what = f"YAML syntax error: {e.context}, {e.problem} (on line {at})"
            at = e.context_mark.line + 1
        elif quote := _runaway_quote(text, e):
            opened, closed = quote
            what = f"YAML syntax error: the quote opened on line {opened} closes only on line {closed}"
            fix = f"close the quote on line {opened}, or remove it"
            at = opened
        raise InvalidInput.one(path, what, fix, line=at) from None
    finally:
        loader.dispose()
    if node is None:
        return None, {}
    lines: Lines = {(): node.start_mark.line + 1}
    problems: list[Problem] = []
    data = _construct(node, (), lines, problems, loader, shown(path))
    if problems:
        raise InvalidInput(problems)
    return data, lines


def _runaway_quote(text: str, error: yaml.MarkedYAMLError) -> tuple[int, int] | None:
    """Where a quote left unclosed runs to, when that is what broke the file: (line opened, line closed).

    A missing closing quote is read as a string that runs on to the next quote, lines later, and the parser
    fails just after it, far from the mistake. The tokens before the error show it: a quoted string spanning
    lines that ends on the line where parsing stopped.
    """
    if error.problem_mark is None:
        return None
    stopped = error.problem_mark.line
    last: tuple[int, int] | None = None
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if token.start_mark.line > stopped:
                break
            if isinstance(token, yaml.ScalarToken) and token.style in ('"', "'"):
                last = (token.start_mark.line, token.end_mark.line)
    except yaml.YAMLError:
        pass  # the scanner stops at the same mistake; the tokens before it are what matter
    if last and last[0] != last[1] and last[1] == stopped:
        return last[0] + 1, last[1] + 1
    return None


def _construct(
    node: yaml.Node, loc: Loc, lines: Lines, problems: list[Problem], loader: yaml.SafeLoader, file: str
) -> Any:
    """Build plain Python data from ``node``, recording the line of each key and list item.

    Done by hand rather than with ``construct_document`` because YAML 1.1, which PyYAML speaks, has two traps
    for people writing times and answers: ``20:00`` is the sexagesimal integer 1200, and an impossible date such
    as ``2019-02-30`` makes the constructor raise without a line. Both stay text here, so the validator can
    say what is wrong, where. Duplicate keys, which PyYAML silently lets the last one win, are an error.
    """
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, loc, lines, problems, loader, file)
            if not isinstance(key, str | int):
                key = str(key)
            here = (*loc, key)
            line = key_node.start_mark.line + 1
            if key in result:
                problems.append(
                    Problem(
                        file,
                        line,
                        dotted(here),
                        "duplicate key",
                        f"remove one of the two (the first is on line {lines[here]})",
                    )
                )
                continue
            lines[here] = line
            result[key] = _construct(value_node, here, lines, problems, loader, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            here = (*loc, index)
            lines[here] = item.start_mark.line + 1
            items.append(_construct(item, here, lines, problems, loader, file))
        return items
    assert isinstance(node, yaml.ScalarNode)
    if node.tag in (_INT, _FLOAT) and ":" in node.value:
        return node.value
    if node.tag == _BOOL and node.value.lower() not in ("true", "false"):
        # YAML 1.1 reads yes/no/on/off as booleans; in an action email these are answers, not switches.
        return node.value
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, yaml.constructor.ConstructorError):
        if node.tag == _TIMESTAMP:
            return node.value
        raise


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
        what = f"'{given}' {what}" if isinstance(given, str | int | float | dt.date) else what.removeprefix("is ")
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
