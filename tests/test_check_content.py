"""What a newsletter's text can still get wrong after the checks of tests/test_checks.py: leftovers of drafting in
every form volunteers leave them, links lost in mid-sentence, phone numbers without an area code — and the
ordinary prose and caller placeholders that must not be mistaken for them.

Each case edits one thing in tests/test_checks.py's clean newsletter, as a volunteer's mistake would.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from actionmail import check
from tests.conftest import write
from tests.test_checks import CLEAN, F

BACKGROUND = "  Vote by Tuesday, August 6."
HEADLINE = "headline: No police partnerships on facial recognition"
SCRIPT = "Please ban police partnerships with Ring."
TITLE = "    title: Call the mayor"


def problems(project: Path, newsletter: str) -> list[str]:
    path = write(project / "newsletters", "day.yaml", newsletter)
    return [str(p) for p in check.check_files([path], today=dt.date(2019, 8, 1), spam_score=False)]


def edited(old: str, new: str) -> str:
    assert old in CLEAN
    return CLEAN.replace(old, new, 1)


# --- Leftovers

LEFTOVER = "finish or remove it"
LINK = "put the link in: [the page's name](https://…)"
BRACKETS = "fill it in (capitals in brackets are for the caller to fill only in a script or a message)"

LEFTOVERS = {
    "insert-link-in-brackets": (
        BACKGROUND,
        "  Read the guide at [INSERT LINK].",
        f"{F}:8: background: '[INSERT LINK]' is a placeholder left in the text: {BRACKETS}",
    ),
    "team-lead": (
        BACKGROUND,
        "  Your [TEAM LEAD] will call you.",
        f"{F}:8: background: '[TEAM LEAD]' is a placeholder left in the text: {BRACKETS}",
    ),
    "name-of-team-lead": (
        BACKGROUND,
        "  Your team lead, [NAME OF TEAM LEAD], will call you.",
        f"{F}:8: background: '[NAME OF TEAM LEAD]' is a placeholder left in the text: {BRACKETS}",
    ),
    "link-in-brackets-in-a-title": (
        TITLE,
        "    title: Call the mayor [LINK]",
        f"{F}:11: actions[0].title: '[LINK]' is a placeholder left in the text: {BRACKETS}",
    ),
    "insert-link-here-in-any-case": (
        BACKGROUND,
        "  Read the guide: [Insert link here].",
        f"{F}:8: background: '[Insert link here]' is a placeholder left in the text: {BRACKETS}",
    ),
    "december-xx": (
        BACKGROUND,
        "  The hearing is on December XX.",
        f"{F}:8: background: 'December XX': the date is not filled in: {LEFTOVER}",
    ),
    "el-xx-de-diciembre": (
        BACKGROUND,
        "  La audiencia es el XX de diciembre.",
        f"{F}:8: background: 'XX de diciembre': the date is not filled in: {LEFTOVER}",
    ),
    "time-xx": (
        BACKGROUND,
        "  Doors open at XX:30.",
        f"{F}:8: background: 'XX:30': a number is not filled in: {LEFTOVER}",
    ),
    "dollars-xx": (
        BACKGROUND,
        "  The budget cuts $XX million from transit.",
        f"{F}:8: background: '$XX': a number is not filled in: {LEFTOVER}",
    ),
    "tbd": (
        BACKGROUND,
        "  Location TBD.",
        f"{F}:8: background: 'TBD' is left in the text: {LEFTOVER}",
    ),
    "question-marks": (
        BACKGROUND,
        "  Meet at ??? on Saturday.",
        f"{F}:8: background: '???' is left in the text: {LEFTOVER}",
    ),
    "question-marks-in-a-script": (
        SCRIPT,
        "Please ban police partnerships with Ring by ???.",
        f"{F}:14: actions[0].script: '???' is left in the text: {LEFTOVER}",
    ),
    "insert-link-here-in-capitals": (
        BACKGROUND,
        "  Sign the petition: INSERT LINK HERE",
        f"{F}:8: background: 'INSERT LINK' is left in the text: {LINK}",
    ),
    "angle-link": (
        BACKGROUND,
        "  Sign the petition at <link>.",
        f"{F}:8: background: '<link>' is left in the text where a link should be: {LINK}",
    ),
    "parenthesis-link": (
        BACKGROUND,
        "  Sign the petition (link) today.",
        f"{F}:8: background: '(link)' is left in the text where a link should be: {LINK}",
    ),
}


@pytest.mark.parametrize(("old", "new", "expected"), LEFTOVERS.values(), ids=LEFTOVERS.keys())
def test_leftovers(project: Path, old: str, new: str, expected: str) -> None:
    assert problems(project, edited(old, new)) == [expected]


# Real prose, and the placeholders callers fill in, must pass.
PROSE = {
    "roman-numeral": (BACKGROUND, "  Title XX of the Social Security Act funds child care."),
    "subject-tag": (HEADLINE, "headline: '[ACTION ALERT] No police partnerships on facial recognition'"),
    "link-in-capitals": (BACKGROUND, "  [RSVP](https://example.org/rsvp) by Tuesday, August 6."),
    "question": (BACKGROUND, "  Who pays for it?? We do."),
    "paste-the-link": (BACKGROUND, "  If the button doesn't work, copy and paste the link into your browser."),
    "add-your-name": (BACKGROUND, "  Add your name to the petition: it takes a minute."),
    "may-in-prose": (BACKGROUND, "  You may call twice; March with us on Saturday."),
    "a-reference-link": (BACKGROUND, "  Read [the FAQ][faq].\n\n  [faq]: https://example.org/faq"),
    "placeholders-in-a-script": (SCRIPT, "My zip is [ZIP]; please tell [NAME OF STAFFER] I called."),
    "a-note-on-a-link": (BACKGROUND, "  Read [the bill](https://example.org/bill.pdf) [PDF]."),
    "a-name": (BACKGROUND, "  Join the Malcolm X March in May."),
    "a-list-tag": (HEADLINE, "headline: '[SEATTLE INDIVISIBLE] No police partnerships on facial recognition'"),
}


@pytest.mark.parametrize(("old", "new"), PROSE.values(), ids=PROSE.keys())
def test_prose_is_not_a_leftover(project: Path, old: str, new: str) -> None:
    assert problems(project, edited(old, new)) == []


# --- Links lost in mid-sentence

LOST = "lost in copy-paste?: put the link back: … at [the page's name](https://…)"
LOST_IN_SENTENCE = {
    "two-spaces-where-the-link-was": (
        BACKGROUND,
        "  You can find the summary at  and share it with friends.",
        f"{F}:8: background: 'can find the summary at' is followed by no link, where it promises one: {LOST}",
    ),
    "at-then-a-full-stop": (
        BACKGROUND,
        "  Read the summary at . Then call the mayor.",
        f"{F}:8: background: 'Read the summary at' is followed by no link, where it promises one: {LOST}",
    ),
    "here-then-a-comma": (
        BACKGROUND,
        "  The summary is here: , then call the mayor.",
        f"{F}:8: background: 'The summary is here:' is followed by no link, where it promises one: {LOST}",
    ),
}


@pytest.mark.parametrize(("old", "new", "expected"), LOST_IN_SENTENCE.values(), ids=LOST_IN_SENTENCE.keys())
def test_a_link_lost_in_mid_sentence(project: Path, old: str, new: str, expected: str) -> None:
    assert problems(project, edited(old, new)) == [expected]


@pytest.mark.parametrize(
    "sentence",
    [
        "  Look at and share the summary below.",  # one space: "look at and share" is English
        "  This is what the council is looking at. Then it votes.",
        "  Find the summary at [the council's site](https://example.org/summary), then call.",
        "  Meet us at 5 pm.  Bring a friend.",
    ],
)
def test_prose_is_not_a_lost_link(project: Path, sentence: str) -> None:
    assert problems(project, edited(BACKGROUND, sentence)) == []


# --- Phone numbers without an area code

NO_AREA_CODE = (
    f"{F}:14: actions[0].script: '684-4000' has no area code: readers can dial it only from inside the area, and "
    "mobile phones often can't: write it with its area code, like +1 201-555-0123"
)


@pytest.mark.parametrize(
    ("written", "number"),
    [("at 684-4000", "684-4000"), ("at 684.4000", "684.4000"), ("(the main line) 684-4000", "684-4000")],
)
def test_a_phone_number_without_its_area_code(project: Path, written: str, number: str) -> None:
    text = edited(SCRIPT, f"Please ban police partnerships with Ring. Call me back {written}, or at {number}.")
    assert problems(project, text) == [NO_AREA_CODE.replace("684-4000", number)]  # each number once


@pytest.mark.parametrize(
    "text",
    [
        "Call me back at (206) 684-4000.",
        "Call me back at 206-684-4000.",
        "Call me back at +1 206 684-4000.",
        "It costs $500-1000 a year.",
        "Between 200-1000 people came.",
        "Ballot 2019-2020 is in.",
        "Zip 98101-1234.",
    ],
)
def test_numbers_that_are_not_local_phone_numbers(project: Path, text: str) -> None:
    assert problems(project, edited(SCRIPT, f"Please ban police partnerships with Ring. {text}")) == []


# --- False positives that are gone


def test_the_organizations_website_linked_by_the_newsletter_is_not_linked_under_two_texts(project: Path) -> None:
    # The template links the website in its header ("Seattle Indivisible") and footer ("Our website").
    website = "https://www.seattleindivisible.com/"
    assert website in (project / "actionmail.toml").read_text()
    text = edited(BACKGROUND, f"  More on [our chapter's site]({website}).")
    assert problems(project, text) == []
    # Two texts of the newsletter's own for the one address are still worth a look.
    text = edited(BACKGROUND, f"  More on [our chapter's site]({website}) and [the survey]({website}).")
    assert problems(project, text) == [
        f"{F}:8: background: warning: {website} is linked as 'our chapter's site' and 'the survey': check that each "
        "link has the right address (links to the same page read better with one name)"
    ]


@pytest.mark.parametrize(
    "opening",
    [
        "Hi, my name is X and I live in City, State.",
        "Hi, my name is ____ and I live in ____.",
        "Hi, this is NAME from ZIP.",
        "Hi, I'm (your name), a constituent from City, ST.",
    ],
)
def test_caller_placeholders_of_every_kind(project: Path, opening: str) -> None:
    text = edited("Hi, my name is [YOUR NAME] and I live in [ZIP].", opening)
    assert problems(project, text) == []
