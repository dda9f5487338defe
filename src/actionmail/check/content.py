"""Content: what a reader would notice is wrong — leftovers, a weekday that doesn't match its date, a deadline
already past, an official who has left office, a phone number that can't be dialled, a call script too long to
read in 30 seconds, a voting deadline without a time zone."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import phonenumbers

from actionmail import load as yaml_source
from actionmail.check.draft import Draft
from actionmail.errors import Problem, Severity
from actionmail.newsletter import Action, GroupTarget, OfficialTarget

# --- Leftover placeholders ------------------------------------------------------------------------------

# Merge fields ({first_name|friend}) and caller placeholders ([YOUR NAME]) are meant to be there; these are not.
_FINISH = "finish or remove it"
_MERGE = "write the merge field as {first_name|friend}"
_LEFTOVERS = [
    (re.compile(r"\b(?:TK)+\b"), "'TK' (to come) is left in the text", _FINISH),
    (re.compile(r"\b(?:TODO|FIXME)\b"), "'{0}' is left in the text", _FINISH),
    (re.compile(r"\bX{3,}\b"), "'{0}' is left in the text", _FINISH),
    (re.compile(r"\{\{|\}\}|\{%|%\}"), "'{0}' is left in the text: template code, not a merge field", _FINISH),
    (re.compile(r"\[\[|\]\]"), "'{0}' is left in the text: a wiki-style link or an unfilled placeholder", _FINISH),
    (re.compile(r"%recipient\.[\w.]*%?"), "'{0}' is another provider's merge field", _MERGE),
    (re.compile(r"\*\|[A-Z0-9_:]+\|\*"), "'{0}' is a Mailchimp merge tag", _MERGE),
    (re.compile(r"lorem ipsum", re.IGNORECASE), "'{0}' is left in the text", _FINISH),
]


def placeholders(draft: Draft) -> Iterator[Problem]:
    """Leftovers of drafting: TK, TODO, template braces, another tool's merge tags."""
    for loc, value in draft.strings():
        for pattern, what, fix in _LEFTOVERS:
            if match := pattern.search(value):
                yield draft.problem(loc, what.format(match[0]), fix, near=match[0])


# --- Weekdays next to dates -----------------------------------------------------------------------------

_EN_DAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3, "thu": 3,
    "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
_EN_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_ES_DAYS = {"lunes": 0, "martes": 1, "miércoles": 2, "miercoles": 2, "jueves": 3, "viernes": 4, "sábado": 5,
            "sabado": 5, "domingo": 6}  # fmt: skip
_ES_MONTHS = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}  # fmt: skip
_WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _alternatives(names: dict[str, int]) -> str:
    return "|".join(sorted(names, key=len, reverse=True))


_EN_DAY = rf"(?P<day>{_alternatives(_EN_DAYS)})\.?"
_EN_MONTH = rf"(?P<month>{_alternatives(_EN_MONTHS)})\.?"
_DATE_PATTERNS = [
    # "Tuesday, August 6", "Tue. Aug 6th, 2019", "Tuesday the 6th of August" is rare enough to leave out
    (rf"\b{_EN_DAY},?\s+{_EN_MONTH}\s+(?P<date>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>\d{{4}}))?",
     _EN_DAYS, _EN_MONTHS),
    # "Tuesday, 6 August 2019"
    (rf"\b{_EN_DAY},?\s+(?P<date>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_EN_MONTH}(?:,?\s+(?P<year>\d{{4}}))?\b",
     _EN_DAYS, _EN_MONTHS),
    # "martes 12 de noviembre", "el martes, 12 de noviembre de 2019"
    (rf"\b(?P<day>{_alternatives(_ES_DAYS)}),?\s+(?P<date>\d{{1,2}})\s+de\s+(?P<month>{_alternatives(_ES_MONTHS)})"
     r"(?:\s+(?:de|del)\s+(?P<year>\d{4}))?\b", _ES_DAYS, _ES_MONTHS),
]  # fmt: skip
_DATES = [(re.compile(pattern, re.IGNORECASE), days, months) for pattern, days, months in _DATE_PATTERNS]


