"""What a newsletter asks members to tell us through ``actionmail serve``, and what they told us.

A newsletter asks a *question* wherever an answer is counted by serve rather than by a form of the organization's
own: an action's ``report_back`` without a ``url`` ("Let us know you called": one answer, :data:`DONE`), or a
survey without a ``link`` (one answer per choice with a ``value``). A question is known by its action's place in
the newsletter (``1``, ``2``; ``bonus-1``), an answer by its value slugified (``yes``, ``not-sure``), so that the
link in an email, ``{report_url}/ISSUE/1/done``, means the same for as long as the file does.

``{report_url}`` is a per-reader merge field: the base of every report link with the member's own signed token
in it (:mod:`actionmail.tokens`, purpose ``REPORT``), filled per reader as the unsubscribe link is. So a variant is
still rendered once, and each member's buttons say who tapped them.

Nothing else is counted: no tracking pixel, no redirect through a click counter. A tally is what members chose to
tell us, on a page, with a button (:mod:`actionmail.serve.reports`).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from actionmail.newsletter import Action, GroupTarget, Newsletter, answer_id
from actionmail.officials import DEFAULT_SET, Directory, Group

DONE = "done"  # the one answer to a report-back: "I did it"
REPORT_URL = "{report_url}"  # the per-reader merge field every report link starts with
BONUS = "bonus-"


@dataclass(frozen=True)
class Question:
    """One thing a newsletter asks members to tell us: a report-back, or a survey's one-tap answers."""

    id: str  # "1", "2", "bonus-1": its action's place in the newsletter
    action: Action
    answers: Mapping[str, str]  # answer id → what the member tapped, in the file's order

    @property
    def survey(self) -> bool:
        return self.action.survey is not None and self.action.survey.counted


def actions(newsletter: Newsletter) -> Iterator[tuple[str, Action]]:
    """Every action with the id its question would have: the main ones "1", "2"…, the bonus ones "bonus-1"…"""
    for number, action in enumerate(newsletter.actions, start=1):
        yield str(number), action
    for number, action in enumerate(newsletter.bonus, start=1):
        yield f"{BONUS}{number}", action


def questions(newsletter: Newsletter) -> dict[str, Question]:
    """The newsletter's questions, by id, in the order the email shows them."""
    found = {}
    for action_id, action in actions(newsletter):
        if action.survey is not None and action.survey.counted:
            answers = {answer_id(c.value): c.label for c in action.survey.choices if c.value is not None}
            found[action_id] = Question(action_id, action, answers)
        elif action.report_back is not None and action.report_back.counted:
            found[action_id] = Question(action_id, action, {DONE: action.report_back.text})
    return found


def link(issue: str, question: str, answer: str) -> str:
    """The href of one answer's button, with the per-reader base still a merge field."""
    return f"{REPORT_URL}/{urllib.parse.quote(issue, safe='')}/{question}/{answer}"


def issue_of(path: Path) -> str:
    """The issue a newsletter file is: its name without .yaml (and without .es, for a translation), as the send
    ledger names it."""
    return re.sub(r"\.[a-z]{2}$", "", path.stem)


def per_district(action: Action, directory: Directory) -> list[Group]:
    """The per-district groups an action asks members to contact: each member calls the one for their district."""
    ids = [t.group for t in action.targets if isinstance(t, GroupTarget)]
    return [g for g in directory.groups if g.id in ids and g.per_district]


def target_for(
    action: Action, directory: Directory, district: str | None, districts: Mapping[str, str] | None = None
) -> str | None:
    """Whom a member of ``district`` (and of ``districts`` in the other district sets) was asked to contact,
    where that depends on the district: the per-district members' ids ("herbold"; several, comma-separated, when
    the action names several such groups, or a group has several members a district). None where it doesn't
    depend on the district, or the district is unknown (the email gave the lookup link)."""
    by_set = {**(districts or {}), DEFAULT_SET: district}
    groups = per_district(action, directory)
    found = [m.id for g in groups for m in directory.members_for(g, by_set.get(g.set_name))]
    return ",".join(found) or None


# --- Tallies --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """What the database counts: members who gave this answer, by their district and whom they were asked to
    contact."""

    question: str
    answer: str
    district: str | None
    target: str | None
    count: int


@dataclass(frozen=True)
class Answer:
    id: str
    label: str
    count: int
    share: float  # of the question's total, 0 to 1


@dataclass(frozen=True)
class Place:
    """Reports from one district, and whom its members were asked to contact."""

    district: str | None
    target: str | None  # the official's name (names, joined) where it depends on the district
    count: int


@dataclass(frozen=True)
class Tally:
    question: Question
    total: int
    answers: list[Answer]
    places: list[Place] = field(default_factory=list)  # for an action with per-district targets

    def as_dict(self) -> dict[str, object]:
        """For ``status --format json``."""
        action = self.question.action
        return {
            "question": self.question.id,
            "kind": "survey" if self.question.survey else "report_back",
            "action": action.title,
            "prompt": action.survey.prompt if self.question.survey and action.survey else None,
            "total": self.total,
            "answers": [
                {"answer": a.id, "label": a.label, "count": a.count, "share": round(a.share, 4)} for a in self.answers
            ],
            "by_district": [{"district": p.district, "target": p.target, "count": p.count} for p in self.places],
        }


def tallies(newsletter: Newsletter, rows: Iterable[Row], directory: Directory) -> list[Tally]:
    """Each question the newsletter asks, with what members answered: every answer, zeros included, in the file's
    order (then any the file no longer has, by id); and, for an action whose targets depend on the district, the
    reports by district. A question nobody answered is there with a total of 0."""
    by_question: dict[str, list[Row]] = {}
    for row in rows:
        by_question.setdefault(row.question, []).append(row)
    out = []
    for question in questions(newsletter).values():
        found = by_question.get(question.id, [])
        total = sum(r.count for r in found)
        counts: dict[str, int] = dict.fromkeys(question.answers, 0)
        for row in found:
            counts[row.answer] = counts.get(row.answer, 0) + row.count
        answers = [Answer(a, question.answers.get(a, a), n, n / total if total else 0.0) for a, n in counts.items()]
        places: list[Place] = []
        if per_district(question.action, directory):
            places = _places(found, directory)
        out.append(Tally(question, total, answers, places))
    return out


def _places(rows: list[Row], directory: Directory) -> list[Place]:
    counts: dict[tuple[str | None, str | None], int] = {}
    for row in rows:
        key = (row.district if row.target else None, row.target)  # no target: the district was unknown, or not ours
        counts[key] = counts.get(key, 0) + row.count
    known = {d: i for i, d in enumerate(directory.districts)}
    order = sorted(counts, key=lambda k: (k[1] is None, known.get(k[0] or "", len(known)), k[0] or "", k[1] or ""))
    return [Place(district, _names(target, directory), counts[district, target]) for district, target in order]


def _names(target: str | None, directory: Directory) -> str | None:
    if target is None:
        return None
    names = {o.id: o.name for o in directory.officials}
    return " and ".join(names.get(i, i) for i in target.split(","))
