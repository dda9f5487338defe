"""Segments: which members a send, a preview, a list or an export is for, written the way organizers say it.

Terms separated by spaces or commas must all hold: ``district=3 tag=volunteer``. In a value, ``|`` means
or (``district=1|2``); ``!=`` negates (``language!=es``); ``none`` matches members without the value
(``district=none``). Keys: ``district``, ``district.SET`` for another district set (``district.congress=9``),
``zip``, ``language``, ``tag`` and ``field.NAME`` for custom fields.
A value with spaces goes in quotes: ``field.team="phone bank"``.

``!=`` keeps members who have no value at all (``district!=3`` includes members without a district); add
``district!=none`` to leave them out.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from actionmail.audience.model import BadLanguage, field_name, normalize_language
from actionmail.database.dialect import SQLITE, Dialect
from actionmail.errors import UsageError

KEYS = ("district", "zip", "language", "tag")
_KEYS_TEXT = "use district, district.SET, zip, language, tag or field.NAME"
_EXAMPLE = "write terms like district=3 or tag=volunteer"
_TERM = re.compile(r"^([^=!]*?)(!=|=)(.*)$", re.DOTALL)
_NONE = "none"


@dataclass(frozen=True, slots=True)
class Term:
    key: str  # district, zip, language, tag, field or districts (another district set's)
    field: str | None  # the custom field's name, for key 'field'; the district set's, for key 'districts'
    values: tuple[str | None, ...]  # None stands for 'none': no value
    negated: bool


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    terms: tuple[Term, ...]

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(
        cls, text: str, known_districts: Sequence[str] = (), known_sets: Mapping[str, Sequence[str]] | None = None
    ) -> Segment:
        """Read a segment; any mistake is a :class:`UsageError` naming the segment, what is wrong and the fix.

        With ``known_districts`` (officials.yaml's), a district that is not one of them is a mistake too: it
        would otherwise quietly select nobody; and with ``known_sets`` (each other district set's districts), a
        set or a district of it that officials.yaml lacks.
        """

        def fail(what: str, fix: str) -> UsageError:
            return UsageError(f"segment '{text}': {what}: {fix}")

        # 'district = 3' and 'district=1 | 2' mean what they look like.
        compact = re.sub(r"\s*(!=|=|\|)\s*", r"\1", text)
        lexer = shlex.shlex(compact, posix=True)
        lexer.whitespace = " \t\r\n,"
        lexer.whitespace_split = True
        lexer.commenters = ""
        try:
            tokens = list(lexer)
        except ValueError:
            raise fail("a quote is not closed", 'close it, as in field.team="phone bank"') from None
        if not tokens:
            raise fail("nothing to select on", _EXAMPLE)
        terms = []
        for token in tokens:
            m = _TERM.match(token)
            if m is None:
                raise fail(f"'{token}' is not KEY=VALUE", _EXAMPLE)
            key, operator, raw = m[1].strip(), m[2], m[3]
            field = None
            if key.lower().startswith("field."):
                field = field_name(key[len("field.") :])
                if not field:
                    raise fail(f"'{key}' needs a field name", "write field.NAME=VALUE, like field.team=phones")
                key = "field"
            elif key.lower().startswith("district.") and key.lower() != "district.district":
                field = key[len("district.") :].strip().lower()
                if known_sets is not None and field not in known_sets:
                    raise fail(
                        f"officials.yaml has no district set '{field}'",
                        f"use one of: {', '.join(f'district.{s}' for s in known_sets) or 'district'}",
                    )
                key = "districts"
            elif key.lower() in ("district", "district.district"):
                key = "district"
            elif key.lower() in KEYS:
                key = key.lower()
            else:
                raise fail(f"unknown key '{key}'", _KEYS_TEXT)
            written = [value.strip() for value in raw.split("|")]
            if any(not value for value in written):
                shown_key = f"field.{field}" if field else key
                raise fail(
                    f"'{token}' has an empty value",
                    f"write {shown_key}=VALUE, or {shown_key}=none for members without one",
                )
            values: list[str | None] = []
            for value in written:
                if value.lower() == _NONE:
                    values.append(None)
                elif key == "language":
                    try:
                        values.append(normalize_language(value))
                    except BadLanguage:
                        raise fail(f"'{value}' is not a language", "write a code like en or es") from None
                elif key == "district" and known_districts and value not in known_districts:
                    raise fail(
                        f"no district '{value}' in officials.yaml (known: {', '.join(known_districts)})",
                        "use one of them, or none for members without a district",
                    )
                elif (
                    key == "districts"
                    and known_sets
                    and known_sets.get(field or "")
                    and value not in known_sets[field or ""]
                ):
                    known = known_sets[field or ""]
                    raise fail(
                        f"no {field} district '{value}' in officials.yaml (known: {', '.join(known)})",
                        f"use one of them, or none for members without a {field} district",
                    )
                else:
                    values.append(value)
            terms.append(Term(key, field, tuple(values), operator == "!="))
        return cls(text, tuple(terms))

    def where(self, table: str = "s", dialect: Dialect = SQLITE) -> tuple[str, list[str]]:
        """The segment as an SQL condition on the ``subscribers`` table aliased ``table``, with its parameters."""
        clauses: list[str] = []
        params: list[str] = []
        for term in self.terms:
            sql, term_params = _condition(term, table, dialect)
            clauses.append(f"NOT ({sql})" if term.negated else f"({sql})")
            params.extend(term_params)
        return " AND ".join(clauses), params


def _condition(term: Term, table: str, dialect: Dialect) -> tuple[str, list[str]]:
    """A condition that is true or false, never NULL, so that NOT of it is what negation means."""
    values = [v for v in term.values if v is not None]
    marks = ", ".join("?" * len(values))
    wants_none = None in term.values
    parts: list[str] = []
    params: list[str] = []
    if term.key == "tag":
        if values:
            parts.append(f"EXISTS (SELECT 1 FROM tags t WHERE t.subscriber_id = {table}.id AND t.tag IN ({marks}))")
            params.extend(values)
        if wants_none:
            parts.append(f"NOT EXISTS (SELECT 1 FROM tags t WHERE t.subscriber_id = {table}.id)")
        return " OR ".join(parts), params
    if term.key in ("field", "districts"):
        column = dialect.json_member(f"{table}.{'fields' if term.key == 'field' else 'districts'}")
        path = dialect.member(term.field or "")
        if values:
            parts.append(dialect.folded_in(column, len(values)))
            params.extend([path, *values])
        if wants_none:
            parts.append(f"{column} IS NULL")
            params.append(path)
        return " OR ".join(parts), params
    column = f"{table}.{term.key}"
    if values:
        parts.append(dialect.is_in(column, len(values)))
        params.extend(values)
    if wants_none:
        parts.append(f"{column} IS NULL")
    return " OR ".join(parts), params
