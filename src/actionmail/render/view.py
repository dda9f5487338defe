"""What the templates see: the newsletter with every reference resolved and every value ready to print.

Templates stay simple (loops and ifs over these objects); the decisions live here, where they are tested:
which councilmember a district gets, how a phone number is written and dialled, how many days are left.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import posixpath
import re
import unicodedata
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import phonenumbers

from actionmail import tally
from actionmail.config import Project
from actionmail.fields import Link
from actionmail.newsletter import (
    SIGN_IN_FOR,
    Action,
    Alternative,
    Bill,
    Choice,
    CommitteeTarget,
    Event,
    GroupTarget,
    HotlineTarget,
    InlineTarget,
    LookupTarget,
    Newsletter,
    OfficialTarget,
    Script,
    Survey,
    Target,
    answer_id,
)
from actionmail.officials import DEFAULT_SET, Directory, LabelledPhone, Official
from actionmail.render import markdown


@dataclass(frozen=True)
class PhoneView:
    label: str
    display: str  # as a local reader writes it: (206) 684-4000
    tel: str  # E.164, for the tel: link
    hours: str | None = None


@dataclass(frozen=True)
class Person:
    name: str
    title: str
    office: str | None
    district: str | None
    phones: list[PhoneView]
    email: str | None = None
    contact_form: str | None = None
    note: str | None = None
    own: bool = False  # the reader's own member of a committee (reader_member)


@dataclass(frozen=True)
class TargetView:
    """One entry in "who to contact".

    ``kind`` is ``people`` (named officials, possibly under a group label), ``district`` (a per-district group
    for a reader whose district is not known: the lookup link and everyone, by district), ``lookup``,
    ``hotline`` or ``committee`` (its members, the reader's own marked, and its page as ``page``).
    """

    kind: Literal["people", "district", "lookup", "hotline", "committee"]
    label: str | None = None
    people: list[Person] = field(default_factory=list)
    lookup: Link | None = None
    phone: PhoneView | None = None
    note: str | None = None
    id: str | None = None
    page: Link | None = None


@dataclass(frozen=True)
class ScriptView:
    script: Script
    for_labels: list[str]


@dataclass(frozen=True)
class Button:
    """A link as the email shows it: its text, and where it goes (which may start with a per-reader merge field)."""

    text: str
    url: str


@dataclass(frozen=True)
class StepView:
    """One numbered step: its text, its link or number, and the name of the target it is about."""

    text: str
    link: Link | None
    phone: PhoneView | None
    target: str | None


@dataclass(frozen=True)
class SignInView:
    """A ``testify`` action's sign-in: the bill (with its committee and hearing) and the position, pro/con/other."""

    bill: Bill
    position: str
    how: str


@dataclass(frozen=True)
class AlternativeView:
    """An action's "if this applies to you, do this instead", for one reader. ``instead``: the email knows it
    applies to this reader (by district), and shows it in place of the action's own targets and script; else it
    is shown under its label ("If you already voted:")."""

    alternative: Alternative
    kind: str  # the action's: the same "Who to call" heading as the action's own targets
    targets: list[TargetView]
    scripts: list[ScriptView]
    instead: bool


@dataclass(frozen=True)
class ActionView:
    action: Action
    number: int  # 1-based position among the main actions, or among the bonus actions
    of: int  # how many there are: one main action is "Today's Action", several are "Action 1", "Action 2"
    targets: list[TargetView]
    scripts: list[ScriptView]
    other_links: list[Link]  # links of the kind-specific section that the text does not already give
    mailto: str | None  # for email actions: a mailto: link to every target with an address, message filled in
    report_back: Button | None = None  # to the organization's form, or counted by actionmail serve (actionmail.tally)
    choices: list[Button] = field(default_factory=list)  # a survey's one-tap answers
    bills: list[Bill] = field(default_factory=list)  # the bills this action names, resolved
    steps: list[StepView] = field(default_factory=list)
    sign_in: SignInView | None = None
    alternatives: list[AlternativeView] = field(default_factory=list)  # for this reader, or labelled

    @property
    def kind(self) -> str:
        return self.action.kind


@dataclass(frozen=True)
class View:
    newsletter: Newsletter
    actions: list[ActionView]
    bonus: list[ActionView]
    events: list[Event]
    district: str | None
    web_version_url: str | None
    calendars: list[tuple[Event, str]] = field(default_factory=list)  # each event, and where its .ics is

    def calendar_url(self, event: Event) -> str | None:
        """Where the "Add to calendar" link of ``event`` goes (None without a web version to publish it)."""
        return next((url for known, url in self.calendars if known is event), None)


def build(
    newsletter: Newsletter,
    project: Project,
    district: str | None,
    slug: str,
    issue: str = "",
    *,
    web: bool = False,
    districts: Mapping[str, str | None] | None = None,
) -> View:
    """What the templates see. ``issue`` names the newsletter in the links that count members' reports
    (:func:`actionmail.tally.link`). ``web``: for the web edition's page, read by anyone: no button that counts a
    report (its link is a member's own), and the site's own files (calendars) linked by their path on the site,
    not by whole address, so a copy of the site on another host (or a local one) links to its own.
    ``district`` is the reader's district of the default set; ``districts`` their districts of the other sets
    ({"congress": "7"}), each group resolved with its own set's."""
    directory = project.officials
    by_set = {**(districts or {}), DEFAULT_SET: district}
    region = project.settings.organization.country

    def views(actions: list[Action], prefix: str) -> list[ActionView]:
        out = []
        for number, action in enumerate(actions, start=1):
            targets = [t for target in action.targets for t in _resolve(target, directory, by_set, region)]
            scripts = _scripts(action, directory)
            alternatives = _alternatives(action, directory, by_set, region)
            if any(a.instead for a in alternatives):  # the action's own ask is not this reader's
                targets, scripts = [], []
            question = f"{prefix}{number}"
            out.append(
                ActionView(
                    action,
                    number,
                    len(actions),
                    targets,
                    scripts,
                    _other_links(action),
                    _mailto(action, targets),
                    _report_back(action, issue, question, counted=not web),
                    _choices(action, issue, question, counted=not web),
                    [newsletter.bill(b) for b in action.bills],
                    _steps(action, directory, region),
                    _sign_in(action, newsletter),
                    alternatives,
                )
            )
        return out

    page = web_version_url(project, newsletter.date, slug)
    calendars = []
    if page is not None:
        base = urllib.parse.urlsplit(page).path if web else page
        calendars = [(event, beside(base, name)) for event, name in event_files(newsletter)]
    return View(
        newsletter=newsletter,
        actions=views(newsletter.actions, ""),
        bonus=views(newsletter.bonus, tally.BONUS),
        events=newsletter.events,
        district=district,
        web_version_url=page,
        calendars=calendars,
    )


def web_version_url(project: Project, date: dt.date, slug: str) -> str | None:
    """The address of a newsletter's web version: what the email links to, and where `actionmail web build`
    publishes it (actionmail.web computes its file from this, so the two cannot differ)."""
    template = project.settings.email.web_version_url
    if template is None:
        return None
    return template.format(date=date.isoformat(), year=date.year, month=date.month, day=date.day, slug=slug)


def beside(page: str, name: str) -> str:
    """The address of a file published with the web version at ``page`` (an address, or a path): in the page's
    own directory, so that every newsletter's files are apart from the others'. For …/slug (or …/slug/, or
    …/slug.html), that is …/slug/NAME."""
    parts = urllib.parse.urlsplit(page)
    path = parts.path.rstrip("/")
    stem, extension = posixpath.splitext(path)
    if extension.lower() in (".html", ".htm"):
        path = stem
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"{path}/{name}", "", ""))


