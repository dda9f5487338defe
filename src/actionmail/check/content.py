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
from actionmail.newsletter import Action, CommitteeTarget, GroupTarget, OfficialTarget

# --- Leftover placeholders ------------------------------------------------------------------------------

# Merge fields ({first_name|friend}) and caller placeholders ([YOUR NAME]) are meant to be there; these are not.
_FINISH = "finish or remove it"
_MERGE = "write the merge field as {first_name|friend}"
_LINK = "put the link in: [the page's name](https://…)"
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"
)
# What a writer's placeholder names: "[INSERT LINK]", "[NAME OF TEAM LEAD]", "[DATE]", "ADD LINK".
_TO_COME = (
    "INSERT|ADD|PASTE|LINK|URL|NAME|DATE|TIME|DAY|PLACE|LOCATION|VENUE|ADDRESS|PHONE|NUMBER|EMAIL|TITLE|"
    "PHOTO|IMAGE|HERE|TBD|TBA|PLACEHOLDER|ENLACE|NOMBRE|FECHA|HORA|LUGAR|DIRECCI[OÓ]N|TEL[EÉ]FONO"
)
_LEFTOVERS = [
    (re.compile(r"\b(?:TK)+\b"), "'TK' (to come) is left in the text", _FINISH),
    (re.compile(r"\b(?:TODO|FIXME)\b"), "'{0}' is left in the text", _FINISH),
    (re.compile(r"\b(?:TB[DAC]|POR (?:DEFINIR|CONFIRMAR))\b"), "'{0}' is left in the text", _FINISH),
    (re.compile(r"\bX{3,}\b"), "'{0}' is left in the text", _FINISH),
    # A date not filled in: "December XX", "Dec. ??", "the XXth of May", "el XX de diciembre". X in capitals:
    # "XX" alone is a Roman numeral (Title XX), and "Malcolm X March" is a name.
    (re.compile(rf"(?i:\b(?:{_MONTHS})\.?)\s+(?:X{{1,2}}|\?{{1,3}}|_{{2,}}|#+)(?:st|nd|rd|th)?(?!\w)"
                rf"|\bXX(?:st|nd|rd|th)?\s+(?:of\s+|de\s+)?(?i:(?:{_MONTHS})\b)"),
     "'{0}': the date is not filled in", _FINISH),
    # A time or a number not filled in: "XX:00", "7/XX", "$XX", "XX%", "XX pm", "the XXth", "20XX", "555-XXXX".
    (re.compile(r"\b(?=[\d:/]*X)[\dX]{1,4}(?:[:/][\dX]{1,4})+\b|\$X+(?:[,.]X+)*\b|\bX{2,}\s?%"
                r"|\bX{1,2}\s?(?i:[ap]\.?m)\b\.?|\bX{1,2}(?:st|nd|rd|th)\b|\b\d+-?X{2,}\b"),
     "'{0}': a number is not filled in", _FINISH),
    # Question marks standing for what isn't known yet: "at ??? pm", "call ??". "What??" is prose.
    (re.compile(r"\?{3,}|(?<![\w?!])\?\?(?![\w?])"), "'{0}' is left in the text", _FINISH),
    # "INSERT LINK HERE", "ADD LINK", "URL HERE" in capitals; "insert link", "insert the link here" in any case
    # ("paste the link into your browser" is prose).
    (re.compile(rf"\b(?:INSERT|ADD|PASTE)\s+(?:(?:THE|A|AN)\s+)?(?:{_TO_COME})\b|\b(?:LINK|URL)\s+HERE\b"
                r"|(?i:\binsert\s+(?:link|url|photo|image|date|time)\b"
                r"|\b(?:insert|paste)\s+(?:(?:the|a|an)\s+)?(?:link|url)\s+here\b)"),
     "'{0}' is left in the text", _LINK),
    # "<link>", "(url)": the word where the link should be. Not "[text](link)", a link with a bad address,
    # which the links check reports as such.
    (re.compile(r"(?<!\])[<(]\s*(?i:link|url|enlace|link here|url here|insert link)\s*[>)]"),
     "'{0}' is left in the text where a link should be", _LINK),
    (re.compile(r"\{\{|\}\}|\{%|%\}"), "'{0}' is left in the text: template code, not a merge field", _FINISH),
    (re.compile(r"\[\[|\]\]"), "'{0}' is left in the text: a wiki-style link or an unfilled placeholder", _FINISH),
    (re.compile(r"%recipient\.[\w.]*%?"), "'{0}' is another provider's merge field", _MERGE),
    (re.compile(r"\*\|[A-Z0-9_:]+\|\*"), "'{0}' is a Mailchimp merge tag", _MERGE),
    (re.compile(r"lorem ipsum", re.IGNORECASE), "'{0}' is left in the text", _FINISH),
]  # fmt: skip

