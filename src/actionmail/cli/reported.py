"""What members reported through `actionmail serve`, as `actionmail status` shows it after the sends."""

from __future__ import annotations

from pathlib import Path

import click

from actionmail import tally
from actionmail.audience import Store
from actionmail.config import Project
from actionmail.errors import InvalidInput, shown
from actionmail.newsletter import load_newsletter

_DONE = {"call": "called"}  # "3 called"; other report-backs: "3 reported"


def tallies(file: Path, project: Project, store: Store) -> list[tally.Tally] | None:
    """The tallies of the questions the newsletter ``file`` asks; None when it asks none, or can't be read (said
    on standard error: the sends are still shown)."""
    try:
        newsletter = load_newsletter(file, project.officials, project.settings.organization.country)
    except InvalidInput as e:
        click.echo(f"Note: what members reported can't be shown while {shown(file)} doesn't load: {e.problems[0]}",
                   err=True)  # fmt: skip
        return None
    if not tally.questions(newsletter):
        return None
    return tally.tallies(newsletter, store.reports.rows(tally.issue_of(file)), project.officials)


def lines(counted: list[tally.Tally]) -> list[str]:
    """The tallies as lines of text: each question's total, then by district (where the action's targets depend on
    it) or by answer, with each answer's share."""
    if not counted:
        return []
    rows: list[tuple[str, int, str]] = []  # label, count, share ("" for none)
    out: list[tuple[str, list[tuple[str, int, str]]]] = []
    for t in counted:
        action = t.question.action
        if t.question.survey and action.survey is not None:
            head = f"  {action.survey.prompt}: {t.total:,} answered"
            items = [(a.label, a.count, f"{a.share:.0%}") for a in t.answers]
        else:
            head = f"  {action.title}: {t.total:,} {_DONE.get(action.kind, 'reported')}"
            items = [(_place(p), p.count, "") for p in t.places]
        rows += items
        out.append((head, items))
    width = max((len(label) for label, _, _ in rows), default=0)
    digits = max((len(f"{count:,}") for _, count, _ in rows), default=1)
    text = ["What members reported (actionmail serve):"]
    for head, items in out:
        text.append(head)
        text += [f"    {label:<{width}}  {count:>{digits},}" + (f"  {share:>4}" if share else "")
                 for label, count, share in items]  # fmt: skip
    return text


def _place(place: tally.Place) -> str:
    if place.target is None:
        return "district unknown"
    if place.district is None:  # a group of another district set (congress) alone: its member says where
        return place.target
    return f"district {place.district}, {place.target}"