def event_files(newsletter: Newsletter) -> list[tuple[Event, str]]:
    """Every event of ``newsletter`` (its actions', its bonus actions', its upcoming ones) with the name of its
    calendar file: ``DATE-TITLE.ics``, numbered when two would be alike."""
    actions = [*newsletter.actions, *newsletter.bonus]
    events = [event for action in actions for event in action.events] + newsletter.events
    out: list[tuple[Event, str]] = []
    used: set[str] = set()
    for event in events:
        stem = f"{event.date.isoformat()}-{_file_word(event.title)}"
        name, number = stem, 1
        while name in used:
            number += 1
            name = f"{stem}-{number}"
        used.add(name)
        out.append((event, f"{name}.ics"))
    return out


def _file_word(text: str, length: int = 40) -> str:
    """Text as a file name's part: ASCII letters and digits joined by hyphens ("Café: Seattle's 1st" is
    "cafe-seattles-1st"), cut after a word to at most ``length`` characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.replace("'", "")).strip("-")  # (a typographic one is not ASCII)
    if len(words) > length:
        words = words[: length + 1].rsplit("-", 1)[0] if "-" in words[:length] else words[:length]
    return words or "event"


def phone_view(phone: LabelledPhone | str, region: str, label: str = "") -> PhoneView:
    number = phonenumbers.parse(phone if isinstance(phone, str) else phone.number)
    same_country = phonenumbers.region_code_for_number(number) == region
    style = phonenumbers.PhoneNumberFormat.NATIONAL if same_country else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return PhoneView(
        label=label if isinstance(phone, str) else phone.label,
        display=phonenumbers.format_number(number, style),
        tel=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        hours=None if isinstance(phone, str) else phone.hours,
    )


def _person(official: Official | InlineTarget, region: str, note: str | None = None) -> Person:
    return Person(
        name=official.name,
        title=official.title,
        office=official.office,
        district=official.district,
        phones=[phone_view(p, region) for p in official.phones],
        email=official.email,
        contact_form=official.contact_form,
        note=note if note is not None else getattr(official, "note", None),
    )


def _resolve(
    target: Target, directory: Directory, districts: Mapping[str, str | None], region: str
) -> list[TargetView]:
    if isinstance(target, OfficialTarget):
        official = directory.official(target.official)
        return [TargetView("people", people=[_person(official, region, target.note)], id=official.id)]
    if isinstance(target, GroupTarget):
        group = directory.group(target.group)
        label = target.label or group.label
        if group.per_district:
            found = directory.members_for(group, districts.get(group.set_name))
            hotline = phone_view(group.hotline, region) if group.hotline else None
            if found:
                people = [_person(member, region) for member in found]
                return [TargetView("people", label, people, None, hotline, target.note, group.id)]
            # The district is unknown: the lookup link and every member, with every one of their phones.
            members = [_person(directory.official(m), region) for m in group.members]
            return [TargetView("district", label, members, group.lookup, hotline, target.note, group.id)]
        members = [_person(directory.official(m), region) for m in group.members]
        hotline = phone_view(group.hotline, region) if group.hotline else None
        return [TargetView("people", label, members, phone=hotline, note=target.note, id=group.id)]
    if isinstance(target, LookupTarget):
        return [TargetView("lookup", target.label, lookup=target.lookup, note=target.note)]
    if isinstance(target, HotlineTarget):
        return [
            TargetView(
                "hotline",
                target.label,
                phone=phone_view(target.hotline, region, target.label),
                note=target.note,
            )
        ]
    if isinstance(target, CommitteeTarget):
        members = [
            _person(directory.official(m.official), region, m.note)
            if isinstance(m, OfficialTarget)
            else _person(m, region)
            for m in target.members
        ]
        own = reader_member(members, districts.get(target.set or DEFAULT_SET))
        if own is not None:
            members[own] = dataclasses.replace(members[own], own=True)
        return [TargetView("committee", target.committee, members, note=target.note, id=target.id, page=target.link)]
    return [TargetView("people", people=[_person(target, region)])]


def reader_member(members: list[Person], district: str | None) -> int | None:
    """Which of a committee's members represents the reader (their index), where the reader's district is known.

    The one place that decides it: a member's ``district`` is compared with the reader's, as per-district groups
    do (:meth:`~actionmail.officials.Directory.members_for`).
    """
    if district is None:
        return None
    return next((index for index, member in enumerate(members) if member.district == district), None)


def committee_sets(newsletter: Newsletter, directory: Directory) -> set[str]:
    """The district sets by which a committee target in ``newsletter`` marks its readers' own member (its ``set``,
    else the default set): those where one of its members has a district readers are grouped by. The email then
    differs by district of that set, each variant marking its readers' member."""
    found = set()
    actions = [*newsletter.actions, *newsletter.bonus]
    # An alternative's committee marks its readers' member too (_alternatives resolves its targets the same way).
    targets = [t for a in actions for t in [*a.targets, *(t for alt in a.alternatives for t in alt.targets)]]
    for target in targets:
        if isinstance(target, CommitteeTarget):
            name = target.set or DEFAULT_SET
            districts = set(directory.districts_of(name))
            for m in target.members:
                member = directory.official(m.official) if isinstance(m, OfficialTarget) else m
                if member.district in districts:
                    found.add(name)
    return found