# Text in brackets that is not a link ("[RSVP](https://…)", "[RSVP][1]", "[RSVP]: https://…").
BRACKETED = re.compile(r"(?<![\]!\w])\[([^\[\]\n]*)\](?![(\[:])")
# Bracketed capitals written on purpose, anywhere: a note on a link ("[PDF]"), a label ("[UPDATE]").
_TAGS = frozenset(
    [
        "pdf", "video", "audio", "podcast", "photos", "slides", "live", "paywall", "update", "updated", "new",
        "breaking", "urgent", "action alert", "alert", "reminder", "correction", "today", "tonight", "tomorrow",
        "en español", "in english", "es", "en", "actualización", "urgente", "nuevo", "en vivo",
    ]
)  # fmt: skip
# A subject's tag, "[ACTION ALERT] Call the mayor", "[SEATTLE INDIVISIBLE] …", is bracketed capitals on purpose:
# unless it names a placeholder.
_TAGGED_KEYS = frozenset({"subject", "preheader", "headline", "title"})
_PLACEHOLDER_WORD = re.compile(rf"\b(?:{_TO_COME}|YOUR|SU|TU)\b")
# A writer's note to self, in any case and anywhere: "[Insert link here]", "[link]", "[TBD]".
_WRITERS_PLACEHOLDER = re.compile(r"\s*(?i:insert|paste|add\s+(?:a\s+|the\s+)?link|link|url|enlace|tbd|tba)\b")


def spoken(loc: yaml_source.Loc) -> bool:
    """A call script, or the message an email action has the reader send: the text the reader says or sends,
    where "[YOUR NAME]" is the reader's to fill."""
    return "script" in loc or "message" in loc


def placeholder_in_brackets(loc: yaml_source.Loc, value: str, match: re.Match[str]) -> bool:
    """Is this bracketed text (a :data:`BRACKETED` match in ``value``) a writer's placeholder left in?

    "[INSERT LINK]", "[NAME OF TEAM LEAD]", "[Insert link here]": capitals in brackets are the caller's
    placeholders only where someone reads the text aloud or sends it; anywhere else, and a writer's note to self
    ("[insert …]") anywhere, they are the writer's, not filled in.
    """
    inside = match[1]
    if _WRITERS_PLACEHOLDER.match(inside):
        return True
    letters = [c for c in inside if c.isalpha()]
    if spoken(loc) or len(letters) < 2 or not all(c.isupper() for c in letters):
        return False
    if " ".join(inside.split()).casefold() in _TAGS:
        return False
    tag = bool(loc) and loc[-1] in _TAGGED_KEYS and not value[: match.start()].strip()
    return not tag or bool(_PLACEHOLDER_WORD.search(inside))


