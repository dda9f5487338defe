"""Legislation in the format: bills (and references to them), numbered steps, petitions, committee targets,
sign-in (kind: testify) and rule comments (kind: comment). Each rule's error, on its line; the HTML and the text
part; and `check`'s rule for a hearing that has passed."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from actionmail import check, variants, yesterday
from actionmail.cli import main
from actionmail.newsletter import Alternative, CommitteeTarget
from actionmail.officials import EMPTY
from actionmail.render import Rendered, render
from actionmail.render.view import Person, reader_member
from tests.conftest import write

# Line numbers in the tests below are counted in this text (the file written is this text as it is).
VALID = """\
date: 2019-12-02
subject: Sign in PRO on HB 1234 by Wednesday
preheader: Two minutes on the sign-in page, then a call.
headline: Sign in PRO on HB 1234
actions:
  - kind: testify
    title: Sign in PRO on {bill.hb-1234}
    sign_in: {bill: hb-1234}
    steps:
      - Open the sign-in page.
      - text: Call the chair.
        target: housing
        phone: "360-555-0134"
      - text: Find your district.
        link: {text: District Finder, url: "https://app.leg.wa.gov/DistrictFinder/"}
    link: {text: Sign in PRO, url: "https://app.leg.wa.gov/csi"}
    targets:
      - committee: House Housing Committee
        id: housing
        members:
          - sawant
          - name: Ana Ortiz
            title: State Representative
            district: 5
            phones: [{label: Olympia, number: "360-555-0135"}]
    script:
      for: housing
      text: "Hi, my name is [YOUR NAME]. Please vote yes on {bill.hb-1234}, {bill.hb-1234.title}."
bonus:
  - kind: petition
    title: Sign the petition
    petition:
      to: Members of the Legislature
      text: Pass HB 1234.
      signatures: 1234
      goal: 2000
      why: Because families are losing their homes.
    link: {text: Sign the petition, url: "https://example.org/petition"}
  - kind: comment
    title: Comment on the rule
    deadline: 2019-12-16
    comment: {agency: Department of Ecology, docket: WAC 173-441, rule: Reporting of emissions, position: oppose}
    link: {text: Comment now, url: "https://example.org/comment"}
bills:
  - id: hb-1234
    number: HB 1234
    title: Tenant relocation assistance
    companion: SB 5678
    summary: Notice and relocation help for displaced tenants.
    committee: House Housing
    hearing: {date: 2019-12-04, time: "13:30"}
    position: support
    link: "https://app.leg.wa.gov/billsummary?BillNumber=1234&Year=2020"
