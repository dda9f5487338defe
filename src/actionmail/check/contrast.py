"""Colour contrast of the email's text against its background, from the HTML's inlined styles (WCAG 2, AA).

The rendered HTML has its CSS inlined (css-inline), so each element's ``style`` attribute, plus the ``bgcolor``
of table cells, is what an email client paints in light mode. :func:`painted_text` walks the document once, top
down, carrying the colour, background, font size and weight each element inherits, and yields every run of
visible text with the colours it is painted in. In dark mode (``dark=True``) the rules of the email's
``@media (prefers-color-scheme: dark)`` block, which stay in a ``<style>`` as clients need them, are matched to
elements (cssselect) and laid over the inlined styles in cascade order. What it does not see: positioning, other
media queries, and what a mail client does to colours on its own (Gmail's apps invert some); text over a
background image is left out, since the image's colours are unknown. In the tests, axe-core in Chromium is the
second opinion (tests/test_axe.py), and agrees on what is too faint, light and dark.

tinycss2 parses the style attributes, the style blocks and every CSS colour form (#hex, rgb(), hsl(), names). The
contrast
formula is ours: it is a few lines of WCAG 2's definition, and the libraries that have it are either a 3 MB
colour-science package (coloraide, 100 ms to import, for five lines) or unmaintained since 2015
(wcag-contrast-ratio).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import cssselect
import lxml.cssselect
import lxml.etree
import lxml.html
import tinycss2
import tinycss2.color3

RGB = tuple[float, float, float]  # sRGB channels, 0 to 1

BLACK: RGB = (0.0, 0.0, 0.0)
WHITE: RGB = (1.0, 1.0, 1.0)
LINK_BLUE: RGB = (0.0, 0.0, 0xEE / 255)  # browsers' default link colour, when a link has none of its own

AA_NORMAL = 4.5
AA_LARGE = 3.0  # for large text: at least 24px, or 18.66px (14pt) and bold


def luminance(color: RGB) -> float:
    """Relative luminance (WCAG 2)."""
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@functools.lru_cache(maxsize=1024)
def ratio(a: RGB, b: RGB) -> float:
    """Contrast ratio (WCAG 2), from 1 (none) to 21 (black on white)."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def parse(value: str) -> RGB | None:
    """An opaque CSS colour as RGB, or None (not a colour, or ``currentColor``)."""
    color = tinycss2.color3.parse_color(value)
    if color is None or isinstance(color, str):
        return None
    return (_clip(color.red), _clip(color.green), _clip(color.blue))


def to_hex(color: RGB) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in color)


def required(size: float, bold: bool) -> float:
    """The contrast WCAG AA asks of text of this size (px) and weight."""
    return AA_LARGE if size >= 24 or (bold and size >= 18.66) else AA_NORMAL


def fix_towards(color: RGB, other: RGB, needed: float) -> RGB | None:
    """The nearest colour to ``color``, darker or lighter (away from ``other``), with enough contrast; or None."""
    target = BLACK if luminance(color) <= luminance(other) else WHITE
    for step in range(1, 51):
        t = step / 50
        candidate: RGB = tuple(c + (e - c) * t for c, e in zip(color, target, strict=True))  # type: ignore[assignment]
        # Compare the colour as it would be written (#rrggbb), not the unrounded one.
        candidate = parse(to_hex(candidate)) or candidate
        if ratio(candidate, other) >= needed:
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class Text:
    """A run of visible text as painted: its colours, size and weight."""

    sample: str  # the element's own text, shortened
    color: RGB
    background: RGB
    size: float  # px
    bold: bool
    element: lxml.html.HtmlElement

    @property
    def contrast(self) -> float:
        return ratio(self.color, self.background)

    @property
    def required(self) -> float:
        return required(self.size, self.bold)


@dataclass(frozen=True, slots=True)
class _Style:
    """What one style attribute says that matters here, parsed once per distinct attribute."""

    color: tuple[RGB, float] | None  # colour and alpha
    background: tuple[RGB, float] | None
    font_size: str | None
    font_weight: str | None
    hidden: bool
    image: bool  # a background image: what is behind the text is unknown


@dataclass(frozen=True, slots=True)
class _Inherited:
    color: RGB
    background: RGB
    size: float
    bold: bool
    over_image: bool = False  # text over a background image: not measured


DARK_CANVAS: RGB = (0x12 / 255, 0x12 / 255, 0x12 / 255)  # Chromium's page in dark mode, for a page that allows it
_ROOT = _Inherited(BLACK, WHITE, 16.0, False)
_DARK_QUERY = re.compile(r"prefers-color-scheme\s*:\s*dark", re.IGNORECASE)
_TRANSLATOR = lxml.cssselect.LxmlHTMLTranslator()
_SKIP = frozenset({"head", "script", "style", "template", "title"})
_BOLD_TAGS = frozenset({"b", "strong", "th", "h1", "h2", "h3", "h4", "h5", "h6"})
# Browsers' default heading sizes, in em, for headings without a font-size of their own.
_HEADING_EM = {"h1": 2.0, "h2": 1.5, "h3": 1.17, "h4": 1.0, "h5": 0.83, "h6": 0.67}
_KEYWORD_PX = {"xx-small": 9, "x-small": 10, "small": 13, "medium": 16, "large": 18, "x-large": 24, "xx-large": 32}


