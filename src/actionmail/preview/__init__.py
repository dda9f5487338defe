"""Preview: a local page that shows each newsletter as subscribers will see it, re-rendered on every save.

- :class:`Workspace` — the newsletters under preview, loaded and rendered on demand and kept until an input
  changes (:mod:`actionmail.preview.workspace`).
- :class:`PreviewServer` — the page, the emails it frames, and the events that reload it
  (:mod:`actionmail.preview.server`); ``static/`` holds the page itself, plain HTML, CSS and JavaScript.

The preview never imports a mail provider: the headers a send would give a message, and the test send, come in
as :class:`Hooks` from the command line, which uses the send's own code for both.
"""

from __future__ import annotations

from actionmail.preview.server import PreviewServer, emulate_dark, inject_live_reload
from actionmail.preview.workspace import Change, Hooks, Workspace

__all__ = ["Change", "Hooks", "PreviewServer", "Workspace", "emulate_dark", "inject_live_reload"]