def _steps(action: Action, directory: Directory, region: str) -> list[StepView]:
    labels = _labels(action.targets, directory)
    return [
        StepView(
            step.text,
            step.link,
            phone_view(step.phone, region) if step.phone else None,
            labels.get(step.target, step.target) if step.target else None,
        )
        for step in action.steps
    ]


def _sign_in(action: Action, newsletter: Newsletter) -> SignInView | None:
    sign_in = action.sign_in
    if sign_in is None:
        return None
    bill = newsletter.bill(sign_in.bill)
    return SignInView(bill, sign_in.position or SIGN_IN_FOR[bill.position or "support"], sign_in.how)


def concerns(alternative: Alternative, district: str | None) -> bool | None:
    """Whether ``alternative`` is for a reader in ``district``: None when the email can't know (the reader's
    district is unknown, or the alternative is not for certain districts). The one place alternatives ask about
    districts."""
    if not alternative.districts or district is None:
        return None
    return district in alternative.districts


def _alternatives(
    action: Action, directory: Directory, districts: Mapping[str, str | None], region: str
) -> list[AlternativeView]:
    out = []
    for alternative in action.alternatives:
        applies = concerns(alternative, districts.get(DEFAULT_SET))  # alternatives name the default set's
        if applies is False:
            continue
        targets = [t for target in alternative.targets for t in _resolve(target, directory, districts, region)]
        scripts = _scripts_of(alternative.targets, alternative.script, directory)
        out.append(AlternativeView(alternative, action.kind, targets, scripts, instead=applies is True))
    return out