def painted_text(document: lxml.html.HtmlElement, *, dark: bool = False) -> Iterator[Text]:
    """Every run of visible text in ``document``, in document order, with the colours it is painted in.

    ``dark``: as painted when the reader's system is in dark mode — the rules of the document's
    ``@media (prefers-color-scheme: dark)`` blocks applied over the inlined styles, on a dark canvas where the
    document says it supports dark mode (``<meta name="color-scheme" content="light dark">``).
    """
    out: list[Text] = []
    body = document.find("body")
    extra = _dark_styles(document) if dark else {}
    supports_dark = any("dark" in c for c in document.xpath("//meta[@name='color-scheme']/@content"))
    root = _Inherited(WHITE, DARK_CANVAS, 16.0, False) if dark and supports_dark else _ROOT
    _walk(body if body is not None else document, root, out, extra)
    return iter(out)


def has_dark_mode(document: lxml.html.HtmlElement) -> bool:
    """Whether the document has CSS of its own for dark mode."""
    return any(_dark_rules(style.text or "") for style in document.iter("style"))


@functools.lru_cache(maxsize=256)
def _dark_rules(css: str) -> tuple[tuple[str, str, str], ...]:
    """The rules inside a style block's ``@media (prefers-color-scheme: dark)``: (selectors, normal declarations,
    !important declarations). Parsed once per distinct block: every variant carries the same."""
    rules = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if (
            rule.type == "at-rule"
            and rule.lower_at_keyword == "media"
            and rule.content is not None
            and _DARK_QUERY.search(tinycss2.serialize(rule.prelude))
        ):
            for inner in tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True):
                if inner.type == "qualified-rule":
                    normal, important = _split_important(tinycss2.serialize(inner.content))
                    rules.append((tinycss2.serialize(inner.prelude), normal, important))
    return tuple(rules)


def _dark_styles(document: lxml.html.HtmlElement) -> dict[lxml.html.HtmlElement, tuple[str, str]]:
    """The declarations dark mode adds to each element it touches: (normal ones, !important ones), each in
    cascade order (specificity, then order of appearance).

    Spliced around the element's own style attribute — normal rules before it (inline wins over them), important
    ones after (they win over inline) — so the one style parser reads the cascade.
    """
    rules = [rule for style in document.iter("style") for rule in _dark_rules(style.text or "")]
    matched: list[tuple[tuple[int, int, int], int, lxml.html.HtmlElement, str, str]] = []
    for order, (selectors, normal, important) in enumerate(rules):
        for selector, specificity in _selectors(selectors):
            matched += [(specificity, order, element, normal, important) for element in selector(document)]
    extra: dict[lxml.html.HtmlElement, tuple[str, str]] = {}
    for _, _, element, normal, important in sorted(matched, key=lambda m: (m[0], m[1])):
        before, after = extra.get(element, ("", ""))
        extra[element] = (f"{before};{normal}", f"{after};{important}")
    return extra


@functools.lru_cache(maxsize=1024)
def _selectors(text: str) -> list[tuple[lxml.etree.XPath, tuple[int, int, int]]]:
    """Each selector of a comma-separated list, compiled, with its specificity; those cssselect can't read (a
    pseudo-class such as :hover, which no static reading can match anyway) are left out."""
    out = []
    try:
        parsed = cssselect.parse(text)
    except cssselect.SelectorError:
        return []
    for selector in parsed:
        try:
            out.append((lxml.etree.XPath(_TRANSLATOR.selector_to_xpath(selector)), selector.specificity()))
        except cssselect.ExpressionError:
            continue
    return out


@functools.lru_cache(maxsize=1024)
def _split_important(declarations: str) -> tuple[str, str]:
    normal: list[str] = []
    important: list[str] = []
    for declaration in tinycss2.parse_blocks_contents(declarations, skip_whitespace=True, skip_comments=True):
        if declaration.type == "declaration":
            text = f"{declaration.name}: {tinycss2.serialize(declaration.value).strip()}"
            if declaration.important:
                important.append(f"{text} !important")
            else:
                normal.append(text)
    return ";".join(normal), ";".join(important)


