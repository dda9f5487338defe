"""Links: every link a reader can click must go somewhere, securely, and say where it goes.

Two checks. :func:`links` reads the rendered HTML (what readers get, template links included) and points back to
the YAML value the link came from. :func:`lost_links` reads the YAML text for links that are no longer there:
when an email is copied as plain text, ``[Motherboard](https://…)`` becomes "Motherboard (" and "you can find it
at [the guide](https://…)" becomes "you can find it at", with nothing after — exactly how the 2019 original of
our first example lost its links.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

from actionmail import merge, tally
from actionmail.check import content
from actionmail.check.draft import Draft
from actionmail.errors import Problem, Severity
from actionmail.render import markdown

# Public URL shorteners. Spam filters distrust them (they hide the destination, and spammers rotate them), and a
# reader can't see where the link leads. A hand-kept list: no maintained library publishes one.
SHORTENERS = frozenset(
    [
        "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "tiny.cc",
        "shorturl.at", "cutt.ly", "rb.gy", "bl.ink", "lnkd.in", "t.ly", "s.id", "v.gd", "qr.ae", "adf.ly",
        "shorte.st", "tr.im", "x.co", "soo.gd", "clck.ru", "trib.al", "dlvr.it", "fb.me", "youtu.be", "amzn.to",
    ]
)  # fmt: skip

# Link text that says nothing out of context: screen readers list links by their text alone (WCAG 2.4.4).
GENERIC_TEXT = frozenset(
    [
        "click here", "click", "here", "this", "this link", "link", "read more", "more", "learn more", "go",
        "more info", "more information", "details", "website", "this page", "this website",
        "aquí", "haga clic aquí", "clic aquí", "pulse aquí", "este enlace", "enlace", "más", "leer más",
        "más información", "ver más",
    ]
)  # fmt: skip

_SCHEMES_OK = ("https", "mailto", "tel")


def links(draft: Draft) -> Iterator[Problem]:
    """Empty, relative, insecure, shortened and data: links; generic link text; one URL behind different texts."""
    seen: set[tuple[str, str]] = set()
    shown: set[tuple[str, str]] = set()  # (URL, text folded) of every link in the email
    for document in draft.documents:
        for image in document.iter("img"):
            if (image.get("src") or "").strip().lower().startswith("data:"):
                yield draft.problem(
                    None, "an image is embedded as a data: URI", "host the image and link to it with https://"
                )
        for anchor in document.iter("a"):
            href = (anchor.get("href") or "").strip()
            text = " ".join(anchor.text_content().split()) or " ".join(
                (img.get("alt") or "") for img in anchor.iter("img")
            )
            if (href, text) in seen:
                continue
            seen.add((href, text))
            shown.add((href, text.casefold()))
            if merge.TAG.fullmatch(href) or href.startswith(f"{tally.REPORT_URL}/"):
                # A per-reader link ({unsubscribe_url}, or a report link on {report_url}), filled in at send time;
                # see deliverability, and actionmail.tally.
                continue
            yield from _link(draft, href, text)
    # Only the links the newsletter writes, and the email shows, are compared: the template's own (the
    # organization's website in the header and the footer, under its name and "Our website") may go where the
    # newsletter links too; an election's guide is not shown again where the text links to it.
    texts: dict[str, dict[str, str]] = {}  # URL → link text (folded) → as written
    for text, href in _written_links(draft.data):
        text, href = " ".join(text.split()), href.strip()
        if (href, text.casefold()) in shown:
            texts.setdefault(href, {}).setdefault(text.casefold(), text)
    for href, written in texts.items():
        if len(written) > 1:
            names = " and ".join(f"'{t}'" for t in written.values())
            yield draft.problem(
                draft.find_url(href),
                f"{href} is linked as {names}",
                "check that each link has the right address (links to the same page read better with one name)",
                Severity.WARNING,
                near=href,
            )


def _written_links(data: Any, key: str | int = "") -> Iterator[tuple[str, str]]:
    """(text, URL) of every link the newsletter's YAML writes: Markdown links in its Markdown texts, links written
    ``{text: …, url: …}``, and survey choices ``{label: …, url: …}``."""
    if isinstance(data, dict):
        text = data.get("text", data.get("label"))
        if isinstance(text, str) and isinstance(data.get("url"), str):
            yield text, data["url"]
        for name, value in data.items():
            yield from _written_links(value, name)
    elif isinstance(data, list):
        for value in data:
            yield from _written_links(value, key)
    elif isinstance(data, str) and key in MARKDOWN_KEYS:
        yield from markdown.links(data)


def _link(draft: Draft, href: str, text: str) -> Iterator[Problem]:
    where = draft.find_url(href) or draft.find(href) if href else (draft.find(text) if text else None)
    shown = f"'{text}'" if text else "a link"
    if not href or href == "#":
        yield draft.problem(where, f"{shown} has no address", "put the address back: [link text](https://…)", near=text)
        return
    parts = urllib.parse.urlsplit(href)
    scheme = parts.scheme.lower()
    if not scheme:
        yield draft.problem(
            where,
            f"{shown} goes to '{href}', which is not a whole address: it goes nowhere from an inbox",
            "write the whole address, starting with https://",
            near=href,
        )
    elif scheme == "data":
        yield draft.problem(where, f"{shown} is a data: URI", "link to a page on the web, with https://", near=href)
    elif scheme == "http":
        yield draft.problem(
            where,
            f"{shown} goes to {href}, which is not secure (http:)",
            "use https:// (most sites have it; check that the page opens)",
            Severity.WARNING,
            near=href,
        )
    elif scheme not in _SCHEMES_OK:
        yield draft.problem(
            where, f"{shown} goes to {href}", "links in an email must be https:, mailto: or tel:", near=href
        )
    host = (parts.hostname or "").lower().removeprefix("www.")
    if host in SHORTENERS:
        yield draft.problem(
            where,
            f"{shown} goes to {href}, a shortened link: spam filters distrust them, and readers can't see where "
            "it leads",
            "link to the page itself",
            Severity.WARNING,
            near=href,
        )
    if text.strip(" .:!").casefold() in GENERIC_TEXT:
        yield draft.problem(
            where,
            f"the link text '{text}' doesn't say where the link goes",
            "say what the reader gets there, e.g. [Read Motherboard's investigation](https://…)",
            Severity.WARNING,
            near=href,
        )


# A paragraph that ends by promising a link: "you can find it at", "request a replacement at:", "visit", "aquí:".
_PROMISE = re.compile(r"(?:^|\s)(?:at|here:|visit|en|aquí:|visite|via|vía)\s*[:.…]?$", re.IGNORECASE)
# The same promise in mid-sentence, the link gone from between the words: "find the summary at  and share it" (two
# spaces where the link was), "at . Then call.", "here: , then call". A space before the punctuation, or two after
# the word, is what prose never has ("what we're looking at." is prose).
_PROMISE_IN_SENTENCE = re.compile(
    r"(?:^|(?<=\s))(?:(?:at|visit|en|visite|via|vía)(?:[ \t]+[,.;:!?…)](?!\S)|[ \t]{2,}(?=\w))"
    r"|(?:here|aquí):[ \t]*[,.;!?…)](?!\S))",
    re.IGNORECASE,
)
_EMPHASIS = re.compile(r"[*_\s]+$")
# A paragraph that starts with a link, as a list item or not: "- [The guide](https://…)", "<https://…>".
_STARTS_WITH_LINK = re.compile(r"^\s*(?:(?:[-*+]|\d{1,2}[.)])\s+)?(?:\*\*|\*|_)?(?:\[|<?https?://|<mailto:)")


# "[the guide]" with no "(https://…)" after it: Markdown link text whose address was lost. Not "[text](…)",
# "[text][ref]" or a reference definition "[text]: …"; not a caller placeholder in capitals ("[YOUR NAME]").
# Only where Markdown makes "[text](…)" a link: elsewhere (a headline, a script) brackets are just brackets. The
# newsletter's Markdown keys (`Markdown` in newsletter.py; a test keeps the two together).
MARKDOWN_KEYS = frozenset({"background", "content", "description", "ps", "sign_off", "why"})
_BARE_LINK_TEXT = re.compile(r"(?<![\]!])\[([^\[\]\n]*[a-záéíóúñ][^\[\]\n]*)\](?![(\[:])")


def lost_links(draft: Draft) -> Iterator[Problem]:
    """Text whose link was lost in copy-paste: an opening parenthesis with nothing in it, a sentence that ends
    at "find it at" or "request a replacement at" with nothing after, or link text in brackets with no address."""
    for loc, value in draft.strings():
        if loc and loc[-1] in ("url", "hotline", "number"):
            continue
        markdown = bool(loc) and loc[-1] in MARKDOWN_KEYS
        for bare in _BARE_LINK_TEXT.finditer(value) if markdown else ():
            if f"[{bare[1]}]:" in value:  # a shortcut reference link: "[text]" defined as "[text]: https://…"
                continue
            if content.placeholder_in_brackets(loc, value, bare):  # "[Insert link]": the placeholders check's
                continue
            yield draft.problem(
                loc,
                f"'[{bare[1]}]' is link text with no address after it: a link lost in copy-paste?",
                f"put the address back: [{bare[1]}](https://…), or take away the brackets",
                Severity.WARNING,
                near=bare[0],
            )
        paragraphs = re.split(r"\n\s*\n", value)
        for index, paragraph in enumerate(paragraphs):
            opened = _unclosed_parenthesis(paragraph)
            if opened is not None:
                before = " ".join(paragraph[:opened].split()[-3:])
                yield draft.problem(
                    loc,
                    f"'{before} (' opens a parenthesis that nothing closes: a link lost in copy-paste?",
                    "put the link back as [text](https://…), or close the parenthesis",
                    near=f"{paragraph[:opened].split()[-1] if paragraph[:opened].split() else ''} (",
                )
            end = _EMPHASIS.sub("", paragraph)
            # "Sign up here:" followed by a list of links keeps its promise in the next paragraph.
            following = paragraphs[index + 1] if index + 1 < len(paragraphs) else ""
            if len(end.split()) >= 3 and _PROMISE.search(end) and not _STARTS_WITH_LINK.match(following):
                tail = " ".join(end.split()[-5:])
                yield draft.problem(
                    loc,
                    f"'{tail}' ends without the link it promises: lost in copy-paste?",
                    "put the link back: … at [the page's name](https://…)",
                    near=tail,
                )
            elif match := _PROMISE_IN_SENTENCE.search(paragraph):
                sentence = re.split(r"[.!?:;]\s|\n", paragraph[: match.start()])[-1]
                before = " ".join(sentence.split()[-4:] + match[0].split()[:1])
                yield draft.problem(
                    loc,
                    f"'{before}' is followed by no link, where it promises one: lost in copy-paste?",
                    "put the link back: … at [the page's name](https://…)",
                    near=before,
                )


def _unclosed_parenthesis(text: str) -> int | None:
    """Where the first "(" that is never closed (or closed with nothing inside) is, if any."""
    stack: list[int] = []
    for index, char in enumerate(text):
        if char == "(":
            stack.append(index)
        elif char == ")" and stack:
            start = stack.pop()
            # "[text]()" is a Markdown link with no address: links() reports it, as what it is.
            if not text[start + 1 : index].strip() and text[start - 1 : start] != "]":
                return start
    return stack[0] if stack else None
