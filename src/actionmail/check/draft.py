"""What a check sees of one newsletter: a :class:`Draft`."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html

from actionmail import load as yaml_source
from actionmail.config import Project
from actionmail.errors import Problem, Severity, shown
from actionmail.newsletter import Newsletter
from actionmail.render import Rendered

# A URL in Markdown text: a link's (URL), or an autolink's <URL>.
_LINKED = re.compile(r"\(([^()\s]+)\)|<([^<>\s]+)>")


@dataclass
class Draft:
    """One newsletter as a check sees it: its file, the YAML as written, the model, and every rendered variant.

    Everything is judged as of the newsletter's ``date``, the day it says it goes out. ``today`` is the day it
    really goes out, when known: `send`'s day (today, or ``--at``'s, in the organization's time zone), or today
    for `check`. A newsletter dated earlier is then worth a warning, naming the dates that have passed by then.
    """

    path: Path
    project: Project
    newsletter: Newsletter
    data: Any  # the YAML as parsed, before validation
    lines: yaml_source.Lines  # key path → line, for pointing at where a problem comes from
    rendered: list[Rendered]  # readers whose district is unknown first, then each district the email names
    today: dt.date | None = None

    @property
    def file(self) -> str:
        return shown(self.path)

    @property
    def language(self) -> str:
        return self.newsletter.language or self.project.settings.organization.language

    def line(self, loc: yaml_source.Loc) -> int | None:
        return yaml_source.line_for(loc, self.lines)

    def strings(self) -> Iterator[tuple[yaml_source.Loc, str]]:
        """Every string in the YAML with its key path."""
        return iter(self._strings)

    @functools.cached_property
    def _strings(self) -> list[tuple[yaml_source.Loc, str]]:
        return list(yaml_source.strings(self.data))

    def find(self, text: str) -> yaml_source.Loc | None:
        """The key path of the first string in the YAML that contains ``text`` (e.g. a URL seen in the HTML)."""
        return next((loc for loc, value in self._strings if text and text in value), None)

    def find_url(self, url: str) -> yaml_source.Loc | None:
        """The key path of the value that gives this URL: a ``url:``, or a Markdown link ``[text](URL)``."""
        return self._urls.get(url)

    @functools.cached_property
    def _urls(self) -> dict[str, yaml_source.Loc]:
        # Built once: the links check looks up every link of every variant.
        urls: dict[str, yaml_source.Loc] = {}
        for loc, value in self._strings:
            urls.setdefault(value.strip(), loc)
            for match in _LINKED.finditer(value):
                urls.setdefault(match[1] or match[2], loc)
        return urls

    def problem(
        self,
        loc: yaml_source.Loc | None,
        what: str,
        fix: str,
        severity: Severity = Severity.ERROR,
        *,
        near: str = "",
    ) -> Problem:
        """A problem at ``loc``; with ``near`` (text from that value), at the very line of the file it is on."""
        line = (self.line_of(loc, near) if near else self.line(loc)) if loc else None
        return Problem(self.file, line, yaml_source.dotted(loc or ()), what, fix, severity)

    def line_of(self, loc: yaml_source.Loc, text: str) -> int | None:
        """The line on which ``text`` starts inside the value at ``loc``; the key's line when it can't be found.

        A Markdown block spans many lines under its key, and the reader of an error wants the one with the
        mistake. The value's words are looked for in the file itself, between this key and the next one, with
        any run of spaces, line breaks and indentation between words (as YAML folds them).
        """
        start = self.line(loc)
        words = text.split()
        if start is None or not words:
            return start
        ends = self._key_lines
        after = bisect.bisect_right(ends, start)
        end = self._offsets[ends[after] - 1] if after < len(ends) else len(self.source)
        pattern = r"\s+".join(re.escape(word) for word in words)
        match = re.compile(pattern).search(self.source, self._offsets[start - 1], end)
        return self.source.count("\n", 0, match.start()) + 1 if match else start

    @functools.cached_property
    def source(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @functools.cached_property
    def _offsets(self) -> list[int]:
        offsets = [0]
        for line in self.source.splitlines(keepends=True):
            offsets.append(offsets[-1] + len(line))
        return offsets

    @functools.cached_property
    def _key_lines(self) -> list[int]:
        return sorted(set(self.lines.values()))

    @functools.cached_property
    def documents(self) -> list[lxml.html.HtmlElement]:
        """Each variant's HTML, parsed (in the order of :attr:`rendered`)."""
        return [lxml.html.document_fromstring(version.html) for version in self.rendered]
