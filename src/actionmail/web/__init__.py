"""The web edition: each newsletter as a page at its ``[email] web_version_url`` (the address its "View this
email in your browser" link has), with its events as calendar files, an index newest first and an Atom feed; a
static site that any host serves (GitHub Pages, Netlify, S3, or `actionmail serve`).

:func:`build` writes the whole site; :func:`publish` adds one newsletter (after a send) and writes the index and
feed again. Pages: :mod:`~actionmail.web.pages`; addresses and files: :mod:`~actionmail.web.paths`.
"""

from actionmail.web.build import Built, build, publish

__all__ = ["Built", "build", "publish"]