def _walk(
    element: lxml.html.HtmlElement,
    parent: _Inherited,
    out: list[Text],
    extra: dict[lxml.html.HtmlElement, tuple[str, str]],
) -> None:
    tag = element.tag
    if not isinstance(tag, str) or tag in _SKIP:
        return  # comments (Outlook's conditional blocks) and what is never painted
    style = element.get("style") or ""
    if extra and (added := extra.get(element)):
        style = f"{added[0]};{style};{added[1]}"
    here = _inherit(
        parent,
        tag,
        style,
        element.get("bgcolor"),
        element.get("color") if tag == "font" else None,
        element.get("hidden") is not None,
        element.get("background") is not None,  # the old HTML attribute: a background image
    )
    if here is None:
        return
    at = len(out)
    pieces = [element.text] if element.text else []
    for child in element:  # each child once: making lxml's Python proxies is most of the cost here
        _walk(child, here, out, extra)
        if child.tail:
            pieces.append(child.tail)
    own = " ".join(p.strip() for p in pieces if not p.isspace())
    if own and here.size > 0 and not here.over_image:
        sample = own if len(own) <= 40 else own[:39] + "…"
        out.insert(at, Text(sample, here.color, here.background, here.size, here.bold, element))


@functools.lru_cache(maxsize=8192)
def _inherit(
    parent: _Inherited,
    tag: str,
    attribute: str,
    bgcolor: str | None,
    font_color: str | None,
    hidden: bool,
    image: bool,
) -> _Inherited | None:
    """What an element paints with, from its parent's and its own attributes; None if it is hidden.

    Cached: the variants of a newsletter repeat the same few dozen elements, and so do newsletters.
    """
    style = _style(attribute)
    if style.hidden or hidden:
        return None
    size = _font_size(style.font_size, parent.size, tag)
    bold = _bold(style.font_weight, parent.bold, tag)
    background = parent.background
    if style.background is not None:
        background = _over(*style.background, background)
    elif bgcolor and (color := parse(bgcolor)):
        background = color
    if style.color is not None:
        color = _over(*style.color, background)
    elif font_color and (attribute_color := parse(font_color)):
        color = attribute_color
    elif tag == "a":
        color = LINK_BLUE
    else:
        color = parent.color
    # Text over a background image is not measured: the image's colours are unknown. An element's own image
    # covers its own background colour (the fallback); a solid background further in covers the image.
    solid = (style.background is not None and style.background[1] >= 1) or (bool(bgcolor) and style.background is None)
    over_image = style.image or image or (parent.over_image and not solid)
    return _Inherited(color, background, size, bold, over_image)


@functools.lru_cache(maxsize=4096)
def _style(attribute: str) -> _Style:
    values: dict[str, str] = {}
    important: set[str] = set()
    for declaration in tinycss2.parse_blocks_contents(attribute, skip_whitespace=True, skip_comments=True):
        if declaration.type != "declaration":
            continue
        name = declaration.lower_name
        if name in important and not declaration.important:
            continue
        values[name] = tinycss2.serialize(declaration.value).strip()
        if declaration.important:
            important.add(name)
    background = _color_with_alpha(values["background-color"]) if "background-color" in values else None
    if background is None and "background" in values:
        # The shorthand: its colour is one of its parts, beside images, positions and repeats.
        parts = tinycss2.parse_component_value_list(values["background"], skip_comments=True)
        background = next((c for part in parts if (c := _color_with_alpha(part)) is not None), None)
    hidden = (
        values.get("display", "").lower() == "none"
        or values.get("visibility", "").lower() in ("hidden", "collapse")
        or _number(values.get("opacity", "1")) == 0
    )
    color = _color_with_alpha(values["color"]) if "color" in values else None
    image = "url(" in values.get("background", "") or "url(" in values.get("background-image", "")
    return _Style(color, background, values.get("font-size"), values.get("font-weight"), hidden, image)


def _color_with_alpha(value: object) -> tuple[RGB, float] | None:
    color = tinycss2.color3.parse_color(value)
    if color is None or isinstance(color, str):
        return None
    return (_clip(color.red), _clip(color.green), _clip(color.blue)), color.alpha


def _over(color: RGB, alpha: float, below: RGB) -> RGB:
    """``color`` at ``alpha`` painted over ``below``."""
    return tuple(c * alpha + b * (1 - alpha) for c, b in zip(color, below, strict=True))  # type: ignore[return-value]


def _font_size(value: str | None, inherited: float, tag: str) -> float:
    if value is None:
        return inherited * _HEADING_EM.get(tag, 1.0)
    value = value.lower().removesuffix("!important").strip()
    if value in _KEYWORD_PX:
        return float(_KEYWORD_PX[value])
    for unit, factor in (("px", 1.0), ("pt", 96 / 72), ("rem", 16.0), ("em", inherited), ("%", inherited / 100)):
        if value.endswith(unit) and (number := _number(value.removesuffix(unit))) is not None:
            return number * factor
    return inherited  # smaller, larger, calc(), …: rare in email; keep what the parent has


def _bold(value: str | None, inherited: bool, tag: str) -> bool:
    if value is None:
        return inherited or tag in _BOLD_TAGS
    value = value.lower().strip()
    if value in ("bold", "bolder"):
        return True
    if value in ("normal", "lighter"):
        return False
    number = _number(value)
    # 700 and up, as axe-core counts bold (its boldValue), so the two audits agree.
    return number >= 700 if number is not None else inherited


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _clip(channel: float) -> float:
    return min(max(channel, 0.0), 1.0)
