"""Merge fields: ``{first_name|friend}`` in a newsletter's text becomes each reader's own value.

Authors write ``{name}`` or ``{name|fallback}`` anywhere in a newsletter's text (subject, preheader, greeting,
Markdown, scripts). Fields of the variant (``district``, and ``district.SET`` for another district set, such as
``{district.congress}``) are filled when the variant is rendered; fields of the
reader (``first_name``, ``unsubscribe_url``, …) stay in the rendered output and are filled per reader by
:meth:`Merge.fill`, which only joins precomputed pieces: it never re-renders.

Only lowercase names are merge fields, so caller placeholders such as ``{NAME}`` or ``[YOUR NAME]`` in scripts
are left alone, and so is CSS (``{ color: red }``).
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

PER_READER = ("first_name", "last_name", "email", "zip", "unsubscribe_url", "report_url")
PER_VARIANT = ("district",)
DISTRICT_PREFIX = "district."  # the reader's district of another set: {district.congress}
FIELD_PREFIX = "field."  # a custom field of the subscriber: {field.team}

TAG = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[A-Za-z0-9_-]+)?)(?:\|([^{}\n]*))?\}")


def unknown_fields(text: str, district_sets: Collection[str] | None = None) -> list[tuple[str, str]]:
    """Merge fields in ``text`` that don't exist, each with a suggestion: [("frist_name", "did you mean …")].
    ``district_sets``: the district sets of officials.yaml, when known: ``{district.SET}`` must name one."""
    known = [*PER_READER, *PER_VARIANT]
    out = []
    for match in TAG.finditer(text):
        name = match[1]
        if name in known or (name.startswith(FIELD_PREFIX) and len(name) > len(FIELD_PREFIX)):
            continue
        if name.startswith(DISTRICT_PREFIX) and len(name) > len(DISTRICT_PREFIX):
            district_set = name[len(DISTRICT_PREFIX) :]
            if district_sets is None or district_set in district_sets:
                continue
            others = [f"{{{DISTRICT_PREFIX}{s}}}" for s in district_sets if s != "district"]
            guess = difflib.get_close_matches(f"{{{name}}}", others, n=1, cutoff=0.6)
            fix = (
                f"did you mean {guess[0]}?"
                if guess
                else f"officials.yaml has no district set '{district_set}' (its others: {', '.join(others) or 'none'})"
            )
            out.append((name, fix))
            continue
        guess = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        fix = f"did you mean {{{guess[0]}}}?" if guess else "use one of: " + ", ".join(f"{{{k}}}" for k in known)
        out.append((name, fix + " (a fallback follows a bar: {first_name|friend})"))
    return out


def fill_variant(text: str, values: Mapping[str, str | None], *, escape: bool) -> str:
    """Fill the per-variant fields (``{district}``, ``{district.SET}``), leaving the per-reader ones for
    :class:`Merge`."""

    def replace(match: re.Match[str]) -> str:
        if match[1] not in PER_VARIANT and not match[1].startswith(DISTRICT_PREFIX):
            return match[0]
        value = values.get(match[1]) or match[2] or ""
        return html.escape(value) if escape and values.get(match[1]) else value

    return TAG.sub(replace, text)


@dataclass(frozen=True, slots=True)
class Merge:
    """A rendered string split at its per-reader merge fields, ready to fill for each reader cheaply."""

    pieces: tuple[str, ...]  # literal text; between consecutive pieces sits fields[i]
    fields: tuple[tuple[str, str], ...]  # (name, fallback)
    escape: bool
    # The distinct (name, fallback) pairs, in order: what a provider's per-recipient variables carry.
    slots: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "slots", tuple(dict.fromkeys(self.fields)))

    @classmethod
    def parse(cls, text: str, *, escape: bool) -> Merge:
        pieces, fields, start = [], [], 0
        for match in TAG.finditer(text):
            pieces.append(text[start : match.start()])
            fields.append((match[1], match[2] or ""))
            start = match.end()
        pieces.append(text[start:])
        return cls(tuple(pieces), tuple(fields), escape)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.fields)

    def native(self, placeholder: Callable[[int], str]) -> str:
        """The text with each field written as a provider's own placeholder for its slot number, e.g.
        ``lambda i: f"%recipient.h{i}%"`` for Mailgun. :meth:`slot_values` gives each recipient's values."""
        slot = {pair: index for index, pair in enumerate(self.slots)}
        out = [self.pieces[0]]
        for pair, piece in zip(self.fields, self.pieces[1:], strict=True):
            out += [placeholder(slot[pair]), piece]
        return "".join(out)

    def slot_values(self, values: Mapping[str, str | None]) -> list[str]:
        """One recipient's value for each slot, escaped as this text needs, the fallback where they have none."""
        out = []
        for name, fallback in self.slots:
            value = values.get(name)
            out.append((html.escape(value) if self.escape else value) if value else fallback)
        return out

    def fill(self, values: Mapping[str, str | None]) -> str:
        if not self.fields:
            return self.pieces[0]
        out = [self.pieces[0]]
        for (name, fallback), piece in zip(self.fields, self.pieces[1:], strict=True):
            value = values.get(name)
            if value:
                out.append(html.escape(value) if self.escape else value)
            else:
                out.append(fallback)  # already escaped: it was rendered with the template
            out.append(piece)
        return "".join(out)


class Slots:
    """The slots of several texts under one set of keys, a prefix and the slot number (``h0``), for providers
    that carry each recipient's values as one mapping (Mailgun's recipient-variables): worked out once per batch,
    then :meth:`values` once per recipient, the loop most of a batch's cost is in."""

    __slots__ = ("_table",)

    def __init__(self, texts: Iterable[tuple[str, Merge]]) -> None:
        self._table = [
            (f"{prefix}{i}", name, fallback, merge.escape)
            for prefix, merge in texts
            for i, (name, fallback) in enumerate(merge.slots)
        ]

    def values(self, values: Mapping[str, str | None]) -> dict[str, str]:
        """One recipient's value for each key: as :meth:`Merge.slot_values` gives them, in one pass."""
        escape = html.escape
        return {
            key: ((escape(value) if escaped else value) if (value := values.get(name)) else fallback)
            for key, name, fallback, escaped in self._table
        }