def weekdays(draft: Draft) -> Iterator[Problem]:
    """A weekday written next to a date it doesn't fall on ("Tuesday, August 7" in 2019), in English or Spanish.

    Without a year, the date is taken in the year that puts it nearest the newsletter's own date, so "Friday,
    January 3" in a December newsletter is read as next January.
    """
    issued = draft.newsletter.date
    for loc, value in draft.strings():
        for pattern, days, months in _DATES:
            for match in pattern.finditer(value):
                weekday, month = days[match["day"].lower()], months[match["month"].lower()]
                day = int(match["date"])
                years = [int(match["year"])] if match["year"] else [issued.year - 1, issued.year, issued.year + 1]
                candidates = [d for year in years if (d := _date(year, month, day))]
                written = " ".join(match[0].split())
                if not candidates:
                    yield draft.problem(loc, f"'{written}' is not a date", "correct the date", near=match[0])
                    continue
                date = min(candidates, key=lambda d: abs((d - issued).days))
                if date.weekday() != weekday:
                    yield draft.problem(
                        loc,
                        f"'{written}': {date:%B} {date.day}, {date.year} is a {_WEEKDAY_NAMES[date.weekday()]}",
                        "correct the weekday or the date",
                        near=match[0],
                    )


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


# --- Dates that have passed -----------------------------------------------------------------------------


def _actions(draft: Draft) -> Iterator[tuple[yaml_source.Loc, Action, Any]]:
    """Each action with its key path and its YAML, main actions first."""
    for section in ("actions", "bonus"):
        written = draft.data.get(section) or []
        for index, action in enumerate(getattr(draft.newsletter, section)):
            yield (section, index), action, written[index]


def dates(draft: Draft) -> Iterator[Problem]:
    """A registration deadline already past on the send date; a newsletter sent after its own date.

    The send date is the newsletter's ``date``, the day it says it goes out. Deadlines, election days and
    events before it are refused when the file is read; what is left here is a registration deadline that has
    passed (readers can't act on it). When `send` runs on a later day, one warning says so: the countdowns
    ("in 5 days") and every check here were made as of the newsletter's date, and the fix is to change it.
    """
    issued = draft.newsletter.date
    if draft.today and draft.today > issued:
        yield draft.problem(
            ("date",),
            f"the newsletter's date, {issued}, has passed: its countdowns and deadlines were checked as of that day",
            "set 'date:' to the day it goes out, and check it again",
            Severity.WARNING,
        )
    for loc, action, _ in _actions(draft):
        election = action.election
        if election and election.registration_deadline and election.registration_deadline < issued:
            yield draft.problem(
                (*loc, "election", "registration_deadline"),
                f"the registration deadline {election.registration_deadline} is before the newsletter's date "
                f"({issued}): readers can't act on it",
                "drop it, or tell readers how to register late",
                Severity.WARNING,
            )


# --- Officials ------------------------------------------------------------------------------------------


def officials(draft: Draft) -> Iterator[Problem]:
    """Targets whose term has ended by the newsletter's date (an error), or whose details were last verified longer
    ago than ``[check] verified_within_days`` before it (a warning). Officials without a ``verified:`` date are
    not judged: docs/checks.md says why."""
    directory = draft.project.officials
    sent = draft.newsletter.date
    within = draft.project.settings.check.verified_within_days
    reported: set[str] = set()
    for loc, action, written in _actions(draft):
        for index, target in enumerate(action.targets):
            if isinstance(target, OfficialTarget):
                ids, key = [target.official], "official" if isinstance(written["targets"][index], dict) else None
            elif isinstance(target, GroupTarget):
                ids, key = directory.group(target.group).members, "group"
            else:
                continue
            where = (*loc, "targets", index, *([key] if key else []))
            for official_id in ids:
                if official_id in reported:
                    continue
                official = directory.official(official_id)
                if official.term_end and official.term_end < sent:
                    reported.add(official_id)
                    yield draft.problem(
                        where,
                        f"{official.name}'s term ended on {official.term_end}, before the newsletter's date ({sent})",
                        f"update '{official.id}' in officials.yaml with whoever holds the office now",
                    )
                elif official.verified and (sent - official.verified).days > within:
                    reported.add(official_id)
                    yield draft.problem(
                        where,
                        f"{official.name}'s details were last verified on {official.verified}, "
                        f"{(sent - official.verified).days} days before the newsletter's date",
                        f"check '{official.id}' in officials.yaml against the source and update 'verified:' "
                        f"(the limit is [check] verified_within_days = {within})",
                        Severity.WARNING,
                    )