"""


def run_check(project: Path, text: str) -> tuple[int, list[str]]:
    write(project / "newsletters", "day.yaml", text)
    result = CliRunner().invoke(main, ["check", "newsletters/day.yaml", "--as-of", "2019-12-02"])
    lines = result.output.splitlines()
    return result.exit_code, lines[:-1] if lines and "checked" in lines[-1] else lines


def test_the_valid_file_passes(project: Path) -> None:
    assert run_check(project, VALID) == (0, [])


F = "newsletters/day.yaml"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "    sign_in: {bill: hb-1234}", "    sign_in: {bill: hb-1243}",
            f"{F}:8: actions[0].sign_in.bill: 'hb-1243' is not in this newsletter's 'bills:': did you mean 'hb-1234'?",
            id="unknown-bill",
        ),
        pytest.param(
            "Sign in PRO on {bill.hb-1234}", "Sign in PRO on {bill.hb-12}",
            f"{F}:7: actions[0].title: {{bill.hb-12}} names no bill in this newsletter's 'bills:': did you mean "
            "'hb-1234'?",
            id="unknown-bill-reference",
        ),
        pytest.param(
            "{bill.hb-1234.title}", "{bill.hb-1234.summary}",
            f"{F}:28: actions[0].script.text: {{bill.hb-1234.summary}} is not a part of a bill: write {{bill.hb-1234}} "
            "(its number) or {bill.hb-1234.title}",
            id="bill-reference-part",
        ),
        pytest.param(
            "      signatures: 1234", "      signatures: -5",
            f"{F}:35: bonus[0].petition.signatures: -5 signatures is less than none: write 0 or more, or leave it out",
            id="negative-signatures",
        ),
        pytest.param(
            "      goal: 2000", "      goal: 99999999999999999999999999",
            f"{F}:36: bonus[0].petition.goal: '99999999999999999999999999' is too large: use a number no greater than "
            "10000000000",
            id="huge-goal",
        ),
        pytest.param(
            "      signatures: 1234", "      signatures: 1234.0",
            f"{F}:35: bonus[0].petition.signatures: '1234.0' is not a whole number: write a number such as 3",
            id="signatures-not-whole",
        ),
        pytest.param(
            "{bill.hb-1234.title}", "{bill.hb-1234.title.x}",
            f"{F}:28: actions[0].script.text: {{bill.hb-1234.title.x}} is not a part of a bill: write "
            "{bill.hb-1234} (its number) or {bill.hb-1234.title}",
            id="bill-reference-deeper",
        ),
        pytest.param(
            "    position: support", "    position: [support]",
            f"{F}:52: bills[0].position: not one of the allowed values: use one of: support, oppose",
            id="bill-position-not-text",
        ),
        pytest.param(
            "      goal: 2000", "      goal: 0",
            f"{F}:36: bonus[0].petition.goal: a goal of 0 signatures is no goal: write a number above 0, or leave it "
            "out",
            id="zero-goal",
        ),
        pytest.param(
            '    link: {text: Sign the petition, url: "https://example.org/petition"}\n', "",
            f"{F}:30: bonus[0]: a petition needs its sign button: add 'link: {{text: Sign the petition, url: "
            "https://…}'",
            id="petition-without-button",
        ),
        pytest.param(
            "  - kind: petition", "  - kind: share",
            f"{F}:30: bonus[0]: 'petition' belongs to a 'petition' action: set 'kind: petition', or move it",
            id="petition-on-another-kind",
        ),
        pytest.param(
            '    link: {text: Sign in PRO, url: "https://app.leg.wa.gov/csi"}\n', "",
            f"{F}:6: actions[0]: a 'testify' action needs the sign-in form as its 'link': add 'link: {{text: …, url: "
            "https://…}' to the sign-in form",
            id="testify-without-link",
        ),
        pytest.param(
            "    sign_in: {bill: hb-1234}", "    sign_in: {bill: hb-1234, position: con}",
            f"{F}:8: actions[0].sign_in: signing in 'con' on a bill whose position is 'support': use 'position: pro', "
            "or leave it out to follow the bill",
            id="sign-in-against-the-bill",
        ),
        pytest.param(
            "    position: support\n", "",
            f"{F}:8: actions[0].sign_in: no position to sign in with: neither here nor on the bill 'hb-1234': add "
            "'position: pro' (or con), or the bill's 'position: support' (or oppose)",
            id="sign-in-without-position",
        ),
        pytest.param(
            "    sign_in: {bill: hb-1234}\n", "",
            f"{F}:6: actions[0]: a 'testify' action needs 'sign_in': add 'sign_in:' to this action",
            id="testify-without-sign-in",
        ),
        pytest.param(
            "    deadline: 2019-12-16\n", "",
            f"{F}:39: bonus[1]: a comment period has an end: add 'deadline:' with its last day",
            id="comment-without-deadline",
        ),
        pytest.param(
            "        target: housing", "        target: houssing",
            f"{F}:6: actions[0]: a step is about 'houssing', not a target of this action with an id: use one of: "
            "housing",
            id="step-target",
        ),
        pytest.param(
            "          - sawant", "          - sawnat",
            f"{F}:21: actions[0].targets[0].members[0].official: 'sawnat' is not in officials.yaml: did you mean "
            "'sawant'?",
            id="committee-member",
        ),
        pytest.param(
            "  - id: hb-1234\n", "  - id: hb-1234\n    number: HB 1\n    title: Another\n  - id: hb-1234\n",
            f"{F}:44: bills: the bill id 'hb-1234' is used twice: give each bill its own id",
            id="duplicate-bill",
        ),
        pytest.param(
            "    position: support", "    position: yes",
            f"{F}:52: bills[0].position: 'yes' is not one of the allowed values: use one of: support, oppose",
            id="bill-position",
        ),
    ],
)  # fmt: skip
def test_each_rule_names_file_line_key_and_fix(project: Path, old: str, new: str, expected: str) -> None:
    assert old in VALID
    code, lines = run_check(project, VALID.replace(old, new, 1))
    assert (code, lines) == (2, [expected])


def _render(project: Path, text: str = VALID, district: str | None = None, language: str = "en") -> Rendered:
    path = write(
        project / "newsletters", "day.yaml", text.replace("date: 2019-12-02", f"date: 2019-12-02\nlanguage: {language}")
    )
    proj, newsletter = check.load(path)
    return render(newsletter, proj, district=district, slug="day")


def _words(html: str, xpath: str) -> list[str]:
    """The text of each element found, as a reader sees it: a line break is a space."""
    document = lxml.html.document_fromstring(html)
    for element in document.iter("br", "p"):
        element.tail = " " + (element.tail or "")
    return [" ".join(e.text_content().split()) for e in document.xpath(xpath)]


def test_steps_are_an_ordered_list_in_html_and_numbered_in_text(project: Path) -> None:
    rendered = _render(project)
    items = _words(rendered.html, "//ol/li")
    assert items == [
        "Open the sign-in page.",
        "Call the chair. (House Housing Committee) (360) 555-0134",
        "Find your district. District Finder",
    ]
    document = lxml.html.document_fromstring(rendered.html)
    assert document.xpath("//ol/li[2]//a/@href") == ["tel:+13605550134"]
    assert document.xpath("//ol/li[3]//a/@href") == ["https://app.leg.wa.gov/DistrictFinder/"]
    assert (
        "1. Open the sign-in page.\n2. Call the chair. (House Housing Committee)\n   (360) 555-0134\n" in rendered.text
    )
    assert "3. Find your district.\n   District Finder: https://app.leg.wa.gov/DistrictFinder/\n" in rendered.text


def test_bills_are_listed_and_references_filled_in(project: Path) -> None:
    rendered = _render(project)
    (bill,) = _words(rendered.html, "//h2[.='The bill']/following-sibling::ul[1]/li")
    assert bill == (
        "HB 1234: Tenant relocation assistance (companion bill: SB 5678) Notice and relocation help for displaced "
        "tenants. We support it. Committee: House Housing Hearing: Wednesday, December 4, 1:30 PM (in 2 days)"
    )
    assert "- HB 1234: Tenant relocation assistance (companion bill: SB 5678)\n" in rendered.text
    assert "  Hearing: Wednesday, December 4, 1:30\u202fPM (in 2 days)\n" in rendered.text  # as Babel writes it
    # {bill.hb-1234} is the number, {bill.hb-1234.title} the title, in the heading and in the script
    assert "Sign in PRO on HB 1234" in _words(rendered.html, "//h2")[1]
    script = _words(rendered.html, "//td[@class='am-script']")[0]
    assert script.endswith("Please vote yes on HB 1234, Tenant relocation assistance.")
    assert "vote yes on HB 1234, Tenant\n> relocation assistance." in rendered.text
    assert "{bill." not in rendered.html + rendered.text


def test_the_sign_in_names_the_position_the_bill_and_its_hearing(project: Path) -> None:
    rendered = _render(project)
    (box,) = [w for w in _words(rendered.html, "//td[@class='am-box']") if "Sign in" in w]
    assert (
        box
        == "Sign in PRO on HB 1234: Tenant relocation assistance Hearing: House Housing, Wednesday, December 4, 1:30 PM (in 2 days)"
    )
    text = _render(project, VALID.replace("{bill: hb-1234}", "{bill: hb-1234, how: testify}")).text
    assert "Sign up to testify PRO on HB 1234: Tenant relocation assistance\n" in text


def test_a_petition_shows_whom_it_is_to_its_text_and_its_progress(project: Path) -> None:
    rendered = _render(project)
    assert "To: Members of the Legislature" in _words(rendered.html, "//p")
    assert "1,234 of 2,000 signatures" in _words(rendered.html, "//p/strong")
    assert "To: Members of the Legislature\n\n> Pass HB 1234.\n\n1,234 of 2,000 signatures\n" in rendered.text
    assert "Why this matters" in _words(rendered.html, "//h4")
    only_count = _render(project, VALID.replace("      goal: 2000\n", "")).text
    assert "\n1,234 signatures\n" in only_count
    spanish = _render(project, language="es").text
    assert "Para: Members of the Legislature" in spanish and "1.234 de 2.000 firmas" in spanish


def test_a_rule_comment_shows_the_agency_the_docket_and_the_position(project: Path) -> None:
    rendered = _render(project)
    assert (
        "Comment on a proposed rule: Reporting of emissions Agency: Department of Ecology Docket: WAC 173-441 "
        "We oppose it." in _words(rendered.html, "//td[@class='am-box']")
    )
    assert (
        "Comment on a proposed rule: Reporting of emissions\nAgency: Department of Ecology\nDocket: WAC 173-441\n"
        in rendered.text
    )


@pytest.mark.parametrize(("district", "own"), [(None, None), ("3", "Kshama Sawant"), ("5", "Ana Ortiz"), ("7", None)])
def test_the_readers_own_committee_member_is_marked(project: Path, district: str | None, own: str | None) -> None:
    rendered = _render(project, district=district)
    marked = re.findall(r"Your legislator on this committee:\n\* ([^,]+),", rendered.text)
    assert marked == ([own] if own else [])
    html = _words(rendered.html, "//p[strong='Your legislator on this committee:']/following-sibling::p[1]/strong[1]")
    assert html == ([own] if own else [])
    # every member is there either way
    assert "Kshama Sawant" in rendered.text and "Ana Ortiz" in rendered.text


def test_a_committee_of_another_district_set_marks_the_member_of_that_set(project: Path) -> None:
    """`set: congress`: its members' districts are congressional districts; a reader in council district 7 and
    congressional district 9 has Adam Smith (CD 9) marked, not Pramila Jayapal (CD 7, who shares the number)."""
    text = VALID.replace(
        "        members:\n          - sawant\n",
        "        set: congress\n        members:\n          - jayapal\n          - adam-smith\n",
    )
    path = write(project / "newsletters", "day.yaml", text)
    proj, newsletter = check.load(path)
    for council, congress, own in (("7", "9", ["Adam Smith"]), ("7", None, []), (None, "7", ["Pramila Jayapal"])):
        rendered = render(newsletter, proj, district=council, districts={"congress": congress}, slug="day")
        assert re.findall(r"Your legislator on this committee:\n\* ([^,]+),", rendered.text) == own
    assert "congress" in variants.used_sets(newsletter, proj)  # its readers are grouped by congressional district
    # Without the set, the members' districts are read as council districts, as before.
    proj, newsletter = check.load(
        write(project / "newsletters", "day.yaml", text.replace("        set: congress\n", ""))
    )
    plain = render(newsletter, proj, district="7", slug="day")
    assert re.findall(r"Your legislator on this committee:\n\* ([^,]+),", plain.text) == ["Pramila Jayapal"]


def test_a_committee_in_an_alternative_marks_its_readers_member_too(project: Path) -> None:
    committee = "        set: congress\n        members:\n          - jayapal\n          - adam-smith\n"
    text = VALID.replace("        members:\n          - sawant\n", committee)
    proj, newsletter = check.load(write(project / "newsletters", "day.yaml", text))
    action = newsletter.actions[0]
    moved = action.model_copy(update={"targets": [], "script": [],
                                      "alternatives": [Alternative(when="If you rent", targets=action.targets)]})  # fmt: skip
    inside = newsletter.model_copy(update={"actions": [moved, *newsletter.actions[1:]]})
    assert "congress" in variants.used_sets(inside, proj)


def test_a_committees_set_must_be_one_of_the_directorys(project: Path) -> None:
    text = VALID.replace(
        "        members:\n          - sawant\n", "        set: congres\n        members:\n          - sawant\n"
    )
    code, lines = run_check(project, text)
    assert code == 2
    assert any(
        "actions[0].targets[0].set: 'congres' is not a district set of officials.yaml's per-district groups: "
        "did you mean 'congress'?" in line
        for line in lines
    ), lines


def test_reader_member_is_the_member_of_the_readers_district() -> None:
    people = [Person("A", "Rep", None, "1", []), Person("B", "Rep", None, "2", []), Person("C", "Rep", None, None, [])]
    assert [reader_member(people, d) for d in (None, "1", "2", "9")] == [None, 0, 1, None]


# --- check: a hearing that has passed


def _problems(project: Path, text: str, today: dt.date | None = None) -> list[str]:
    path = write(project / "newsletters", "day.yaml", text)
    return [str(p) for p in check.check_files([path], today=today, spam_score=False)]


def test_a_hearing_before_the_newsletters_date_is_flagged(project: Path) -> None:
    past = VALID.replace("hearing: {date: 2019-12-04", "hearing: {date: 2019-11-27")
    assert _problems(project, past) == [
        f"{F}:51: bills[0].hearing: the hearing of HB 1234 on 2019-11-27 is before the newsletter's date (2019-12-02): "
        "readers are asked to sign in for a hearing that has passed: give the bill's next hearing (and its "
        "committee), or remove 'hearing:'"
    ]
    # without an action that signs in on it, a warning: the bill's data may be older than the alert
    listed = past.replace("    sign_in: {bill: hb-1234}\n", "    sign_in: {bill: hb-9}\n").replace(
        "bills:\n", "bills:\n  - {id: hb-9, number: HB 9, title: Other, position: support}\n"
    )
    assert _problems(project, listed) == [
        f"{F}:52: bills[1].hearing: warning: the hearing of HB 1234 on 2019-11-27 is before the newsletter's date "
        "(2019-12-02): it has passed: give the bill's next hearing (and its committee), or remove 'hearing:'"
    ]


def test_a_hearing_that_passes_before_a_late_send_is_named(project: Path) -> None:
    (problem,) = _problems(
        project, VALID.replace("deadline: 2019-12-16", "deadline: 2019-12-20"), dt.date(2019, 12, 10)
    )
    assert "the hearing of HB 1234 (2019-12-04) will have passed" in problem


def test_a_committee_with_a_readers_district_makes_the_email_differ_by_district(project: Path) -> None:
    """Sent, each district's readers get the version that marks their member: the email has a variant per district
    when a committee member's district is one of the directory's, and none when no member's is."""
    path = write(project / "newsletters", "day.yaml", VALID)
    assert variants.load_edition(path).uses_district
    inline_only = VALID.replace("          - sawant\n", "").replace(
        "            district: 5\n", "            district: LD 43\n"
    )
    path = write(project / "newsletters", "day.yaml", inline_only)
    assert not variants.load_edition(path).uses_district


