"""Spam score: each newsletter's message, whole, scored by SpamAssassin where it is installed.

The message is the one a send makes (:func:`actionmail.delivery.sample_message`: MIME, every header, the
unsubscribe headers included), of the version for readers whose district is unknown — one message per
newsletter, since the district versions differ in a name and a phone number. SpamAssassin runs with network
tests off (``-L``: no DNS blocklists, no Razor), with the rules Debian ships, its Bayes filter off and its
per-user files in a temporary home, so a score depends only on the message.

Cost: SpamAssassin spends about a second loading its rules, then a few tenths of a second a message. So the
newsletters of one ``check`` are scored together, in one run over an mbox of their messages (or one run per
core, with 8 messages or more each), never one run each. Scoring is on while ``[check] spamassassin`` is true (the
default) and the ``spamassassin`` command is found; docs/spam-and-accessibility.md has the numbers.
"""

from __future__ import annotations

import concurrent.futures
import mailbox
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from actionmail.errors import ActionmailError, Problem, Severity

if TYPE_CHECKING:
    from actionmail.check import Draft

WARN_ABOVE = 2.0  # well under SpamAssassin's own 5.0: mailbox providers' filters are stricter than its defaults
TOP_RULES = 3
MESSAGES_PER_RUN = 8  # below this many messages a second run costs more start-up than it saves
# report_safe 0: a message over SpamAssassin's threshold comes back as it went in, headers added, rather than
# wrapped as an attachment of a report. The per-rule points go in a header of our own (_TESTSSCORES_ is
# SpamAssassin's template tag for "RULE=points,…").
_ARGUMENTS = ["-L", "-x", "--mbox", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0", "--cf=report_safe 0",
              "--cf=add_header all Tests _TESTSSCORES(,)_"]  # fmt: skip
INDEX_HEADER = "X-Actionmail-Index"
_SCORE = re.compile(r"\bscore=(-?\d+(?:\.\d+)?)")


class SpamAssassinFailed(ActionmailError):
    """SpamAssassin is installed but did not score the messages."""


@dataclass(frozen=True)
class Score:
    points: float
    rules: tuple[tuple[str, float], ...]  # each rule that fired and its points, the heaviest first

    def top(self, count: int = TOP_RULES) -> list[tuple[str, float]]:
        return [rule for rule in self.rules if rule[1] > 0][:count]


def command() -> str | None:
    """The spamassassin command, if installed."""
    return shutil.which("spamassassin")


def score(
    messages: Sequence[bytes], *, executable: str | None = None, timeout: float | None = None, runs: int | None = None
) -> list[Score]:
    """Each message's score, in order.

    One SpamAssassin run loads its rules once for many messages; with many messages, as many runs as there are
    cores share them (each run costs its second of start-up, so a few messages go to one run). ``runs`` sets
    the number of runs instead, for measuring.
    """
    if not messages:
        return []
    executable = executable or command()
    if executable is None:
        raise SpamAssassinFailed("spamassassin is not installed")
    if runs is None:
        runs = min(os.cpu_count() or 1, len(messages) // MESSAGES_PER_RUN)
    runs = max(1, min(runs, len(messages)))
    size = -(-len(messages) // runs)
    chunks = [messages[i : i + size] for i in range(0, len(messages), size)]
    with concurrent.futures.ThreadPoolExecutor(len(chunks)) as pool:
        results = list(pool.map(lambda chunk: _run(executable, chunk, timeout), chunks))
    return [s for result in results for s in result]


def _run(executable: str, messages: Sequence[bytes], timeout: float | None) -> list[Score]:
    with tempfile.TemporaryDirectory(prefix="actionmail-spam-") as directory:
        inbox = Path(directory) / "in.mbox"
        box = mailbox.mbox(inbox)
        for index, message in enumerate(messages):
            # SpamAssassin returns the messages of an mbox sorted by date, not as given: number them.
            box.add(f"{INDEX_HEADER}: {index}\n".encode() + message)
        box.close()
        try:
            with inbox.open("rb") as stdin:
                result = subprocess.run(
                    [executable, *_ARGUMENTS],
                    stdin=stdin,
                    capture_output=True,
                    # Per-user preferences and state (~/.spamassassin) in a temporary home, not the user's (though
                    # SpamAssassin still makes an empty ~/.spamassassin where the password database says home is).
                    env={**os.environ, "HOME": directory},
                    timeout=timeout if timeout is not None else 60 + 2 * len(messages),
                    check=False,
                )
        except subprocess.TimeoutExpired as e:
            raise SpamAssassinFailed(f"spamassassin took longer than {e.timeout:.0f} s") from None
        if result.returncode != 0:
            error = result.stderr.decode(errors="replace").strip().splitlines()
            raise SpamAssassinFailed(f"spamassassin exited with {result.returncode}: {error[-1] if error else ''}")
        outbox = Path(directory) / "out.mbox"
        outbox.write_bytes(result.stdout)
        replies = mailbox.mbox(outbox, create=False)
        try:
            scores = {str(reply.get(INDEX_HEADER, "")).strip(): _parse(reply) for reply in replies}
        finally:
            replies.close()
    try:
        return [scores[str(index)] for index in range(len(messages))]
    except KeyError:
        raise SpamAssassinFailed(f"spamassassin returned {len(scores)} of the {len(messages)} messages") from None


def _parse(message: mailbox.mboxMessage) -> Score:
    status = " ".join(str(message.get("X-Spam-Status", "")).split())
    found = _SCORE.search(status)
    if found is None:
        raise SpamAssassinFailed(f"no score in spamassassin's X-Spam-Status header: {status!r}")
    rules = []
    for item in "".join(str(message.get("X-Spam-Tests", "")).split()).split(","):
        name, _, points = item.partition("=")
        if name and points:
            rules.append((name, float(points)))
    return Score(float(found[1]), tuple(sorted(rules, key=lambda r: -r[1])))


@dataclass(frozen=True)
class Sample:
    """What the spam check keeps of a draft until every newsletter of the run is in: the file and the message."""

    file: str
    message: bytes


def sample(draft: Draft) -> Sample | None:
    """The message to score for ``draft``, or None when scoring is off or SpamAssassin is missing."""
    if not draft.project.settings.check.spamassassin or not draft.rendered or command() is None:
        return None
    # Imported here, not at the top: check is imported by the preview, which must never load the send engine and
    # its providers (tests/preview/test_preview.py holds it to that); only a run that scores spam needs them.
    from actionmail import delivery

    return Sample(draft.file, delivery.sample_message(draft.project, draft.path.stem, draft.rendered[0]).as_bytes())


def spam(samples: Sequence[Sample]) -> Iterator[Problem]:
    """A warning for each newsletter SpamAssassin scores above 2.0, with the rules that weigh most."""
    if not samples:
        return
    try:
        scores = score([s.message for s in samples])
    except SpamAssassinFailed as e:
        yield Problem(samples[0].file, None, "", f"the spam score was not checked: {e}", "", Severity.WARNING)
        return
    for taken, result in zip(samples, scores, strict=True):
        if result.points > WARN_ABOVE:
            rules = ", ".join(f"{name} ({points:.1f})" for name, points in result.top())
            yield Problem(
                taken.file,
                None,
                "",
                f"SpamAssassin scores the email {result.points:.1f} (above {WARN_ABOVE:g}), mostly for {rules}",
                "reword what those rules match (their names say what, e.g. an all-caps subject or "
                "money talk); mailbox providers' filters weigh the same signs",
                Severity.WARNING,
            )
