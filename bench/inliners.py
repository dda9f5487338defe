"""Why actionmail inlines CSS with css-inline and not premailer, measured on our own email.

Takes the seed newsletter's HTML as mjml-python produces it, before inlining (what
src/actionmail/render/html.py hands to the inliner), runs both inliners over it, and prints the evidence that
docs/rendering.md quotes. Needs premailer, which is in the dev extra:

    .venv/bin/pip install -e '.[dev]'      # or: .venv/bin/pip install premailer
    .venv/bin/python bench/inliners.py

No network is used: the remote-stylesheet check blocks the connection in Python before it is made, and
records what premailer tried to reach.
"""

from __future__ import annotations

import logging
import re
import sys
import timeit
from importlib.metadata import version
from pathlib import Path
from typing import Any

import css_inline
import premailer
from mjml import mjml2html

from actionmail import check
from actionmail.render import UNSUBSCRIBE_URL, render

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "newsletters" / "2019-08-01-no-police-facial-recognition.yaml"
FONT_CSS = "https://fonts.googleapis.com/css?family=Roboto"


def our_html() -> str:
    project, newsletter = check.load(SEED)
    rendered = render(newsletter, project, slug=check.slug(SEED))
    return str(mjml2html(rendered.mjml, disable_comments=True, fonts={}))


class Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# premailer parses CSS with cssutils, which logs each property it doesn't know to stderr: count them instead.
CSSUTILS_LOG = Count()
logging.getLogger("CSSUTILS").handlers = [CSSUTILS_LOG]
logging.getLogger("CSSUTILS").propagate = False


def css_inline_(html: str) -> str:
    inliner = css_inline.CSSInliner(keep_style_tags=True, keep_link_tags=True, load_remote_stylesheets=False)
    return str(inliner.inline(html))


def premailer_(html: str, **options: Any) -> str:
    """premailer with its defaults, plus keep_style_tags=True like css-inline above (unless overridden)."""
    return str(premailer.Premailer(html, **{"keep_style_tags": True, **options}).transform())


def media_rules(html: str) -> list[str]:
    """The declarations inside the @media blocks of the <style> elements."""
    styles = "".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
    return re.findall(r"[\w-]+\s*:\s*[^;{}]+", "".join(re.findall(r"@media[^{]*\{((?:[^{}]*\{[^}]*\})*)", styles)))


def important_in_media(html: str) -> str:
    rules = media_rules(html)
    kept = sum("!important" in r for r in rules)
    example = next((r.strip() for r in rules if "background-color" in r), "")
    return f"{kept} of {len(rules)} declarations keep !important (e.g. {example!r})"


def doctype(html: str) -> str:
    start = html.lstrip()[:15]
    return ("kept: " if start.lower().startswith("<!doctype html") else "LOST: starts with ") + repr(start)


def hrefs(html: str, text: str) -> list[str]:
    return re.findall(rf'<a href="([^"]*)"[^>]*>\s*{text}', html)


def network_attempts(run: Any) -> tuple[list[str], str]:
    """Run ``run()`` with every DNS lookup and connection refused; what it tried to reach, and how it ended."""
    tried: list[str] = []

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in ("socket.getaddrinfo", "socket.connect") and blocking:
            tried.append(f"{event} {args[0] if event == 'socket.getaddrinfo' else args[1]}")
            raise ConnectionRefusedError(f"bench/inliners.py blocked {event}")

    blocking = True
    sys.addaudithook(hook)
    try:
        out = run()
        ended = "finished" + ("; <link> kept" if FONT_CSS in out else "; <link> removed")
    except Exception as e:
        ended = f"raised {type(e).__module__}.{type(e).__name__}: {str(e)[:70]}…"
    finally:
        blocking = False  # an audit hook can't be removed; this one stops acting
    return tried, ended


def per_call(function: Any, html: str) -> float:
    timer = timeit.Timer(lambda: function(html))
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=5, number=number)) / number


def main() -> None:
    html = our_html()
    assert UNSUBSCRIBE_URL in html
    inliners = {
        "css-inline": css_inline_,
        "premailer (defaults + keep_style_tags)": premailer_,
        "premailer (+ strip_important=False)": lambda h: premailer_(h, strip_important=False),
    }
    print(f"Input: {SEED.relative_to(ROOT)} rendered by actionmail, compiled by mjml-python, not yet inlined")
    print(f"       {len(html.encode()) / 1024:.1f} KB; css-inline {version('css-inline')}, premailer "
          f"{version('premailer')}, Python {sys.version.split()[0]}\n")  # fmt: skip
    print(f"Before inlining: @media: {important_in_media(html)}\n")

    for name, inline in inliners.items():
        CSSUTILS_LOG.records.clear()
        out = inline(html)
        print(f"{name}:")
        print(f"  @media:   {important_in_media(out)}")
        print(f"  doctype:  {doctype(out)}")
        print(f"  merge tag href: {hrefs(out, 'Unsubscribe')}")
        if CSSUTILS_LOG.records:
            print(f"  log:      {len(CSSUTILS_LOG.records)} cssutils warnings, e.g. "
                  f"{CSSUTILS_LOG.records[0].getMessage()!r}")  # fmt: skip
        print()

    print("Merge tags in other syntaxes (the unsubscribe href, after inlining):")
    for tag in ("{{ unsubscribe_url }}", "https://example.org/u?t=a b&lang=español"):
        variant = html.replace(UNSUBSCRIBE_URL, tag)
        print(f"  {tag!r}: css-inline {hrefs(css_inline_(variant), 'Unsubscribe')}, "
              f"premailer {hrefs(premailer_(variant), 'Unsubscribe')}")  # fmt: skip
    print()

    with_link = html.replace("</head>", f'<link rel="stylesheet" href="{FONT_CSS}"></head>', 1)
    print(f"Remote stylesheet: input with <link rel=stylesheet href={FONT_CSS!r}>")
    for name, inline in list(inliners.items())[:2]:
        tried, ended = network_attempts(lambda inline=inline: inline(with_link))
        print(f"  {name}: network attempts {tried or 'none'}; {ended}")
    print()

    # premailer caches parsed CSS by default; a run that renders one email (the CLI) pays for the parse.
    timed = {
        "css-inline": css_inline_,
        "premailer, CSS parse cached (a batch of the same email)": premailer_,
        "premailer, cache_css_parsing=False (one email per process)": lambda h: premailer_(h, cache_css_parsing=False),
    }
    times = {name: per_call(inline, html) for name, inline in timed.items()}
    print("Time per email (timeit: best of 5 repeats, in this one process):")
    for name, seconds in times.items():
        ratio = "" if name == "css-inline" else f"  = {seconds / times['css-inline']:.0f}x css-inline"
        print(f"  {name}: {seconds * 1000:.2f} ms{ratio}")


if __name__ == "__main__":
    main()
