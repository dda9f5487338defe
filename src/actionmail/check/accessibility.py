"""Accessibility of the rendered email, read statically from the HTML of every variant.

The rules, and how serious each is — following axe-core's impact for the same rule, so that what is an error here
is what tests/test_axe.py calls serious or critical:

- ``<html>`` has ``lang``, the newsletter's language — error without (a screen reader would read Spanish with
  English sounds); and ``dir`` matches the language's direction — error if not (no dir means ltr);
- every ``<img>`` has ``alt`` — error without. An empty ``alt=""`` marks an image as decoration, which is allowed,
  except when the image is all there is in a link: then the link has no name (error);
- every link has text (or an image with alt, or aria-label) — error without: a screen reader reads its address;
- one ``<h1>``, and no heading level skipped (h2 then h4) — warnings: the text is still read, but the outline
  that screen-reader users navigate by is wrong;
- layout tables say ``role="presentation"`` — warning: otherwise each is announced as a table of rows;
- text has WCAG AA contrast against its background (4.5:1; 3:1 for large text), in light mode and in the
  template's dark mode — error (see :mod:`actionmail.check.contrast` for what the static reading covers).

Each problem points where it can be fixed: the YAML line a heading or link came from, the ``actionmail.toml``
line of a colour, or the project's own template; a problem in the built-in template points at the newsletter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import lxml.html

from actionmail.check import contrast
from actionmail.errors import Problem, Severity, shown
from actionmail.load import Loc
from actionmail.render import RTL_LANGUAGES

if TYPE_CHECKING:
    from actionmail.check import Draft
    from actionmail.render import Rendered

_WORDS = re.compile(r"\W+")


def accessibility(draft: Draft) -> Iterator[Problem]:
    """What keeps a reader using a screen reader, a magnifier or low vision from reading the email."""
    seen: set[Problem] = set()
    low: dict[tuple[contrast.RGB, contrast.RGB, float], contrast.Text] = {}
    sources = _Sources(draft)
    for version, document in zip(draft.rendered, draft.documents, strict=True):
        problems = [
            *_language(draft, version, document),
            *_images(draft, document),
            *_links(draft, sources, document),
            *_headings(draft, sources, document),
            *_tables(draft, document),
        ]
        for problem in problems:
            if problem not in seen:
                seen.add(problem)
                yield problem
        for text in contrast.painted_text(document):
            if text.contrast < text.required:
                low.setdefault((text.color, text.background, text.required), text)
    # Dark mode, from the template's own dark-mode CSS: read on one variant, since the CSS is the template's and
    # the variants differ only in their text. A pair that fails in light mode too is reported once.
    dark: dict[tuple[contrast.RGB, contrast.RGB, float], contrast.Text] = {}
    if draft.documents and contrast.has_dark_mode(draft.documents[0]):
        for text in contrast.painted_text(draft.documents[0], dark=True):
            key = (text.color, text.background, text.required)
            if text.contrast < text.required and key not in low:
                dark.setdefault(key, text)
    for text in low.values():
        yield _contrast_problem(draft, text)
    for text in dark.values():
        yield _contrast_problem(draft, text, dark=True)


def _language(draft: Draft, version: Rendered, document: lxml.html.HtmlElement) -> Iterator[Problem]:
    lang = (document.get("lang") or "").strip()
    primary = version.language.split("-")[0].lower()
    if not lang or lang.lower() == "und":  # MJML writes "und" (undetermined) when <mjml> has no lang
        given = f'lang="{lang}"' if lang else "no lang"
        yield _in_template(
            draft,
            f"the HTML doesn't say which language it is in ({given} on <html>): screen readers won't know how to "
            "pronounce it",
            'write lang="{{ language }}" on <mjml>',
        )
    elif lang.split("-")[0].lower() != primary:
        yield _in_template(
            draft,
            f'the HTML says lang="{lang}" but the newsletter is in "{version.language}"',
            'write lang="{{ language }}" on <mjml>',
        )
    # No dir means ltr; "auto" lets the first letters decide, which is right for either direction.
    direction = (document.get("dir") or "ltr").strip().lower()
    expected = "rtl" if primary in RTL_LANGUAGES else "ltr"
    if direction not in (expected, "auto"):
        yield _in_template(
            draft,
            f'the HTML says dir="{direction}" but "{version.language}" is written {expected}',
            'write dir="{{ direction }}" on <mjml>',
        )


def _images(draft: Draft, document: lxml.html.HtmlElement) -> Iterator[Problem]:
    for image in document.iter("img"):
        alt = image.get("alt")
        src = image.get("src") or ""
        if alt is None:
            yield _in_template(
                draft,
                f"the image {src} has no alt text: readers who don't see images get nothing, or its file name",
                'describe it in alt, or write alt="" if it is only decoration',
            )
        elif not alt.strip():
            link = next(image.iterancestors("a"), None)
            if link is not None and not _name(link):
                yield _in_template(
                    draft,
                    f"the image {src} is all there is in a link, and its alt is empty: the link has no name",
                    "describe where the link goes in the image's alt",
                )


def _links(draft: Draft, sources: _Sources, document: lxml.html.HtmlElement) -> Iterator[Problem]:
    for link in document.iter("a"):
        href = link.get("href")
        if href is None or _name(link) or link.find(".//img") is not None:  # an image link: see _images
            continue
        what = f"the link to {href} has no text: a screen reader reads out its address instead"
        loc = sources.empty_link(href)
        if loc is not None:
            yield draft.problem(loc, what, "write what the link is about between the brackets: [text](address)")
        else:
            yield _in_template(draft, what, "put text inside the <a>")


def _name(link: lxml.html.HtmlElement) -> str:
    """A link's accessible name, roughly: its text, its images' alt, or its aria-label."""
    parts = [link.text_content(), link.get("aria-label") or "", *(i.get("alt") or "" for i in link.iter("img"))]
    return " ".join(p.strip() for p in parts if p.strip())


def _headings(draft: Draft, sources: _Sources, document: lxml.html.HtmlElement) -> Iterator[Problem]:
    previous = 0
    ones = 0
    for heading in document.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        level = int(heading.tag[1])
        text = " ".join(heading.text_content().split())
        if level == 1:
            ones += 1
            if ones > 1:
                yield _heading_problem(
                    draft,
                    sources,
                    text,
                    f'"{text}" is a second top-level heading (h1): the headline is the email\'s one h1',
                    "make it a lower level: ## in Markdown",
                )
        if previous and level > previous + 1:  # before the first heading, the missing h1 is the problem
            yield _heading_problem(
                draft,
                sources,
                text,
                f'the heading "{text}" (h{level}) follows an h{previous}, skipping a level',
                f"make it an h{previous + 1}: {'#' * (previous + 1)} in Markdown",
            )
        previous = level
    if ones == 0:
        yield _in_template(
            draft,
            "the email has no top-level heading (h1): screen-reader users jump to it to find the headline",
            "put the headline in an <h1>",
            Severity.WARNING,
        )


def _heading_problem(draft: Draft, sources: _Sources, text: str, what: str, fix: str) -> Problem:
    loc = sources.heading(text)
    if loc is not None:
        return draft.problem(loc, what, fix, Severity.WARNING)
    return _in_template(draft, what, fix, Severity.WARNING)


def _tables(draft: Draft, document: lxml.html.HtmlElement) -> Iterator[Problem]:
    layout = [
        table
        for table in document.iter("table")
        if not table.get("role")  # any role is a deliberate choice: presentation, or a data table's
        and table.find(".//th") is None
        and table.find("caption") is None
    ]
    if layout:
        yield _in_template(
            draft,
            f'{len(layout)} layout table(s) without role="presentation": screen readers announce each as a table',
            'add role="presentation" to every <table> that only lays out the page',
            Severity.WARNING,
        )


def _contrast_problem(draft: Draft, text: contrast.Text, *, dark: bool = False) -> Problem:
    fg, bg = contrast.to_hex(text.color), contrast.to_hex(text.background)
    what = (
        f'{"in dark mode, " if dark else ""}"{text.sample}" is {fg} on {bg}, a contrast of {text.contrast:.2f}:1; '
        f"WCAG AA asks for {text.required:g}:1 at {text.size:g}px{' bold' if text.bold else ''}"
    )
    colors = draft.project.settings.colors.model_dump()
    written = draft.project.settings_lines
    foreground = [k for k, v in colors.items() if contrast.parse(v) == text.color]
    background = [k for k, v in colors.items() if contrast.parse(v) == text.background]
    # Blame the colour the organization chose (written in its settings) over a default it never touched.
    candidates = [(k, True) for k in foreground] + [(k, False) for k in background]
    candidates.sort(key=lambda c: ("colors", c[0]) not in written)
    if not candidates:
        where = "its dark-mode CSS, @media (prefers-color-scheme: dark)" if dark else "the template"
        return _in_template(draft, what, f"change the colour in {where}")
    key, is_foreground = candidates[0]
    mine, other = (text.color, text.background) if is_foreground else (text.background, text.color)
    darker = contrast.luminance(mine) <= contrast.luminance(other)
    fix = f"pick a {'darker' if darker else 'lighter'} colour"
    if (better := contrast.fix_towards(mine, other, text.required)) is not None:
        fix += f", such as {contrast.to_hex(better)}"
    return _in_settings(draft, ("colors", key), what, fix)


class _Sources:
    """Where in the YAML a piece of the email came from: a link's address, a heading's text.

    Compared word by word, ignoring case and punctuation, so that Markdown's ``*emphasis*`` or ``[link](…)``
    around the words still matches.
    """

    def __init__(self, draft: Draft) -> None:
        self.strings = [(loc, _words(text), text) for loc, text in draft.strings()]

    def find(self, needle: str) -> Loc | None:
        words = _words(needle)
        if not words:
            return None
        for loc, haystack, _ in self.strings:
            if f" {words} " in f" {haystack} ":
                return loc
        # The other way round: a heading made of a title and words the template adds ("Today's Action: …").
        found = [(len(haystack), loc) for loc, haystack, _ in self.strings
                 if len(haystack) >= 8 and f" {haystack} " in f" {words} "]  # fmt: skip
        return max(found, key=lambda f: f[0])[1] if found else None

    def empty_link(self, href: str) -> Loc | None:
        """Where a Markdown link to ``href`` has no text (``[](…)``), else wherever the address is."""
        empty = re.compile(r"\[\s*\]\(\s*<?" + re.escape(href))
        for loc, _, source in self.strings:
            if empty.search(source):
                return loc
        return self.find(href)

    def heading(self, text: str) -> Loc | None:
        """A Markdown heading (``## …``) with these words, else wherever the words are."""
        words = _words(text)
        for loc, _, source in self.strings:
            if any(_words(m[1]) == words for m in _MARKDOWN_HEADING.finditer(source)):
                return loc
        return self.find(text)


_MARKDOWN_HEADING = re.compile(r"^[ ]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)


def _words(text: str) -> str:
    return " ".join(_WORDS.split(text.lower())).strip()


def _in_template(draft: Draft, what: str, fix: str, severity: Severity = Severity.ERROR) -> Problem:
    """A problem the template makes: the project's own copy if it has one, else it is reported on the newsletter."""
    own = draft.project.template_dir / "email.mjml"
    file = shown(own) if own.is_file() else draft.file
    return Problem(file, None, "", what, fix, severity)


def _in_settings(draft: Draft, loc: Loc, what: str, fix: str, severity: Severity = Severity.ERROR) -> Problem:
    project = draft.project
    lines = project.settings_lines
    line = next((lines[loc[:end]] for end in range(len(loc), 0, -1) if loc[:end] in lines), None)
    file = shown(project.settings_file) if project.settings_file else "actionmail.toml"
    return Problem(file, line, ".".join(str(part) for part in loc), what, fix, severity)
