"""MJML to email HTML: compile with mjml-python, then inline the CSS with css-inline.

The one module that knows the MJML compiler and the inliner. mjml-python does not apply
``<mj-style inline="inline">`` itself, so css-inline does it afterwards: those rules, and only those, go into
``style`` attributes, as the official compiler does. The other ``<style>`` blocks (media queries for phones,
dark mode, MJML's resets) stay in the head and nowhere else. premailer, the usual choice, breaks MJML's output:
see docs/rendering.md for what was measured.
"""

from __future__ import annotations

import re

import css_inline
from mjml import mjml2html

# mjml writes the hidden preheader in white (the colour of its default background) so that a client ignoring
# display:none still hides it; on our tinted background it shows faintly anyway, and spam filters score hidden
# white text (SpamAssassin's HTML_FONT_LOW_CONTRAST). Outlook's own way of hiding it, mso-hide, replaces it.
_MJML_PREVIEW = '<div style="display:none;font-size:1px;color:#ffffff;'
_PREVIEW = '<div style="display:none;font-size:1px;mso-hide:all;'

# An <mj-style inline="inline"> block. Its content is CSS, which cannot hold "</mj-style>", so the first closing
# tag ends it.
_INLINE_STYLE = re.compile(r"""<mj-style\s+inline\s*=\s*["']inline["']\s*>(.*?)</mj-style\s*>""", re.DOTALL)
# Two Outlook-only runs side by side: mjml-python writes each table of its Outlook scaffolding in a conditional
# comment of its own; the official compiler merges neighbours (mergeOutlookConditionnals in mjml-core), and so do
# we: the same markup for Outlook, a few hundred bytes less for everyone.
_ADJACENT_OUTLOOK = re.compile(r"<!\[endif\]-->\s*<!--\[if mso \| IE\]>")


def compile_mjml(source: str) -> str:
    """Email HTML for ``source``, with the rules of its ``<mj-style inline="inline">`` blocks inlined."""
    inline_css = "\n".join(_INLINE_STYLE.findall(source))
    # fonts={}: no web-font <link> or @import; the templates use system fonts, which every client has.
    html = mjml2html(_INLINE_STYLE.sub("", source), disable_comments=True, fonts={})
    html = _ADJACENT_OUTLOOK.sub("", html.replace(_MJML_PREVIEW, _PREVIEW, 1))
    # inline_style_tags=False: the head's <style> blocks are kept as they are and not copied onto elements:
    # MJML's reset (`table, td { border-collapse: collapse; … }`) belongs in the head once, not on every cell.
    inliner = css_inline.CSSInliner(
        inline_style_tags=False,
        keep_style_tags=True,
        keep_link_tags=True,
        load_remote_stylesheets=False,
        extra_css=inline_css or None,
    )
    return inliner.inline(html)