def test_yesterdays_figures_name_a_committee_called() -> None:
    """`actionmail new` writes "212 of you called …" from the targets: a committee is named, not a crash."""
    committee = CommitteeTarget(committee="House Housing Committee", members=[{"name": "Ana Ortiz", "title": "Rep"}])
    assert yesterday._who(committee, EMPTY) == "the members of the House Housing Committee"


def test_a_sign_in_that_closes_after_the_hearing_is_flagged(project: Path) -> None:
    late = VALID.replace("    sign_in: {bill: hb-1234}\n", "    sign_in: {bill: hb-1234}\n    deadline: 2019-12-05\n")
    assert _problems(project, late) == [
        f"{F}:9: actions[0].deadline: warning: sign-in closes on 2019-12-05, after the hearing (2019-12-04): make "
        "'deadline:' when sign-in closes: before the hearing starts (an hour before, in Washington)"
    ]
    on_time = VALID.replace(
        "    sign_in: {bill: hb-1234}\n", "    sign_in: {bill: hb-1234}\n    deadline: 2019-12-04\n"
    )
    assert _problems(project, on_time) == []


def test_a_committee_member_out_of_office_is_an_error(project: Path) -> None:
    later = (
        VALID.replace("2019-12-02", "2020-01-06")
        .replace("2019-12-04", "2020-01-08")
        .replace("2019-12-16", "2020-01-20")
    )
    assert _problems(project, later) == [
        f"{F}:20: actions[0].targets[0].members: Kshama Sawant's term ended on 2019-12-31, before the newsletter's "
        "date (2020-01-06): update 'sawant' in officials.yaml with whoever holds the office now"
    ]
