"""The Jinja2 environment: where templates come from, and the filters that write dates, times and Markdown.

Templates are looked up in the organization's own ``templates/`` first, then in the built-in set, one file at a
time (Pelican's way): copying ``email.mjml`` alone into a project changes the layout and keeps the rest.
Strings in templates go through gettext; catalogs are ``templates/locale/<lang>.po``, read with Babel.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import io
import math
import re
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import (
    format_date,
    format_interval,
    format_skeleton,
    format_time,
    format_timedelta,
    get_time_format,
)
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from markupsafe import Markup, escape

from actionmail.render import markdown, view


def builtin_templates() -> Path:
    """The templates shipped in the wheel; in a source checkout, the top-level ``templates/``."""
    packaged = Path(str(importlib.resources.files("actionmail") / "templates"))
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[3] / "templates"


# Babel's "full" date includes the year, which a daily email never needs; its skeletons abbreviate weekdays.
_DAY = {"en": "EEEE, MMMM d", "es": "EEEE d 'de' MMMM"}
_DAY_YEAR = {"en": "EEEE, MMMM d, y", "es": "EEEE d 'de' MMMM 'de' y"}


_bytecode_cache: jinja2.BytecodeCache | None = None


def cache_compiled_templates(directory: Path) -> None:
    """Keep compiled templates in ``directory`` between runs (Jinja2 recompiles any whose source changed).

    Compiling the templates is the largest single cost of a one-off `actionmail render` (docs/performance.md).
    The command line turns this on; the library never writes anywhere unless asked.
    """
    global _bytecode_cache
    _bytecode_cache = jinja2.FileSystemBytecodeCache(str(directory))
    environment.cache_clear()


@functools.lru_cache(maxsize=16)
def environment(search_path: tuple[Path, ...], language: str, bilingual: str | None = None) -> jinja2.Environment:
    """The templates' environment for emails in ``language``; with ``bilingual``, a second language in which the
    email's own labels (:data:`BILINGUAL_LABELS`) are shown too."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(p) for p in search_path]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("mjml", "html"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
        bytecode_cache=_bytecode_cache,
    )
    translations = _translations(search_path, language)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    if bilingual and bilingual != language:
        labels = _Bilingual(translations, _translations(search_path, bilingual), bilingual)
        env.install_gettext_callables(labels.gettext, labels.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["language"] = language
    env.globals["lang_attrs"] = functools.partial(lang_attrs, language=language)
    env.filters.update(
        md=lambda s: Markup(markdown.to_html(s)),
        md_inline=lambda s: Markup(markdown.to_html_inline(s)),
        md_text=markdown.to_text,
        wrap=markdown.wrap,
        day=lambda d: format_date(d, _DAY.get(language, "full"), locale=language),
        day_year=lambda d: format_date(d, _DAY_YEAR.get(language, "full"), locale=language),
        short_day=lambda d: format_skeleton("MMMd", d, locale=language),
        time=lambda t: format_time(t, "short", locale=language),
        time_range=functools.partial(time_range, language=language),
        names=lambda items: format_list(list(items), locale=language),
        quote=markdown.quote,
        capfirst=lambda s: s[:1].upper() + s[1:],
        script=script_html,
        choice_url=lambda choice, survey: view.choice_url(survey, choice),
        number=lambda value: format_decimal(value, locale=language),
    )
    env.globals["countdown"] = functools.partial(countdown, language=language, gettext=translations.ugettext)
    env.globals["button_size"] = button_size
    env.globals["button_rows"] = button_rows
    env.globals["window_text"] = functools.partial(window_text, language=language, gettext=translations.ugettext)
    return env


# The email's own labels — headings and the words before a field — which a bilingual email shows in both of its
# languages ("Who to call / A quién llamar"). Sentences with a date or a name in them ("Return your ballot in 5
# days") stay in the email's language: a date written in one language inside a sentence of the other reads badly.
BILINGUAL_LABELS = frozenset(
    [
        "Today's Action", "Action %(number)s", "Bonus Action", "Who to call", "Who to email", "Who to thank",
        "Who to contact", "Sample script", "Script for %(who)s", "If you get voicemail:", "What to write",
        "Deadline:", "Upcoming events", "Call-in day", "When", "Updates and notes",
    ]
)  # fmt: skip

RTL_LANGUAGES = markdown.RTL_LANGUAGES
direction = markdown.direction


def lang_attrs(code: str | None, *, language: str) -> Markup:
    """`` lang="es" dir="ltr"`` for an element written in ``code``, when that is not the email's language."""
    if not code or code.lower() == language.lower():
        return Markup("")
    return Markup(' lang="{}" dir="{}"').format(code, direction(code))


class _Bilingual:
    """gettext and ngettext that give each of :data:`BILINGUAL_LABELS` in both languages: "A / B" in the text
    part, and in HTML with the second marked as its language (``<span lang="en">``) for screen readers."""

    def __init__(self, first: NullTranslations, second: NullTranslations, code: str) -> None:
        self.first, self.second, self.code = first, second, code

    def _both(self, context: jinja2.runtime.Context, one: str, other: str) -> str:
        if one == other:
            return one
        if context.eval_ctx.autoescape:
            return Markup('{} / <span lang="{}" dir="{}">{}</span>').format(one, self.code, direction(self.code), other)
        return f"{one} / {other}"

    @jinja2.pass_context
    def gettext(self, context: jinja2.runtime.Context, message: str) -> str:
        one = self.first.ugettext(message)
        if message not in BILINGUAL_LABELS:
            return one
        return self._both(context, one, self.second.ugettext(message))

    @jinja2.pass_context
    def ngettext(self, context: jinja2.runtime.Context, singular: str, plural: str, n: int) -> str:
        one = self.first.ungettext(singular, plural, n)
        if singular not in BILINGUAL_LABELS:
            return one
        return self._both(context, one, self.second.ungettext(singular, plural, n))


def window_text(window: Any, today: dt.date, *, language: str, gettext: Any) -> str:
    """A call-in day or a date range as the email says it on ``today``, the day it goes out: "Tuesday, August 6
    (today only)", "(in 3 days)"; "February 14 – 23 (starts in 3 days)", "(ends tomorrow)"; the dates alone once
    past."""
    start, last = window.start, window.last
    if start == last:
        day = format_date(start, _DAY.get(language, "full"), locale=language)
        if today == start:
            return f"{day} ({gettext('today only')})"
        left = countdown(today, start, language=language, gettext=gettext)
        return f"{day} ({left})" if left else day
    dates = str(format_interval(start, last, "MMMMd" if start.year == last.year else "yMMMMd", locale=language))
    if today < start:
        phrase = str(gettext("starts %(when)s")) % {"when": countdown(today, start, language=language, gettext=gettext)}
    elif today <= last:
        phrase = str(gettext("ends %(when)s")) % {"when": countdown(today, last, language=language, gettext=gettext)}
    else:
        return dates
    return f"{dates} ({phrase})"


def _translations(search_path: tuple[Path, ...], language: str) -> NullTranslations:
    """The first catalog on the search path, each later one its fallback: a project's own ``es.po`` that
    translates only its emails' words still gets the built-in catalog's for everything else (the pages)."""
    found: NullTranslations | None = None
    for directory in search_path:
        po = directory / "locale" / f"{language}.po"
        if po.is_file():
            with po.open("rb") as f:
                catalog = read_po(f, locale=language)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            translations = Translations(buffer)
            if found is None:
                found = translations
            else:
                found.add_fallback(translations)
    return found or NullTranslations()


def time_range(start: dt.time, end: dt.time | None, *, language: str) -> str:
    """ "6:30 – 8:00 PM" in English, "18:30–20:00" in Spanish; just the start when there is no end."""
    twelve_hour = "a" in get_time_format("short", locale=language).pattern
    if end is None:
        return str(format_time(start, "short", locale=language))
    return str(format_interval(start, end, "hm" if twelve_hour else "Hm", locale=language))


def countdown(start: dt.date, end: dt.date, *, language: str, gettext: Any, today: dt.date | None = None) -> str:
    """ "today", "tomorrow", or "in 5 days" until ``end``; "" for a day already past, which gets no countdown.

    Counted from ``today`` when given — the day the email goes out, when a send is on a later day than the
    newsletter's date — else from ``start``, which templates give as the newsletter's date (``n.date``).
    """
    days = (end - (today or start)).days
    if days < 0:
        return ""
    if days == 0:
        return str(gettext("today"))
    if days == 1:
        return str(gettext("tomorrow"))
    return str(
        format_timedelta(dt.timedelta(days=days), granularity="day", threshold=400, add_direction=True, locale=language)
    )


# Outlook for Windows draws a bulletproof button as a VML shape of a fixed size, which it does not grow to fit its
# label: the templates give it one from the label's length. 0.6 em a character is wider than the average of the
# system fonts' semibold (about 0.55 em), so a label fits with room to spare; past the column's width the label
# wraps onto more lines and the shape grows taller instead.
_CHAR_EM = 0.6
_LINE_EM = 1.3
COLUMN = 552  # px: the 600 px body less the cards' 24 px padding on each side


def button_size(text: str, font_size: int = 17, pad_x: int = 22, pad_y: int = 12) -> tuple[int, int]:
    """(width, height) in pixels of the VML button for ``text``, at most the column's width."""
    text_width = math.ceil(len(text) * _CHAR_EM * font_size)
    inner = COLUMN - 2 * pad_x
    lines = max(1, math.ceil(text_width / inner))
    return min(text_width, inner) + 2 * pad_x, lines * math.ceil(_LINE_EM * font_size) + 2 * pad_y


def button_rows(items: list[Any], gap: int = 8, font_size: int = 17, pad_x: int = 14) -> list[list[Any]]:
    """``items`` (each with a ``text``) in rows of buttons that fit the column side by side, ``gap`` px apart:
    Outlook's table cells never wrap as inline blocks do, so the rows are made here."""
    rows: list[list[Any]] = []
    used = COLUMN
    for item in items:
        width = button_size(item.text, font_size, pad_x)[0] + gap
        if not rows or used + width > COLUMN:
            rows.append([])
            used = 0
        rows[-1].append(item)
        used += width
    return rows


_PLACEHOLDER = re.compile(r"(\[[^\[\]\n]{1,40}\])")


def script_html(text: str) -> Markup:
    """A call script as HTML paragraphs, with the caller's placeholders ([YOUR NAME]) in bold so they stand out."""
    out = []
    for paragraph in markdown.paragraphs(text):
        escaped = str(escape(paragraph)).replace("\n", "<br>")
        out.append("<p>" + _PLACEHOLDER.sub(r"<strong>\1</strong>", escaped) + "</p>")
    return Markup("".join(out))
