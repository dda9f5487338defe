"""The errors actionmail raises. Imports nothing internal.

Every problem a user can cause is reported as *where: what is wrong: how to fix*, e.g.
``newsletters/2019-08-01.yaml:14: actions[0].targets[2].phones[0].number: not a phone number: write it
with its area code, like +1 206 684 4000``. The CLI is the one place that turns these into output and an exit
code; the library only raises.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


def shown(path: str | Path) -> str:
    """A path as the user would write it: relative to the current directory when it is inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    INVALID_INPUT = 2
    PARTIAL_FAILURE = 3


class Severity(enum.StrEnum):
    """An error stops a send (and fails `check`); a warning is worth a look, and fails `check --strict`."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one input file."""

    file: str
    line: int | None
    key: str
    what: str
    fix: str
    severity: Severity = Severity.ERROR

    def as_dict(self) -> dict[str, str | int | None]:
        """For ``check --format json``: a stable form that tools can read (docs/checks.md documents it)."""
        return {
            "file": self.file,
            "line": self.line,
            "key": self.key,
            "severity": str(self.severity),
            "message": self.what,
            "fix": self.fix,
        }

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where]
        if self.key:
            parts.append(self.key)
        parts.append(f"warning: {self.what}" if self.severity is Severity.WARNING else self.what)
        if self.fix:
            parts.append(self.fix)
        return ": ".join(parts)


class ActionmailError(Exception):
    """Base class of every error a user can cause and fix."""

    exit_code = ExitCode.ERROR


class InvalidInput(ActionmailError):
    """One or more problems in the user's files; carries all of them, not just the first."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = sorted(problems, key=lambda p: (p.file, p.line or 0, p.key))
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def one(cls, file: str | Path, what: str, fix: str, *, line: int | None = None, key: str = "") -> InvalidInput:
        return cls([Problem(shown(file), line, key, what, fix)])


class UsageError(ActionmailError):
    """A command was asked for something it cannot do (a missing file, a bad option value)."""

    exit_code = ExitCode.INVALID_INPUT