def _scripts(action: Action, directory: Directory) -> list[ScriptView]:
    return _scripts_of(action.targets, action.script, directory)


def _scripts_of(targets: list[Target], scripts: list[Script], directory: Directory) -> list[ScriptView]:
    labels = _labels(targets, directory)
    return [ScriptView(script, [labels.get(i, i) for i in script.for_]) for script in scripts]


def _labels(targets: list[Target], directory: Directory) -> dict[str, str]:
    """How a script's or a step's heading names each target id."""
    labels = {o.id: o.name for o in directory.officials} | {g.id: g.label for g in directory.groups}
    for target in targets:
        if isinstance(target, GroupTarget) and target.label:
            labels[target.group] = target.label
        elif isinstance(target, LookupTarget | HotlineTarget) and target.id:
            labels[target.id] = target.label
        elif isinstance(target, InlineTarget) and target.id:
            labels[target.id] = target.name
        elif isinstance(target, CommitteeTarget) and target.id:
            labels[target.id] = target.committee
    return labels


def _other_links(action: Action) -> list[Link]:
    """The election's guides and replacement-ballot link, unless the action's text already links to them."""
    in_text = {href for _, href in markdown.links(action.why or "")}
    candidates: list[Link] = []
    if action.election:
        candidates += action.election.guides
        if action.election.replacement_ballot:
            candidates.append(action.election.replacement_ballot)
        if action.election.registration_link:
            candidates.append(action.election.registration_link)
    return [link for link in candidates if link.url not in in_text]


def _mailto(action: Action, targets: list[TargetView]) -> str | None:
    addresses = list(
        dict.fromkeys(p.email for t in targets if t.kind in ("people", "committee") for p in t.people if p.email)
    )
    if action.message is None or not addresses:
        return None
    query = urllib.parse.urlencode(
        {"subject": action.message.subject, "body": action.message.body}, quote_via=urllib.parse.quote
    )
    return f"mailto:{','.join(addresses)}?{query}"


def _report_back(action: Action, issue: str, question: str, *, counted: bool = True) -> Button | None:
    """The report-back button. ``counted`` False (the web edition, read by anyone): none that actionmail serve
    counts, since its link is a member's own."""
    report_back = action.report_back
    if report_back is None or (report_back.url is None and not counted):
        return None
    return Button(report_back.text, report_back.url or tally.link(issue, question, tally.DONE))


def _choices(action: Action, issue: str, question: str, *, counted: bool = True) -> list[Button]:
    survey = action.survey
    if survey is None:
        return []
    if not survey.counted:
        return [Button(c.label, choice_url(survey, c)) for c in survey.choices]
    if not counted:  # the web edition: only answers with a link of their own (the others are a member's)
        return [Button(c.label, c.url) for c in survey.choices if c.url]
    return [Button(c.label, c.url or tally.link(issue, question, answer_id(c.value or ""))) for c in survey.choices]


def choice_url(survey: Survey, choice: Choice) -> str:
    """A one-click answer: the choice's own URL, or the survey link carrying the answer as a parameter.

    A survey that actionmail serve counts has no link: its answers' links are in :attr:`ActionView.choices`, which
    the built-in templates use. An older copy of them that still calls this gets no address, which `check`
    reports, rather than a link that would count nothing."""
    if choice.url:
        return choice.url
    if survey.link is None:
        return ""
    separator = "&" if urllib.parse.urlsplit(survey.link.url).query else "?"
    return f"{survey.link.url}{separator}{urllib.parse.urlencode({survey.answer_param: choice.value})}"