def placeholders(draft: Draft) -> Iterator[Problem]:
    """Leftovers of drafting: TK, TODO, TBD, "December XX", "???", "[INSERT LINK]", "<link>", template braces,
    another tool's merge tags."""
    for loc, value in draft.strings():
        found: list[tuple[int, int]] = []  # what is reported, so that "[INSERT LINK]" is one problem, not two
        for match in BRACKETED.finditer(value):
            if placeholder_in_brackets(loc, value, match):
                found.append(match.span())
                yield draft.problem(
                    loc,
                    f"'{match[0]}' is a placeholder left in the text",
                    "fill it in (capitals in brackets are for the caller to fill only in a script or a message)",
                    near=match[0],
                )
                break
        for pattern, what, fix in _LEFTOVERS:
            for match in pattern.finditer(value):
                if not any(start <= match.start() < end for start, end in found):
                    found.append(match.span())
                    yield draft.problem(loc, what.format(match[0]), fix, near=match[0])
                    break


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
    """A newsletter going out after its own date; a registration deadline or a bill's hearing before it.

    Deadlines, election days and events before the newsletter's date are refused when the file is read. When
    the day it goes out (``draft.today``: today for `check`, the send's day for `send`) is later, one warning
    says so, naming the dates that will have passed by then: readers can't act on those (the send prints them
    without a countdown). Each registration deadline before the newsletter's date is a warning of its own, and so
    is each bill's hearing before it (a bill's data may be copied from an older alert): an error when an action
    asks readers to sign in or testify at that hearing.
    """
    issued, today = draft.newsletter.date, draft.today
    if today and today > issued:
        past = [f"{what} ({day})" for what, day in _days(draft) if day < today]
        # The day itself is left out: it is today, or --at's, which the reader knows (and tests can't pin).
        what = f"the newsletter's date, {issued}, is before the day it goes out"
        if past:
            shown = past if len(past) <= 3 else [*past[:2], f"{len(past) - 2} more dates"]
            what += (
                f": {_listed(shown)} will have passed, and readers can't act on {'it' if len(past) == 1 else 'them'}"
            )
        yield draft.problem(("date",), what, "set 'date:' to the day it goes out, and check it again", Severity.WARNING)
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
    signed_in = {action.sign_in.bill for _, action, _ in _actions(draft) if action.sign_in}
    for loc, action, _ in _actions(draft):
        hearing = draft.newsletter.bill(action.sign_in.bill).hearing if action.sign_in else None
        if hearing and action.deadline and action.deadline.date > hearing.date:
            yield draft.problem(
                (*loc, "deadline"),
                f"sign-in closes on {action.deadline.date}, after the hearing ({hearing.date})",
                "make 'deadline:' when sign-in closes: before the hearing starts (an hour before, in Washington)",
                Severity.WARNING,
            )
    for index, bill in enumerate(draft.newsletter.bills):
        if bill.hearing and bill.hearing.date < issued:
            asked = bill.id in signed_in
            yield draft.problem(
                ("bills", index, "hearing"),
                f"the hearing of {bill.number} on {bill.hearing.date} is before the newsletter's date ({issued})"
                + (": readers are asked to sign in for a hearing that has passed" if asked else ": it has passed"),
                "give the bill's next hearing (and its committee), or remove 'hearing:'",
                Severity.ERROR if asked else Severity.WARNING,
            )


def _days(draft: Draft) -> Iterator[tuple[str, dt.date]]:
    """Every day the newsletter asks readers to act by or on, with what it is."""
    for _, action, _ in _actions(draft):
        if action.deadline:
            yield f"the deadline of '{action.title}'", action.deadline.date
        if election := action.election:
            yield "election day", election.day
            if election.return_by and election.return_by.date != election.day:
                yield "the ballot deadline", election.return_by.date
            if election.registration_deadline:
                yield "the registration deadline", election.registration_deadline
        for event in action.events:
            yield f"'{event.title}'", event.date
        if action.window:
            yield f"the last day of '{action.title}'", action.window.last
    for bill in draft.newsletter.bills:
        if bill.hearing:
            yield f"the hearing of {bill.number}", bill.hearing.date
    for event in draft.newsletter.events:
        yield f"'{event.title}'", event.date


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


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
            elif isinstance(target, CommitteeTarget):
                ids, key = [m.official for m in target.members if isinstance(m, OfficialTarget)], "members"
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
# A local number without its area code: "684-4000", "684.4000".
_LOCAL_PHONE = re.compile(r"(?<![\w/.$,+-])\d{3}[.-]\d{4}(?![\w/%-]|[.,]\d)")
# What comes before it that makes it something else: an area code ("(206) 684-4000", "206-684-4000"), or the
# start of a range ("from 200-1000", "entre 200-1000"); a range's end after it ("200-1000 to 2000").
_AREA_CODE_OR_RANGE = re.compile(r"(?:(?:\d|\(\d{2,4}\))\s?[.-]?\s?|\b(?i:from|between|entre|de)\s)$")
_RANGE_AFTER = re.compile(r"\s(?i:to|a|or|o)\s+\d")


