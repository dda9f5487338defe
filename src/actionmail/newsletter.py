"""The model of one day's action email: what a file in ``newsletters/`` can say.

``docs/newsletter-format.md`` documents every field with examples; ``newsletters/`` holds complete files.
Validation needs a context: ``officials`` (the :class:`~actionmail.officials.Directory` that ids refer to),
``region`` (for phone numbers written without a country code) and ``issue_date`` (so deadlines that have
already passed are caught where they are written). :func:`load_newsletter` supplies it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from actionmail import load, merge
from actionmail.errors import InvalidInput, Problem, shown
from actionmail.fields import (
    Email,
    Link,
    Markdown,
    Model,
    Name,
    Phone,
    Slug,
    Text,
    Time,
    TimeZone,
    Url,
    error,
    not_before_issue,
    slugify,
)
from actionmail.officials import EMPTY, Directory, LabelledPhone, did_you_mean
from actionmail.syntax import shorten

Language = Literal["en", "es"]
Kind = Literal[
    "call",
    "email",
    "petition",
    "event",
    "read",
    "share",
    "thank",
    "vote",
    "survey",
    "donate",
    "volunteer",
    "other",
    "testify",
    "comment",
]


def _directory(info: ValidationInfo) -> Directory:
    directory = (info.context or {}).get("officials")
    return directory if isinstance(directory, Directory) else EMPTY


def _when(what: str) -> Any:
    def check(value: dt.date, info: ValidationInfo) -> dt.date:
        return not_before_issue(value, info, what)

    return AfterValidator(check)


def _one_line(value: str) -> str:
    # A subject is a header: a line break in it would end the header and start another (a Bcc:, say).
    if "\n" in value:
        raise error("one_line", "the subject has a line break in it", "write it on one line")
    return value


def _bare_date_as(key: str) -> Any:
    """A before-validator accepting a bare date (``2019-08-06``) for ``{key: 2019-08-06}``."""

    def wrap(cls: Any, value: Any) -> Any:
        return {key: value} if isinstance(value, dt.date | str) else value

    return model_validator(mode="before")(wrap)  # pydantic makes it a classmethod (first parameter: cls)


class Deadline(Model):
    """A date, with an optional time and time zone: ``{date: 2019-08-06, time: "20:00", timezone: …}``.

    A bare date (``deadline: 2019-08-06``) is accepted too.
    """

    date: Annotated[dt.date, _when("the deadline")]
    time: Time | None = None
    timezone: TimeZone | None = Field(None, description="IANA name; the organization's time zone when left out.")

    _bare_date = _bare_date_as("date")


class Credit(Model):
    """``adapted_from``: whose action this is adapted from."""

    name: Text
    url: Url | None = None


# --- Targets: who the reader contacts -------------------------------------------------------------------


class OfficialTarget(Model):
    """An official from ``officials.yaml``, by id: ``- official: durkan``."""

    official: Slug
    note: Text | None = Field(None, description='Shown after the name, e.g. "chairs the committee".')

    @field_validator("official")
    @classmethod
    def _known(cls, official_id: str, info: ValidationInfo) -> str:
        return _in_directory(official_id, [o.id for o in _directory(info).officials], "in officials.yaml")


class GroupTarget(Model):
    """A group from ``officials.yaml``: ``- group: district-councilmember``."""

    group: Slug
    label: Text | None = Field(None, description="Overrides the group's label, e.g. in a Spanish newsletter.")
    note: Text | None = None

    @field_validator("group")
    @classmethod
    def _known(cls, group_id: str, info: ValidationInfo) -> str:
        return _in_directory(group_id, [g.id for g in _directory(info).groups], "a group in officials.yaml")


def _in_directory(target_id: str, known: list[str], where: str) -> str:
    if target_id not in known:
        raise error("unknown_target", f"'{target_id}' is not {where}", did_you_mean(target_id, known))
    return target_id


class LookupTarget(Model):
    """Someone who depends on the reader's address: ``- lookup: {text: Find your legislators, url: …}``."""

    lookup: Link
    label: Text = Field(description='Who the reader will find: "your state legislators".')
    id: Slug | None = Field(None, description="Lets a script name this target in its 'for:'.")
    note: Text | None = Field(None, description='"Use the local office number: DC voicemail is full."')


class HotlineTarget(Model):
    """A call-in line that connects the reader to the right office."""

    hotline: Phone
    label: Text = Field(description='"U.S. Capitol switchboard".')
    note: Text | None = Field(None, description='"Ask for your senator by name."')
    id: Slug | None = Field(None, description="Lets a script name this target in its 'for:'.")


