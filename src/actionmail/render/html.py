"""MJML to email HTML: compile with mjml-python, then inline the CSS with css-inline.

The one module that knows the MJML compiler and the inliner. mjml-python does not apply
``<mj-style inline="inline">`` itself, so css-inline does it afterwards, keeping the ``<style>`` blocks
(media queries for phones, dark mode) and never fetching anything. premailer, the usual choice, breaks
MJML's output: see docs/rendering.md for what was measured.
"""

from __future__ import annotations

import css_inline
from mjml import mjml2html

# mjml writes the hidden preheader in white (the colour of its default background) so that a client ignoring
# display:none still hides it; on our tinted background it shows faintly anyway, and spam filters score hidden
# white text (SpamAssassin's HTML_FONT_LOW_CONTRAST). Outlook's own way of hiding it, mso-hide, replaces it.
_MJML_PREVIEW = '<div style="display:none;font-size:1px;color:#ffffff;'
_PREVIEW = '<div style="display:none;font-size:1px;mso-hide:all;'

_inliner = css_inline.CSSInliner(keep_style_tags=True, keep_link_tags=True, load_remote_stylesheets=False)


def compile_mjml(source: str) -> str:
    # fonts={}: no web-font <link> or @import; the templates use system fonts, which every client has.
    html = mjml2html(source, disable_comments=True, fonts={}).replace(_MJML_PREVIEW, _PREVIEW, 1)
    return _inliner.inline(html)
