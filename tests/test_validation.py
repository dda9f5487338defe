"""One test per validation rule: bad input gives its exact message, on its line, and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail.cli import main
from tests.conftest import write

# A small valid newsletter; each test breaks one thing in it. Line numbers are counted in this text.
VALID = """\
date: 2019-08-01
subject: Call the mayor about Ring
preheader: Ask Mayor Durkan to ban police partnerships with Ring.
headline: No police partnerships on facial recognition
actions:
  - kind: call
    title: Call the mayor
    deadline: {date: 2019-08-06, time: "17:00"}
    targets:
      - official: durkan
      - name: Teresa Mosqueda
        title: Councilmember
        phones: [{label: City Hall, number: "206-684-8808"}]
    script: "Hi, my name is [YOUR NAME] and I live in [ZIP]."
    link: {text: Read the coverage, url: "https://example.org/ring"}
"""


def check(project: Path, text: str) -> tuple[int, list[str]]:
    write(project / "newsletters", "day.yaml", text)
    result = CliRunner().invoke(main, ["check", "newsletters/day.yaml", "--as-of", "2019-08-01"])
    lines = result.output.splitlines()
    return result.exit_code, lines[:-1] if lines and "checked" in lines[-1] else lines


def test_valid_file_passes(project: Path) -> None:
    assert check(project, VALID) == (0, [])


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "subject: Call the mayor about Ring",
            "subject: [Call the mayor",
            "newsletters/day.yaml:2: YAML syntax error: while parsing a flow sequence, did not find expected ',' or ']'"
            " (on line 3): check the indentation, and put quotes around text that contains ': ' or starts with [ { * & ! |",
            id="yaml-syntax",
        ),
        pytest.param(
            "subject: Call the mayor about Ring",
            'subject: "Call the mayor about Ring',
            # The parser stops on line 8, where the next quote closes the runaway string: the mistake is on line 2.
            "newsletters/day.yaml:2: YAML syntax error: the quote opened on line 2 closes only on line 8: close the "
            "quote on line 2, or remove it",
            id="yaml-unclosed-quote",
        ),
        pytest.param(
            "    script:",
            "   script:",
            "newsletters/day.yaml:14: YAML syntax error: did not find expected '-' indicator: check the indentation, "
            "and put quotes around text that contains ': ' or starts with [ { * & ! |",
            id="yaml-indentation",
        ),
        pytest.param(
            "headline:",
            "hedline:",
            "newsletters/day.yaml:4: hedline: unknown key: did you mean 'headline'? (allowed here: date, subject, "
            "preheader, headline, language, adapted_from, greeting, yesterday, background, actions, bonus, events, sign_off, ps, web, bills, ask, bilingual, byline, footnotes)",
            id="unknown-key",
        ),
        pytest.param(
            "        title: Councilmember\n",
            "        title: Councilmember\n        phone: 206-684-8808\n",
            "newsletters/day.yaml:13: actions[0].targets[1].phone: unknown key: did you mean 'phones'? (allowed here: "
            "name, title, office, district, phones, email, contact_form, note, id)",
            id="unknown-key-nested",
        ),
        pytest.param(
            "    title: Call the mayor",
            "    title: [Call, the mayor]",
            "newsletters/day.yaml:7: actions[0].title: expected text: write text here (put it in quotes if it looks "
            "like a number or yes/no)",
            id="wrong-type",
        ),
        pytest.param(
            "date: 2019-08-01",
            "date: 2019-02-30",
            "newsletters/day.yaml:1: date: '2019-02-30' is not a valid date: write it as YYYY-MM-DD, like 2019-08-06",
            id="bad-date",
        ),
        pytest.param(
            '"206-684-8808"',
            '"206-684-88"',
            "newsletters/day.yaml:13: actions[0].targets[1].phones[0].number: '206-684-88' is not a valid phone number: "
            "write it with its area code, like +1 201-555-0123",
            id="bad-phone",
        ),
        pytest.param(
            '"https://example.org/ring"',
            '"example.org/ring"',
            "newsletters/day.yaml:15: actions[0].link.url: 'example.org/ring' is not a web address: write the whole "
            "address, starting with https://",
            id="bad-url",
        ),
        pytest.param(
            "deadline: {date: 2019-08-06",
            "deadline: {date: 2019-07-31",
            "newsletters/day.yaml:8: actions[0].deadline.date: the deadline 2019-07-31 is before the newsletter's date "
            "(2019-08-01): correct the date, or drop this item if it has passed",
            id="deadline-before-issue",
        ),
        pytest.param(
            "preheader: Ask Mayor Durkan to ban police partnerships with Ring.\n",
            "",
            "newsletters/day.yaml:1: preheader: required key is missing: add 'preheader:'",
            id="missing-key",
        ),
        pytest.param(
            "headline: No police",
            "subject: again\nheadline: No police",
            "newsletters/day.yaml:4: subject: duplicate key: remove one of the two (the first is on line 2)",
            id="duplicate-key",
        ),
        pytest.param(
            "official: durkan",
            "official: durkin",
            "newsletters/day.yaml:10: actions[0].targets[0].official: 'durkin' is not in officials.yaml: did you mean "
            "'durkan'?",
            id="unknown-official",
        ),
        pytest.param(
            "  - kind: call",
            "  - kind: phone",
            "newsletters/day.yaml:6: actions[0].kind: 'phone' is not one of the allowed values: use one of: call, email,"
            " petition, event, read, share, thank, vote, survey, donate, volunteer, other, testify, comment",
            id="unknown-kind",
        ),
        pytest.param(
            'time: "17:00"',
            'time: "25:00"',
            "newsletters/day.yaml:8: actions[0].deadline.time: '25:00' is not a valid time of day: write it like '20:00' or '8 pm'",
            id="bad-time",
        ),
    ],
)
def test_bad_input(project: Path, old: str, new: str, expected: str) -> None:
    assert old in VALID
    code, lines = check(project, VALID.replace(old, new, 1))
    assert (code, lines) == (2, [expected])


def test_every_problem_is_reported_at_once(project: Path) -> None:
    text = VALID.replace("date: 2019-08-01", "date: 2019-08-01\nsubjekt: x").replace('"206-684-8808"', "12")
    text = text.replace("official: durkan", "official: nobody")
    code, lines = check(project, text)
    assert code == 2
    assert [line.split(": ")[0:2] for line in lines] == [
        ["newsletters/day.yaml:2", "subjekt"],
        ["newsletters/day.yaml:11", "actions[0].targets[0].official"],
        ["newsletters/day.yaml:14", "actions[0].targets[1].phones[0].number"],
    ]


def test_summary_line_counts_problems(project: Path) -> None:
    write(project / "newsletters", "day.yaml", VALID.replace("date: 2019-08-01", "date: 2019-02-30"))
    result = CliRunner().invoke(main, ["check", "--as-of", "2019-08-01"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "1 newsletter checked: 1 error"


def test_yaml_times_and_answers_stay_as_written(project: Path) -> None:
    # YAML 1.1 reads 20:00 as the number 1200 and `no` as false; both must reach the model as written.
    text = VALID.replace('time: "17:00"', "time: 20:00").replace("Read the coverage", "no")
    assert check(project, text) == (0, [])
    text = VALID.replace('time: "17:00"', "time: 8 pm")
    assert check(project, text) == (0, [])


def test_kind_and_section_must_agree(project: Path) -> None:
    text = VALID.replace(
        "  - kind: call\n",
        "  - kind: call\n    survey: {prompt: Why?, link: {text: Go, url: https://x.org}}\n",
    )
    code, lines = check(project, text)
    assert (code, lines) == (
        2,
        ["newsletters/day.yaml:6: actions[0]: 'survey' belongs to a 'survey' action: set 'kind: survey', or move it"],
    )


def test_script_for_must_name_a_target(project: Path) -> None:
    text = VALID.replace('script: "Hi', 'script:\n      for: mosqueda\n      text: "Hi')
    code, lines = check(project, text)
    assert (code, lines) == (
        2,
        [
            "newsletters/day.yaml:6: actions[0]: script is for 'mosqueda', not a target of this action: use one of: "
            "durkan"
        ],
    )


def test_not_a_mapping(project: Path) -> None:
    assert check(project, "- just\n- a list\n") == (
        2,
        ["newsletters/day.yaml:1: not a newsletter: start the file with 'date:', 'subject:' and so on"],
    )


def test_not_utf8(project: Path) -> None:
    (project / "newsletters" / "day.yaml").write_bytes(VALID.replace("Ring", "R\xefng").encode("latin-1"))
    result = CliRunner().invoke(main, ["check", "newsletters/day.yaml", "--as-of", "2019-08-01"])
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == "newsletters/day.yaml:2: not UTF-8 text: save the file as UTF-8"


def test_event_must_end_after_it_starts(project: Path) -> None:
    text = VALID + ("events:\n  - title: Rally\n    date: 2019-08-03\n    start: 6 pm\n    end: 17:30\n")
    assert check(project, text) == (
        2,
        [
            "newsletters/day.yaml:17: events[0]: the event ends before it starts: check 'start' and 'end' (or add 'start')"
        ],
    )
    assert check(project, text.replace("end: 17:30", "end: 7:30 pm")) == (0, [])


# --- What actionmail serve counts: report-backs and surveys without a link of their own, and `yesterday`

SURVEY = (
    VALID
    + """\
  - kind: survey
    title: Will you come?
    survey:
      prompt: Will you come to the hearing?
      choices:
        - {label: "Yes", value: "yes"}
        - {label: Tell us more, url: "https://example.org/more"}
