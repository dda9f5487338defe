"""Languages within an email: a part written in another language is marked as such, not with HTML.

Raw HTML in a newsletter is shown as text (the Markdown renderer escapes it: a pasted ``<script>`` stays
harmless), so ``<p lang="es">Hola</p>`` reaches readers with its tags showing. A paragraph of Markdown is marked
``{lang=es}`` on a line of its own before it; a script, an action, an alternative or a footnote takes
``language: es``. A ``{lang=…}`` mark the renderer can't place (in the middle of a paragraph, or in a field that
isn't Markdown) is shown as text too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from actionmail.check.links import MARKDOWN_KEYS
from actionmail.errors import Problem, Severity
from actionmail.render import markdown

if TYPE_CHECKING:
    from actionmail.check import Draft
    from actionmail.load import Loc

_RAW_LANG = re.compile(r"<\s*([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*?\blang\s*=\s*[\"']?([A-Za-z0-9-]*)[^<>]*>")
_CODE = re.compile(rf"^{markdown.LANGUAGE_CODE}$")  # what the fix may repeat; else it says "es"
_MARK = re.compile(r"\{\s*lang\s*=\s*([^{}\s]*)[^{}\n]*\}")
# The models that take `language:` (newsletter.py): a string under one of them can be marked by its key.
_HAS_LANGUAGE = ("script", "actions", "bonus", "alternatives", "footnotes")


def languages(draft: Draft) -> Iterator[Problem]:
    """HTML with ``lang`` written in the text, and ``{lang=…}`` marks that would be shown as text."""
    for loc, value in draft.strings():
        in_markdown = bool(loc) and loc[-1] in MARKDOWN_KEYS
        for match in _RAW_LANG.finditer(value):
            code = match[2] if _CODE.match(match[2]) else "es"
            yield draft.problem(
                loc,
                f"'{match[0]}' is HTML, which the email shows as text, tags and all",
                _how_to_mark(loc, code, in_markdown, "remove the tags"),
                near=match[0],
            )
            break
        else:
            for match in _MARK.finditer(value):
                # The built-in templates write "P.S." before the ps's first paragraph, with which a mark there
                # would be in mid-paragraph.
                shown = f"P.S. {value}" if loc[-1] == "ps" else value
                if in_markdown and match[0] not in markdown.to_text(shown):
                    continue  # the renderer took it: the block after it is marked
                code = match[1] if _CODE.match(match[1]) else "es"
                yield draft.problem(
                    loc,
                    f"'{match[0]}' would be shown as text: a language mark goes on a line of its own, "
                    "before a paragraph of Markdown",
                    _how_to_mark(loc, code, in_markdown, "take it out of the sentence"),
                    near=match[0],
                )
                break


def bilingual(draft: Draft) -> Iterator[Problem]:
    """``bilingual: es`` with nothing marked as Spanish: the labels are in both languages, but the author's own
    Spanish text would be read out by screen readers with the email's language's sounds."""
    second = draft.newsletter.bilingual
    if second is None or second == draft.rendered[0].language:
        return
    marked = {
        m[1].lower() for _, value in draft.strings() for m in re.finditer(markdown.LANG_MARK.pattern, value, re.M)
    }
    for action in [*draft.newsletter.actions, *draft.newsletter.bonus]:
        marked |= {action.language or ""} | {s.language or "" for s in action.script}
        for alternative in action.alternatives:
            marked |= {alternative.language or ""} | {s.language or "" for s in alternative.script}
    marked |= {f.language or "" for f in draft.newsletter.footnotes}
    if second.lower() not in marked:
        yield draft.problem(
            ("bilingual",),
            f"nothing in this email is marked as written in '{second}': its labels are shown in both languages, "
            "but screen readers would read your own text in it with the sounds of the email's language",
            f"mark each part written in it: {{lang={second}}} on a line of its own before a paragraph, or "
            f"'language: {second}' on a script or an action",
            Severity.WARNING,
        )


def _how_to_mark(loc: Loc, code: str, in_markdown: bool, first: str) -> str:
    keyed = next((key for key in reversed(loc) if isinstance(key, str) and key in _HAS_LANGUAGE), None)
    if in_markdown:
        fix = f"{first}, and write {{lang={code}}} on a line of its own before the paragraph"
        return fix + (f", or 'language: {code}' on the whole {_singular(keyed)}" if keyed else "")
    if keyed:
        return f"{first}, and add 'language: {code}' to the {_singular(keyed)} this text is in"
    return f"{first}: this text is in the email's language (write a part in another one in Markdown, marked)"


def _singular(key: str | None) -> str:
    return {"actions": "action", "bonus": "action", "alternatives": "alternative", "footnotes": "footnote"}.get(
        key or "", key or ""
    )