# --- Phone numbers in the text --------------------------------------------------------------------------

# Phone-like text: an optional country code, then three groups of digits ("(206) 684-88", "206.684.8808").
# Written by hand because libphonenumber's own matcher only finds numbers that are possible, which skips exactly
# the mistyped ones this looks for.
_PHONE = re.compile(r"(?<![\w/.-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{2,4}[\s.-]\d{1,5}(?![\w/-])")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def phones(draft: Draft) -> Iterator[Problem]:
    """Phone numbers written in the text (a script, a why) that are not valid for their country.

    Phone fields (``number:``, ``hotline:``) are validated when the file is read; these are the rest.
    """
    region = draft.project.settings.organization.country
    for loc, value in draft.strings():
        if loc and loc[-1] in ("number", "hotline", "url"):
            continue
        for match in _PHONE.finditer(value):
            text = match[0]
            if _ISO_DATE.fullmatch(text):
                continue
            try:
                valid = phonenumbers.is_valid_number(phonenumbers.parse(text, region))
            except phonenumbers.NumberParseException:
                valid = False
            if not valid:
                example = phonenumbers.format_number(
                    phonenumbers.example_number(region) or phonenumbers.parse("+12066844000"),
                    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                )
                yield draft.problem(
                    loc,
                    f"'{text}' is not a valid phone number in {region}",
                    f"check the digits; write it with its area code, like {example}",
                    near=text,
                )


# --- Call scripts ---------------------------------------------------------------------------------------

# About 30 seconds spoken, at the 150 words a minute of conversational speech.
SCRIPT_WORDS = 75
# A placeholder the caller fills: [YOUR NAME], [ZIP], {NAME}; or the reader's own name as a merge field.
_CALLER = re.compile(r"\[[^\]]*[A-ZÁÉÍÓÚÑ][^\]]*\]|\{[A-Z][A-Z _]*\}|\{first_name[|}]")
_WORD = re.compile(r"\w")


def scripts(draft: Draft) -> Iterator[Problem]:
    """Call scripts over about 75 words (30 seconds spoken), or without a placeholder for the caller's name."""
    for loc, action, written in _actions(draft):
        for index, script in enumerate(action.script):
            where = _script_loc((*loc, "script"), written.get("script"), index)
            words = sum(1 for word in script.text.split() if _WORD.search(word))
            if words > SCRIPT_WORDS:
                yield draft.problem(
                    where,
                    f"the script is {words} words, about {round(words / 2.5)} seconds spoken; callers lose the "
                    f"thread after about {SCRIPT_WORDS} words (30 seconds)",
                    "cut it to one ask; move the background to 'why:'",
                    Severity.WARNING,
                )
            if not _CALLER.search(script.text):
                opening = (
                    "Hola, me llamo [SU NOMBRE] y vivo en [SU CÓDIGO POSTAL]"
                    if draft.language == "es"
                    else ("Hi, my name is [YOUR NAME] and I live in [ZIP]")
                )
                yield draft.problem(
                    where,
                    "the script doesn't have the caller say who they are: offices count calls from constituents",
                    f"start it with '{opening}.'",
                    Severity.WARNING,
                )


def _script_loc(loc: yaml_source.Loc, written: Any, index: int) -> yaml_source.Loc:
    """Where the text of the index-th script is: ``script: TEXT``, ``script: {text: …}`` or a list of either."""
    if isinstance(written, list):
        loc, written = (*loc, index), written[index]
    return (*loc, "text") if isinstance(written, dict) else loc


# --- Voting ---------------------------------------------------------------------------------------------


def voting(draft: Draft) -> Iterator[Problem]:
    """A ballot deadline with a time but no time zone: 8 pm where? Readers travel, and so do emails."""
    for loc, action, _ in _actions(draft):
        deadline = action.election.return_by if action.election else None
        if deadline and deadline.time and not deadline.timezone:
            zone = draft.project.settings.organization.timezone
            yield draft.problem(
                (*loc, "election", "return_by"),
                f"the ballot deadline {deadline.date} {deadline.time:%H:%M} has no time zone",
                f"add 'timezone: {zone}' (or the zone of the election)",
                Severity.WARNING,
            )
