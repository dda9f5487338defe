"""Markdown in newsletter files, rendered two ways: HTML for the email body, plain text for the text part.

markdown-it-py parses (CommonMark, raw HTML off: a pasted ``<script>`` or tracking pixel stays text).
The plain-text renderer is ours because no library writes the form an email text part wants: links as
``text (https://…)`` with the whole URL, lists as ``- item``, paragraphs wrapped without breaking a URL.
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")

# "{lang=es}" on a line of its own before a paragraph, list, heading or quote (or as the first line of a
# paragraph) marks the language it is written in: the HTML gets lang="es" dir="ltr" on that block. It is the
# block-attribute syntax of markdown-it-attrs and Pandoc, narrowed to the one attribute an email needs (a class,
# an id or a style would let a file restyle the email). Written by hand: mdit-py-plugins' attrs_block takes
# every attribute, and is one more dependency for a dozen lines.
# A language code as a mark (and `language:`) takes it: es, en, vi, zh-Hant.
LANGUAGE_CODE = r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*"
LANG_MARK = re.compile(rf"^\{{\s*lang=({LANGUAGE_CODE})\s*\}}[ \t]*(?:\n|$)")
_OPENS = ("paragraph_open", "bullet_list_open", "ordered_list_open", "heading_open", "blockquote_open")


def _language_marks(state: StateCore) -> None:
    tokens = state.tokens
    out: list[Token] = []
    pending: str | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type == "paragraph_open" and i + 1 < len(tokens) and (mark := LANG_MARK.match(tokens[i + 1].content)):
            rest = tokens[i + 1].content[mark.end() :]
            if not rest.strip():  # the mark alone: it belongs to the next block
                pending = mark[1]
                i += 3  # paragraph_open, inline, paragraph_close
                continue
            tokens[i + 1].content = rest
            _mark(token, mark[1])
        elif pending and token.type in _OPENS:
            _mark(token, pending)
        if token.type in _OPENS:
            pending = None
        out.append(token)
        i += 1
    state.tokens = out


def _mark(token: Token, code: str) -> None:
    token.attrSet("lang", code)
    # The direction goes with the language; the email's own is on <html>.
    token.attrSet("dir", direction(code))


# Languages written right to left; the others are left to right.
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "sd", "dv", "ckb"})


def direction(code: str) -> str:
    """ "rtl" for a language written right to left (by its primary subtag: "ar-EG" is Arabic), else "ltr"."""
    return "rtl" if code.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


_md.core.ruler.after("block", "language_marks", _language_marks)

WIDTH = 76


@functools.lru_cache(maxsize=512)
def to_html(source: str) -> str:
    return str(_md.render(source)).strip()


@functools.lru_cache(maxsize=512)
def to_html_inline(source: str) -> str:
    """For one-line fields: no surrounding <p>."""
    return str(_md.renderInline(source)).strip()


@functools.lru_cache(maxsize=512)
def to_text(source: str, width: int = WIDTH) -> str:
    blocks: list[str] = []
    prefix_stack: list[str] = []
    ordinal: list[int] = []
    for token in _md.parse(source):
        if token.type == "bullet_list_open":
            prefix_stack.append("- ")
        elif token.type == "ordered_list_open":
            prefix_stack.append("1. ")
            ordinal.append(int(token.attrGet("start") or 1))
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            if prefix_stack.pop() == "1. ":
                ordinal.pop()
        elif token.type == "inline":
            text = inline_text(token.children or [])
            if prefix_stack:
                marker = prefix_stack[-1]
                if marker == "1. ":
                    marker = f"{ordinal[-1]}. "
                    ordinal[-1] += 1
                indent = "   " * (len(prefix_stack) - 1)
                blocks.append(wrap(text, width, indent + marker, indent + " " * len(marker)))
            else:
                blocks.append(wrap(text, width))
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.rstrip("\n"))
        elif token.type == "hr":
            blocks.append("-" * 20)
    return _join(blocks)


def _join(blocks: Sequence[str]) -> str:
    # List items are single-spaced; everything else is separated by a blank line.
    out = ""
    for block in blocks:
        if out:
            is_item = block.lstrip().startswith(("- ", *(f"{n}. " for n in range(1, 100))))
            out += "\n" if is_item and _last_was_item(out) else "\n\n"
        out += block
    return out


def _last_was_item(text: str) -> bool:
    last = text.rsplit("\n\n", 1)[-1].lstrip()
    return last.startswith("- ") or last[:3].rstrip(". ").isdigit()


def inline_text(children: Sequence[Token]) -> str:
    out: list[str] = []
    href_stack: list[str] = []
    for child in children:
        if child.type == "text" or child.type == "code_inline":
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" " if child.type == "softbreak" else "\n")
        elif child.type == "link_open":
            href_stack.append(str(child.attrGet("href") or ""))
            out.append("\x00")  # marks where the link text starts
        elif child.type == "link_close":
            href = href_stack.pop()
            start = len(out) - 1 - out[::-1].index("\x00")
            label = "".join(out[start + 1 :])
            out[start:] = [label if label == href else f"{label} ({href})"]
    return "".join(out)


def wrap(text: str, width: int = WIDTH, first: str = "", rest: str = "") -> str:
    """Wrap to ``width`` without ever breaking a URL or a word; keep hard line breaks."""
    return "\n".join(
        textwrap.fill(
            line,
            width,
            initial_indent=first if i == 0 else rest,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for i, line in enumerate(text.split("\n"))
    )


def paragraphs(text: str) -> list[str]:
    """Plain text (a call script, an email to send) as paragraphs separated by blank lines.

    Inside a paragraph, a line break after a long line is where the editor wrapped the text, so it is joined;
    a break after a short line ("Sincerely," / "[YOUR NAME]") or before a list item is meant, so it stays.
    """
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        merged: list[str] = []
        for line in lines:
            if merged and len(merged[-1].rsplit("\n", 1)[-1]) >= _WRAPPED and not _ITEM.match(line):
                merged[-1] += " " + line
            else:
                merged.append(line)
        out.append("\n".join(merged))
    return out


_WRAPPED = 40  # a line at least this long that continues on the next was wrapped, not broken on purpose
_ITEM = re.compile(r"^([-*•]|\d{1,2}[.)])\s")


def quote(text: str, width: int = WIDTH - 4) -> str:
    """Plain text set off as an email quote, wrapped, with "> " before every line."""
    blocks = ["\n".join(wrap(line, width) for line in paragraph.split("\n")) for paragraph in paragraphs(text)]
    return "\n".join("> " + line if line else ">" for line in "\n\n".join(blocks).split("\n"))


def links(source: str) -> list[tuple[str, str]]:
    """(text, href) of every link in ``source``, for checks and for not repeating a link the text already has."""
    found = []
    for token in _md.parse(source):
        if token.type != "inline":
            continue
        children = token.children or []
        for i, child in enumerate(children):
            if child.type == "link_open":
                end = next(j for j in range(i, len(children)) if children[j].type == "link_close")
                found.append((inline_text(children[i + 1 : end]), str(child.attrGet("href") or "")))
    return found