class InlineTarget(Model):
    """An official written out in the newsletter itself, not in ``officials.yaml``."""

    name: Text
    title: Text
    office: Text | None = None
    district: Name | None = None
    phones: list[LabelledPhone] = []
    email: Email | None = None
    contact_form: Url | None = None
    note: Text | None = None
    id: Slug | None = Field(None, description="Lets a script name this target in its 'for:'.")


def _target_tag(value: Any) -> str:
    if isinstance(value, str):
        return "<official>"
    # A dict from the file, a model when one is validated again; anything else (a list, a number) goes to the
    # inline form, whose error says a mapping of keys is expected.
    keys = value if isinstance(value, dict) else (value.model_fields_set if isinstance(value, Model) else ())
    return next(
        (f"<{key}>" for key in ("official", "group", "lookup", "hotline", "committee") if key in keys), "<inline>"
    )


def _official_shorthand(value: Any) -> Any:
    return {"official": value} if isinstance(value, str) else value


# --- Legislation: bills, numbered steps, petitions, committees, sign-in and rule comments -----------------
# (docs/newsletter-format.md, "Legislation"). Bills are the newsletter's own data (``bills:``); an action names
# them by id (``bills: [hb-1234]``, ``sign_in: {bill: hb-1234}``), and any text by ``{bill.hb-1234}`` (its
# number) or ``{bill.hb-1234.title}``, which :func:`validate_newsletter` fills in before validating.

Position = Literal["support", "oppose"]
SignInPosition = Literal["pro", "con", "other"]
# What a bill's position means on a legislature's sign-in form (Washington's says Pro, Con, Other).
SIGN_IN_FOR: dict[str, str] = {"support": "pro", "oppose": "con"}


class Hearing(Model):
    """When a committee hears a bill: ``{date: 2020-01-14, time: "10:00"}``; a bare date is accepted too.

    Unlike a deadline, a hearing before the newsletter's date is not refused when the file is read (a bill's
    data may be copied from an older alert): `check` flags it instead."""

    date: dt.date
    time: Time | None = None
    timezone: TimeZone | None = Field(None, description="IANA name; the organization's time zone when left out.")

    _bare_date = _bare_date_as("date")


class Bill(Model):
    """One entry of ``bills:``: a bill the email is about, named elsewhere by its ``id``."""

    id: Slug = Field(description="How actions and text refer to this bill: hb-1234, used as {bill.hb-1234}.")
    number: Name = Field(description='As the legislature writes it: "HB 1234", "S. 1".')
    title: Text = Field(description='Its short title: "Concerning tenant protections".')
    companion: Name | None = Field(None, description='The companion bill in the other chamber: "SB 5678".')
    summary: Text | None = Field(None, description="One line: what it does.")
    committee: Text | None = Field(None, description='Where it is now: "House Housing Committee".')
    hearing: Hearing | None = Field(None, description="When that committee hears it; `check` flags one past.")
    position: Position | None = Field(None, description="support or oppose: the organization's position.")
    link: Url | None = Field(None, description="The bill's page on the legislature's site.")