"""
)


def test_a_report_back_without_a_url_and_a_survey_without_a_link_are_counted(project: Path) -> None:
    text = SURVEY.replace(
        "    link: {text: Read", "    report_back: {text: Let us know you called}\n    link: {text: Read"
    )
    assert check(project, text) == (0, [])
    assert (
        check(project, text.replace("{text: Let us know you called}", "{text: Log it, url: 'https://x.org/log'}"))[0]
        == 0
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            '        - {label: "Yes", value: "yes"}\n',
            "",
            "newsletters/day.yaml:18: actions[1].survey: a survey without 'link' is answered through actionmail serve, "
            "and has no choice with a 'value': add choices like {label: 'Yes', value: 'yes'}, or a 'link' to a survey of "
            "your own",
            id="nothing-to-count",
        ),
        pytest.param(
            '        - {label: "Yes", value: "yes"}\n',
            '        - {label: "Yes", value: "yes"}\n        - {label: "YES!", value: "YES!"}\n',
            "newsletters/day.yaml:18: actions[1].survey: the values 'yes' and 'YES!' would be counted as one answer "
            "('yes'): give each choice a value of its own",
            id="two-values-one-answer",
        ),
        pytest.param(
            'value: "yes"',
            'value: "¿?"',
            "newsletters/day.yaml:18: actions[1].survey: the value '¿?' has no letter or digit to count it by: use one "
            "like 'yes'",
            id="value-with-nothing-to-count-by",
        ),
        pytest.param(
            "    survey:\n",
            "    report_back: {text: Tell us you answered}\n    survey:\n",
            "newsletters/day.yaml:16: actions[1]: this survey's answers are counted already: a report-back would count "
            "the same members again: remove 'report_back', or give it a 'url'",
            id="counted-twice",
        ),
    ],
)
def test_counted_surveys(project: Path, old: str, new: str, expected: str) -> None:
    assert old in SURVEY
    code, lines = check(project, SURVEY.replace(old, new, 1))
    assert (code, lines) == (2, [expected])


YESTERDAY = """\
yesterday:
  text: Yesterday 212 of you called Jenny Durkan. Thank you!
  issue: 2019-07-31-durkan
  as_of: 2019-08-01T06:30:00-07:00
"""


def test_yesterday(project: Path) -> None:
    write(project / "newsletters", "2019-07-31-durkan.yaml", VALID.replace("2019-08-01", "2019-07-31"))
    text = VALID.replace("actions:\n", YESTERDAY + "actions:\n")
    assert check(project, text) == (0, [])
    code, lines = check(
        project, text.replace("issue: 2019-07-31-durkan", "issue: ../secrets").replace("06:30:00", "6h")
    )
    assert (code, lines) == (
        2,
        [
            "newsletters/day.yaml:7: yesterday.issue: '../secrets' is not in the expected form: see "
            "docs/newsletter-format.md for this key",
            "newsletters/day.yaml:8: yesterday.as_of: '2019-08-01T6h-07:00' is not a valid date and time: write it like "
            "2019-08-01T06:30:00-07:00",
        ],
    )