def phones(draft: Draft) -> Iterator[Problem]:
    """Phone numbers written in the text (a script, a why) that are not valid for their country.

    Phone fields (``number:``, ``hotline:``) are validated when the file is read; these are the rest.
    """
    region = draft.project.settings.organization.country
    for loc, value in draft.strings():
        if loc and loc[-1] in ("number", "hotline", "url"):
            continue
        seen: set[str] = set()  # each number once per text, however often it is written
        for match in _LOCAL_PHONE.finditer(value):
            if match[0] in seen:
                continue
            seen.add(match[0])
            # Only the few characters before it: a search to the start of a long text for each number would be
            # quadratic in it.
            before = max(0, match.start() - 10)
            if _AREA_CODE_OR_RANGE.search(value, before, match.start()) or _RANGE_AFTER.match(value, match.end()):
                continue
            try:
                local = phonenumbers.is_possible_number_with_reason(phonenumbers.parse(match[0], region))
            except phonenumbers.NumberParseException:
                continue  # not a number in this region at all: the check below judges it
            if local == _LOCAL_ONLY:
                yield draft.problem(
                    loc,
                    f"'{match[0]}' has no area code: readers can dial it only from inside the area, and mobile "
                    "phones often can't",
                    f"write it with its area code, like {_example(region)}",
                    near=match[0],
                )
        for match in _PHONE.finditer(value):
            text = match[0]
            if _ISO_DATE.fullmatch(text) or text in seen:
                continue
            seen.add(text)
            try:
                valid = phonenumbers.is_valid_number(phonenumbers.parse(text, region))
            except phonenumbers.NumberParseException:
                valid = False
            if not valid:
                yield draft.problem(
                    loc,
                    f"'{text}' is not a valid phone number in {region}",
                    f"check the digits; write it with its area code, like {_example(region)}",
                    near=text,
                )


_LOCAL_ONLY = phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY


def _example(region: str) -> str:
    return phonenumbers.format_number(
        phonenumbers.example_number(region) or phonenumbers.parse("+12066844000"),
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    )


# --- Call scripts ---------------------------------------------------------------------------------------

# About 30 seconds spoken, at the 150 words a minute of conversational speech.
SCRIPT_WORDS = 75
# A placeholder the caller fills: [YOUR NAME], [ZIP], {NAME}, <your name>, (name), a blank (____), "my name is X",
# "I live in City, State", NAME or ZIP in capitals; or the reader's own name as a merge field.
_CALLER = re.compile(
    r"\[[^\]]*[A-ZÁÉÍÓÚÑ][^\]]*\]|\{[A-Z][A-Z _]*\}|\{first_name[|}]|_{3,}|[<(](?i:your |su |tu )?(?i:name|nombre)[>)]"
    r"|\b(?i:my name is|I'm|I am|this is|me llamo|soy)\s+(?:X|N|NAME|YOUR NAME|SU NOMBRE)\b"
    r"|\b(?:City|Town|Ciudad),\s*(?:State|ST|Estado)\b|\b(?:NAME|ZIP|ZIP CODE|CITY|NOMBRE|CÓDIGO POSTAL)\b"
)
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