def written_bills(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The bills of a newsletter as read from its file, before validation, by id (those with an id that is text)."""
    written = data.get("bills")
    bills = written if isinstance(written, list) else []
    return {
        str(b["id"]).strip(): b
        for b in bills
        if isinstance(b, dict) and isinstance(b.get("id"), str | int) and not isinstance(b.get("id"), bool)
    }


def _note_bills(data: Any, context: Any) -> None:
    """Share the ids of the newsletter's bills, so each action's reference is checked where it is written
    (``bills:`` comes after ``actions:``, and is validated after them)."""
    if isinstance(context, dict) and isinstance(data, dict):
        # A position that is there but not text is "?": its own error says so, and the sign-in's need not.
        context["bills"] = {
            bill_id: (position if isinstance(position := b.get("position"), str) else None if position is None else "?")
            for bill_id, b in written_bills(data).items()
        }


def bill_hint(bill_id: str, known: Any) -> str:
    guess = difflib.get_close_matches(bill_id, list(known), n=1, cutoff=0.5)
    return f"did you mean '{guess[0]}'?" if guess else "add it to the newsletter's 'bills:', or check the id"


def _known_bill(bill_id: str, info: ValidationInfo) -> str:
    known = (info.context or {}).get("bills")
    if isinstance(known, dict) and bill_id not in known:
        raise error("unknown_bill", f"'{bill_id}' is not in this newsletter's 'bills:'", bill_hint(bill_id, known))
    return bill_id


BillRef = Annotated[Slug, AfterValidator(_known_bill)]


class Step(Model):
    """One of an action's numbered steps: "1. Look up your representative. 2. Call. 3. Tell us you called."."""

    text: Text
    link: Link | None = Field(None, description="A link for this step: the district finder, the form.")
    phone: Phone | None = Field(None, description="A number to call for this step.")
    target: Slug | None = Field(None, description="A target of this action (its id) that this step is about.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value


# A whole number as written (true is not 1), and no more than there are people: babel can't write 10**30.
Count = Annotated[int, Field(strict=True, le=10_000_000_000)]


class Petition(Model):
    """For ``kind: petition``: the petition itself. The sign button is the action's ``link``."""

    to: Text = Field(description='Whom it is addressed to: "Members of Congress".')
    text: Text = Field(description="The petition's own words, as signers sign them.")
    why: Markdown | None = Field(None, description='"Why this matters": the petition\'s case, if it has one.')
    signatures: Count | None = Field(None, description="How many have signed so far.")
    goal: Count | None = Field(None, description="How many signatures it aims for.")

    @field_validator("signatures")
    @classmethod
    def _not_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise error("signatures", f"{value} signatures is less than none", "write 0 or more, or leave it out")
        return value

    @field_validator("goal")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise error("goal", f"a goal of {value} signatures is no goal", "write a number above 0, or leave it out")
        return value


def _member_tag(value: Any) -> str:
    official = isinstance(value, str | OfficialTarget) or (isinstance(value, dict) and "official" in value)
    return "<official>" if official else "<inline>"


Member = Annotated[
    Annotated[OfficialTarget, BeforeValidator(_official_shorthand), Tag("<official>")]
    | Annotated[InlineTarget, Tag("<inline>")],
    Discriminator(_member_tag),
]


class CommitteeTarget(Model):
    """A legislative committee: ``- committee: House Housing Committee`` with its ``members``. Readers whose
    district is known see their own member marked."""

    committee: Text = Field(description='Its name: "House Committee on Housing".')
    members: list[Member] = Field(
        min_length=1, description="Official ids, or members written out (with 'district' to mark the reader's)."
    )
    note: Text | None = Field(None, description='"It votes on HB 1234 on Thursday."')
    link: Link | None = Field(None, description="The committee's page.")
    id: Slug | None = Field(None, description="Lets a script or a step name this target.")
    set: Name | None = Field(
        None,
        description="The district set of its members' districts in officials.yaml (a state legislature's committee: "
        "its members' legislative districts, e.g. state-house); the default set when left out.",
    )

    @field_validator("set")
    @classmethod
    def _known_set(cls, name: str | None, info: ValidationInfo) -> str | None:
        if name is None:
            return None
        return _in_directory(name, _directory(info).sets, "a district set of officials.yaml's per-district groups")


class SignIn(Model):
    """For ``kind: testify``: sign in PRO or CON on a bill, or sign up to testify, on a legislature's remote
    sign-in system before the committee's hearing. The form is the action's ``link``; the hearing, the bill's."""

    bill: BillRef = Field(description="The id of the bill, in this newsletter's 'bills:'.")
    position: SignInPosition | None = Field(None, description="pro, con or other; the bill's position when left out.")
    how: Literal["sign-in", "testify", "written"] = Field(
        "sign-in",
        description="sign-in: have your position noted; testify: speak at the hearing; written: send testimony.",
    )

    @model_validator(mode="after")
    def _position(self, info: ValidationInfo) -> Self:
        bills = (info.context or {}).get("bills")
        ours = bills.get(self.bill) if isinstance(bills, dict) else None
        if ours is not None and ours not in SIGN_IN_FOR:
            return self  # the bill's position is not one: its own error says so
        if self.position is None and ours not in SIGN_IN_FOR:
            raise error(
                "sign_in_position",
                f"no position to sign in with: neither here nor on the bill '{self.bill}'",
                "add 'position: pro' (or con), or the bill's 'position: support' (or oppose)",
            )
        if self.position is not None and ours in SIGN_IN_FOR and self.position != SIGN_IN_FOR[ours]:
            raise error(
                "sign_in_position",
                f"signing in '{self.position}' on a bill whose position is '{ours}'",
                f"use 'position: {SIGN_IN_FOR[ours]}', or leave it out to follow the bill",
            )
        return self


class RuleComment(Model):
    """For ``kind: comment``: a public comment on a proposed rule. The comment form is the action's ``link``,
    the end of the comment period its ``deadline``."""

    agency: Text = Field(description='"Environmental Protection Agency", "WA Department of Ecology".')
    docket: Name = Field(description='The docket or rule id, as the comment form asks for it: "EPA-HQ-OAR-2018-0283".')
    rule: Text | None = Field(None, description="The rule's title.")
    position: Position | None = Field(None, description="support or oppose.")


Target = Annotated[
    Annotated[OfficialTarget, BeforeValidator(_official_shorthand), Tag("<official>")]
    | Annotated[GroupTarget, Tag("<group>")]
    | Annotated[LookupTarget, Tag("<lookup>")]
    | Annotated[HotlineTarget, Tag("<hotline>")]
    | Annotated[CommitteeTarget, Tag("<committee>")]
    | Annotated[InlineTarget, Tag("<inline>")],
    Discriminator(_target_tag),
]


# --- What the reader says or sends ----------------------------------------------------------------------


class Branch(Model):
    when: Text = Field(description='"If they say yes".')
    say: Text


class Script(Model):
    """What to say on the call. Keep caller placeholders such as ``[YOUR NAME]`` and ``[ZIP]`` as written."""

    for_: list[Slug] = Field([], alias="for", description="Target official or group ids this script is for.")
    text: Text
    voicemail: Text | None = Field(None, description="A shorter version to leave on voicemail.")
    branches: list[Branch] = []
    language: LanguageTag | None = None
    intro: Text | None = Field(None, description='Shown before the script: "Feel free to make it your own."')
    voicemail_note: Text | None = Field(
        None, description='What to do on voicemail: "Leave your full address so your call is counted."'
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"text": value}
        if isinstance(value, dict) and isinstance(value.get("for"), str):
            return {**value, "for": [value["for"]]}
        return value

    @model_validator(mode="after")
    def _voicemail_note(self) -> Self:
        if self.voicemail_note and not self.voicemail:
            raise error(
                "voicemail_note",
                "'voicemail_note' is shown with the voicemail text, and this script has none",
                "add 'voicemail:' (what to say), or put the note in 'intro'",
            )
        return self


def _scripts(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


class Message(Model):
    """For ``kind: email``: the email the reader sends to the targets."""

    subject: Text
    body: Text


# --- Kind-specific sections -----------------------------------------------------------------------------


class ReturnWay(Model):
    how: Text = Field(description='"Drop box", "By mail".')
    note: Text | None = Field(None, description='"No stamp needed: postage is free."')
    link: Link | None = None


class Election(Model):
    """For ``kind: vote``."""

    name: Text = Field(description='"the 2019 primary election".')
    day: Annotated[dt.date, _when("election day")]
    return_by: Deadline | None = Field(None, description="When ballots must be returned.")
    ways_to_return: list[ReturnWay] = []
    guides: list[Link] = Field([], description="Voter guides.")
    replacement_ballot: Link | None = None
    registration_deadline: dt.date | None = None
    registration_link: Link | None = Field(None, description="Where to register to vote.")


class Choice(Model):
    label: Text
    url: Url | None = Field(None, description="Where this answer goes; else the survey link with ?answer=value.")
    value: Name | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.url is None) == (self.value is None):
            raise error("choice", "a choice needs either 'url' or 'value'", "give it one of the two")
        return self


def answer_id(value: str) -> str:
    """What stands for a survey answer in the link that counts it, and in the tallies: its value, slugified."""
    return slugify(value)


class Survey(Model):
    """For ``kind: survey``. With a ``link``, the answers go to that survey; without one, members' one-tap answers
    (the choices with a ``value``) are counted by ``actionmail serve`` (:mod:`actionmail.tally`)."""

    prompt: Text
    link: Link | None = Field(None, description="The survey itself; left out, actionmail serve counts the answers.")
    choices: list[Choice] = Field([], description="One-click answers.")
    answer_param: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = "answer"

    @property
    def counted(self) -> bool:
        """Whether actionmail serve counts the answers (there is no survey of the organization's own to go to)."""
        return self.link is None

    @model_validator(mode="after")
    def _answerable(self) -> Self:
        if self.link is not None:
            return self
        values = [c.value for c in self.choices if c.value is not None]
        if not values:
            raise error(
                "survey_answers",
                "a survey without 'link' is answered through actionmail serve, and has no choice with a 'value'",
                "add choices like {label: 'Yes', value: 'yes'}, or a 'link' to a survey of your own",
            )
        seen: dict[str, str] = {}
        for value in values:
            answer = answer_id(value)
            if not answer:
                raise error(
                    "survey_answer", f"the value '{value}' has no letter or digit to count it by", "use one like 'yes'"
                )
            if answer in seen:
                raise error(
                    "survey_answer",
                    f"the values '{seen[answer]}' and '{value}' would be counted as one answer ('{answer}')",
                    "give each choice a value of its own",
                )
            seen[answer] = value
        return self


class ReportBack(Model):
    """``report_back``: the outlined button after the action, "Let us know you called". Without ``url``, members'
    taps are counted by ``actionmail serve``; with one, it links there (a form of the organization's own)."""

    text: Text
    url: Url | None = Field(None, description="A form of your own; left out, actionmail serve counts who taps it.")

    @property
    def counted(self) -> bool:
        return self.url is None


class Event(Model):
    title: Text
    date: Annotated[dt.date, _when("the event")]
    start: Time | None = None
    end: Time | None = None
    timezone: TimeZone | None = None
    recurrence: Text | None = Field(None, description='"1st and 3rd Tuesdays"; date is then the next one.')
    venue: Text | None = None
    address: Text | None = None
    online: Link | None = None
    rsvp: Link | None = None
    description: Markdown | None = None
    accessibility: Text | None = None
    transit: Text | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.end is not None and (self.start is None or self.end <= self.start):
            raise error("event_end", "the event ends before it starts", "check 'start' and 'end' (or add 'start')")
        return self


# --- Alerts as they are written: languages, alternatives, time windows, notes ---------------------------
# Languages within an email (a script in Spanish in an English email), "if this applies to you, do this
# instead", a call-in day or a date range, an article's outlet and authors, footnotes with a dated update.

_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _language_tag(value: str) -> str:
    if not _LANGUAGE_TAG.match(value):
        raise error(
            "language_tag",
            f"{shorten(value)} is not a language code",
            "write a code such as es, en, vi or zh-Hant",
        )
    return value


LanguageTag = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    AfterValidator(_language_tag),
    Field(description="The language this is written in, when not the email's: es, en, vi, zh-Hant…"),
]


class Window(Model):
    """``window``: when the action happens — a call-in day (``window: 2019-08-06``: that day only), or a date
    range (``{start: 2020-02-14, end: 2020-02-23, name: the recess}``). Shown with "today only", "starts in 3
    days" or "ends tomorrow", counted from the day the email goes out."""

    start: dt.date
    end: Annotated[dt.date, _when("the end of the window")] | None = Field(
        None, description="The last day; left out, the window is the one day 'start'."
    )
    name: Text | None = Field(None, description='"the recess", "National call-in day".')

    _bare_date = _bare_date_as("start")

    @model_validator(mode="after")
    def _in_order(self, info: ValidationInfo) -> Self:
        if self.end is not None and self.end < self.start:
            raise error("window_end", "the window ends before it starts", "check 'start' and 'end'")
        if self.end is None:  # one day: it may not have passed (a range may have begun before the newsletter)
            not_before_issue(self.start, info, "the call-in day")
        return self

    @property
    def last(self) -> dt.date:
        return self.end or self.start


class Article(Model):
    """``article``: for a ``read`` (or ``share``) action, what the reader is asked to read."""

    outlet: Text = Field(description='"The Seattle Times".')
    authors: list[Text] = []
    published: dt.date | None = None


class Alternative(Model):
    """``alternatives``: "If this applies to you, do this instead" — with its own text, targets and script.

    With ``districts``, readers known to live in one of them see it in place of the action's own targets and
    script, readers known to live elsewhere don't see it, and readers whose district is unknown see it under its
    ``when`` label. Without ``districts`` ("if you already voted"), everyone sees it under its label.
    """

    when: Text = Field(description='Who it is for, as the label shows it: "If you already voted".')
    why: Markdown | None = Field(None, description="What to do instead, and why: Markdown, with links.")
    targets: list[Target] = []
    script: Annotated[list[Script], BeforeValidator(_scripts)] = []
    link: Link | None = None
    districts: list[Name] = Field([], description="The districts whose readers this is for, when the email knows.")
    language: LanguageTag | None = None

    @model_validator(mode="after")
    def _something_to_do(self) -> Self:
        if not (self.why or self.targets or self.script or self.link):
            raise error(
                "alternative_empty", "this alternative says nothing to do", "add 'why:', 'targets:' or 'script:'"
            )
        _scripts_for_targets(self.script, self.targets)
        return self

    @field_validator("districts")
    @classmethod
    def _known_districts(cls, districts: list[str], info: ValidationInfo) -> list[str]:
        known = _directory(info).districts
        if districts and not known:
            raise error(
                "no_districts",
                "officials.yaml has no per-district group, so no reader's district is known",
                "remove 'districts:' (the alternative is then shown to everyone, under its label)",
            )
        for district in districts:
            if district not in known:
                raise error(
                    "unknown_district",
                    f"'{district}' is not a district in officials.yaml",
                    did_you_mean(district, known) if len(known) > 12 else f"use one of: {', '.join(known)}",
                )
        return districts


class Footnote(Model):
    """``footnotes``: notes at the end; with ``updated``, a dated update ("Update, Aug 2: the vote was moved")."""

    content: Markdown = Field(description="The note: Markdown, with links.")
    updated: dt.date | None = Field(None, description="The day of the update, shown before the note.")
    language: LanguageTag | None = None


def target_id(target: Target) -> str | None:
    """The id a script's ``for:`` uses for this target."""
    if isinstance(target, OfficialTarget):
        return target.official
    if isinstance(target, GroupTarget):
        return target.group
    return target.id


_SECTION_FOR_KIND = {
    "vote": "election",
    "survey": "survey",
    "event": "events",
    "testify": "sign_in",
    "comment": "comment",
}


class Action(Model):
    kind: Kind
    title: Text
    why: Markdown | None = Field(None, description="Why this matters: Markdown, with links.")
    deadline: Deadline | None = None
    targets: list[Target] = []
    script: Annotated[list[Script], BeforeValidator(_scripts)] = []
    message: Message | None = None
    link: Link | None = Field(None, description="The main button: the petition, the article, the sign-up form.")
    report_back: ReportBack | None = Field(None, description='"Let us know you called"; counted when it has no url.')
    election: Election | None = None
    survey: Survey | None = None
    events: list[Event] = []
    bills: list[BillRef] = Field([], description="Ids of the newsletter's bills this action is about.")
    steps: list[Step] = Field([], description="Numbered steps: what to do, in order.")
    petition: Petition | None = Field(None, description="For a petition: to whom, its text, its signatures.")
    sign_in: SignIn | None = Field(None, description="For kind: testify: the bill and the position to sign in with.")
    comment: RuleComment | None = Field(None, description="For kind: comment: the agency and the rule.")
    language: LanguageTag | None = None
    window: Window | None = Field(None, description="A call-in day (a date) or a date range: {start, end, name}.")
    alternatives: list[Alternative] = Field([], description='"If you already voted": do this instead.')
    article: Article | None = Field(None, description="For a 'read' action: the outlet, authors and date.")

    @model_validator(mode="after")
    def _legislation(self) -> Self:
        if self.petition and self.kind != "petition":
            raise error("section_kind", "'petition' belongs to a 'petition' action", "set 'kind: petition', or move it")
        if self.petition and self.link is None:
            raise error(
                "petition_link",
                "a petition needs its sign button",
                "add 'link: {text: Sign the petition, url: https://…}'",
            )
        if self.kind in ("testify", "comment") and self.link is None:
            form = "sign-in form" if self.kind == "testify" else "comment form"
            raise error(f"{self.kind}_link", f"a '{self.kind}' action needs the {form} as its 'link'",
                        f"add 'link: {{text: …, url: https://…}}' to the {form}")  # fmt: skip
        if self.kind == "comment" and self.deadline is None:
            raise error("comment_deadline", "a comment period has an end", "add 'deadline:' with its last day")
        ids = {i for t in self.targets if (i := target_id(t)) is not None}
        for step in self.steps:
            if step.target is not None and step.target not in ids:
                raise error(
                    "step_target",
                    f"a step is about '{step.target}', not a target of this action with an id",
                    f"use one of: {', '.join(sorted(ids))}" if ids else "add it to 'targets:' (with 'id:')",
                )
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for kind, section in _SECTION_FOR_KIND.items():
            if self.kind == kind and not getattr(self, section):
                raise error(
                    "section_missing",
                    f"a '{kind}' action needs '{section}'",
                    f"add '{section}:' to this action",
                )
            if self.kind != kind and getattr(self, section):
                raise error(
                    "section_kind",
                    f"'{section}' belongs to a '{kind}' action",
                    f"set 'kind: {kind}', or move it",
                )
        if self.kind == "call" and not self.targets:
            raise error("no_targets", "a call action needs someone to call", "add 'targets:'")
        if self.kind == "email" and self.message is None and not self.link:
            raise error("no_message", "an email action needs a 'message' or a 'link' to a letter tool", "add one")
        if self.report_back and self.report_back.counted and self.survey and self.survey.counted:
            raise error(
                "report_back_survey",
                "this survey's answers are counted already: a report-back would count the same members again",
                "remove 'report_back', or give it a 'url'",
            )
        _scripts_for_targets(self.script, self.targets)
        if self.article and self.kind not in ("read", "share"):
            raise error(
                "section_kind", "'article' belongs to a 'read' or 'share' action", "set 'kind: read', or move it"
            )
        return self


def _scripts_for_targets(scripts: list[Script], targets: list[Target]) -> None:
    ids = {i for t in targets if (i := target_id(t)) is not None}
    for script in scripts:
        for named in script.for_:
            if named not in ids:
                raise error(
                    "script_for",
                    f"script is for '{named}', not a target of this action",
                    f"use one of: {', '.join(sorted(ids))}" if ids else "add it to 'targets:'",
                )


ISSUE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"  # a newsletter file's name (without .yaml) that can go in a link


class Yesterday(Model):
    """``yesterday``: what members reported of an earlier issue, shown near the top ("Yesterday 212 of you called
    Lisa Herbold"). `actionmail new` writes it from that issue's tallies; `check` warns when they changed since."""

    text: Text
    issue: Annotated[str, Field(pattern=ISSUE_NAME, max_length=200)] = Field(
        description="The newsletter the figures are from: its file name without .yaml."
    )
    as_of: dt.datetime = Field(description="When they were counted: `check` warns about reports that came after.")


class Newsletter(Model):
    """One day's action email."""

    date: dt.date = Field(description="The day it goes out; deadlines are counted from it.")
    subject: Annotated[str, Field(min_length=1, max_length=150), AfterValidator(_one_line)]
    preheader: Text = Field(description="The line inboxes show after the subject.")
    headline: Text
    language: Language | None = Field(None, description="en or es; the organization's default when left out.")
    adapted_from: Credit | None = None
    greeting: Text | None = Field(None, description='The opening line, e.g. "Hi {first_name|friend},".')
    yesterday: Yesterday | None = Field(None, description="What members reported of an earlier issue.")
    background: Markdown | None = None
    actions: list[Action] = Field(min_length=1, description="Today's action(s).")
    bonus: list[Action] = Field([], description="Bonus actions.")
    events: list[Event] = Field([], description="Upcoming events.")
    sign_off: Markdown | None = None
    ps: Markdown | None = None
    web: bool = Field(
        True, description="false: for members only, never published on the web (actionmail web build skips it)."
    )
    bills: list[Bill] = Field([], description="The bills this email is about, listed after the background.")

    ask: Text | None = Field(
        None, description="Today's action in one line, shown at the top; the first action's title when left out."
    )
    bilingual: Language | None = Field(
        None, description='A second language: the email\'s own labels ("Who to call") are shown in both.'
    )
    byline: Text | None = Field(None, description="Who wrote it, shown under the headline.")
    footnotes: list[Footnote] = Field([], description="Notes at the end, and dated updates.")

    @field_validator("bilingual")
    @classmethod
    def _two_languages(cls, bilingual: str | None, info: ValidationInfo) -> str | None:
        if bilingual is not None and bilingual == info.data.get("language"):
            raise error(
                "bilingual",
                f"'{bilingual}' is the email's own language ('language: {bilingual}')",
                "name the other language, or remove 'bilingual'",
            )
        return bilingual

    @model_validator(mode="before")
    @classmethod
    def _note_bill_ids(cls, data: Any, info: ValidationInfo) -> Any:
        _note_bills(data, info.context)
        return data

    @field_validator("bills")
    @classmethod
    def _unique_bills(cls, bills: list[Bill]) -> list[Bill]:
        seen: set[str] = set()
        for bill in bills:
            if bill.id in seen:
                raise error("duplicate_bill", f"the bill id '{bill.id}' is used twice", "give each bill its own id")
            seen.add(bill.id)
        return bills

    def bill(self, bill_id: str) -> Bill:
        return next(b for b in self.bills if b.id == bill_id)


def load_newsletter(path: Path, officials: Directory, region: str = "US") -> Newsletter:
    """Read and validate one newsletter file; raise InvalidInput listing every problem in it."""
    data, lines = load.read_yaml(path)
    return validate_newsletter(path, data, lines, officials, region)


def validate_newsletter(path: Path, data: Any, lines: load.Lines, officials: Directory, region: str) -> Newsletter:
    """Validate a newsletter already read with :func:`actionmail.load.read_yaml` (checks keep what was read)."""
    if not isinstance(data, dict):
        raise InvalidInput.one(path, "not a newsletter", "start the file with 'date:', 'subject:' and so on", line=1)
    issue_date = data.get("date")
    if not isinstance(issue_date, dt.date) or isinstance(issue_date, dt.datetime):
        issue_date = None  # a date and time ('2019-08-01 10:00') is not a date: the model says so; can't compare it
    context = {
        "officials": officials,
        "region": region,
        "issue_date": issue_date,
    }
    data, problems = fill_bill_references(data, lines, path)
    problems += [
        Problem(shown(path), load.line_for(loc, lines), load.dotted(loc), f"unknown merge field {{{name}}}", fix)
        for loc, text in load.strings(data)
        for name, fix in merge.unknown_fields(text, officials.sets)
    ]
    try:
        newsletter = load.validate(Newsletter, data, lines, path, context)
    except InvalidInput as e:
        raise InvalidInput([*e.problems, *problems]) from None
    if problems:
        raise InvalidInput(problems)
    return newsletter


BILL_REFERENCE = re.compile(r"\{bill\.([^{}.\s|]*)(?:\.([^{}\s|]*))?\}")
_BILL_PARTS = ("number", "title")


def fill_bill_references(data: dict[str, Any], lines: load.Lines, path: Path) -> tuple[dict[str, Any], list[Problem]]:
    """``data`` with each ``{bill.ID}`` in its text replaced by that bill's number ("HB 1234") and each
    ``{bill.ID.title}`` by its title, from the newsletter's ``bills:``; and a problem for each reference to a
    bill that isn't there. ``data`` itself is left as it was (checks read the file as written)."""
    bills = written_bills(data)
    problems: list[Problem] = []

    def fill(loc: load.Loc, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            bill_id, part = match[1], match[2] or "number"
            if bill_id not in bills or part not in _BILL_PARTS:
                if bill_id not in bills:
                    what = f"{{bill.{bill_id}}} names no bill in this newsletter's 'bills:'"
                    fix = bill_hint(bill_id, bills)
                else:
                    what, fix = (
                        f"{match[0]} is not a part of a bill",
                        f"write {{bill.{bill_id}}} (its number) or {{bill.{bill_id}.title}}",
                    )
                problems.append(Problem(shown(path), load.line_for(loc, lines), load.dotted(loc), what, fix))
                return ""
            value = bills[bill_id].get(part)
            return str(value) if isinstance(value, str | int) else ""

        return BILL_REFERENCE.sub(one, text) if "{bill." in text else text

    def walk(value: Any, loc: load.Loc) -> Any:
        if isinstance(value, str):
            return fill(loc, value)
        if isinstance(value, dict):
            return {key: walk(item, (*loc, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*loc, index)) for index, item in enumerate(value)]
        return value

    return walk(data, ()), problems


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a newsletter file, for editors (``# yaml-language-server: $schema=…``).

    pydantic writes it from the model; what it can't know is added here: the shorthands the loader accepts
    before validating (a bare date for a deadline, a string for a script or an official target, one script
    instead of a list) and times written as people write them ("20:00", "8 pm"), which are not the RFC 3339
    times that the "time" format means. References to officials and groups are checked by `actionmail check`.
    """
    schema = Newsletter.model_json_schema(by_alias=True)
    defs = schema["$defs"]
    defs["Deadline"] = {"anyOf": [{"type": "string", "format": "date"}, defs["Deadline"]],
                        "description": defs["Deadline"].pop("description", "")}  # fmt: skip
    defs["Window"] = {"anyOf": [{"type": "string", "format": "date"}, defs["Window"]],
                      "description": defs["Window"].pop("description", "")}  # fmt: skip
    for model in ("Action", "Alternative"):
        script = defs[model]["properties"]["script"]
        defs[model]["properties"]["script"] = {"anyOf": [{"$ref": "#/$defs/Script"}, script], "default": []}
    defs["Script"] = {"anyOf": [{"type": "string", "minLength": 1}, defs["Script"]],
                      "description": defs["Script"].pop("description", "")}  # fmt: skip
    for model in ("Action", "Alternative"):
        targets = defs[model]["properties"]["targets"]["items"]
        targets["anyOf"] = [{"type": "string", "description": "An official's id: the same as {official: ID}."},
                            *targets.pop("oneOf")]  # fmt: skip
    _legislation_schema(defs)
    _loosen_times(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "actionmail newsletter", **schema}


def _legislation_schema(defs: dict[str, Any]) -> None:
    """The shorthands of the legislation block: a step as its text, a hearing as a bare date, a committee member
    as an official's id."""
    for name, short in (
        ("Step", {"type": "string", "minLength": 1}),
        ("Hearing", {"type": "string", "format": "date"}),
    ):
        defs[name] = {"anyOf": [short, defs[name]], "description": defs[name].pop("description", "")}
    members = defs["CommitteeTarget"]["properties"]["members"]["items"]
    members["anyOf"] = [{"type": "string", "description": "An official's id: the same as {official: ID}."},
                        *members.pop("oneOf")]  # fmt: skip


def _loosen_times(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("format") == "time":
            del node["format"]
            node["description"] = "A time of day, like '20:00' or '8 pm'."
        for value in node.values():
            _loosen_times(value)
    elif isinstance(node, list):
        for value in node:
            _loosen_times(value)
