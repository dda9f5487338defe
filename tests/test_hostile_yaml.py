"""Corrupted and hostile newsletter files: each gets its FILE:LINE problem and exit 2, never a traceback or a hang.

The fuzz test (tests/test_fuzz_newsletters.py) finds such files by the thousand; these are the kinds it found,
and the mistakes people make most (a tab, curly quotes, a non-breaking space, a quote left open), each with the
message it must give.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail.cli import main
from tests.fuzzing import time_limit
from tests.test_validation import VALID

FILE = "newsletters/day.yaml"


def check(project: Path, text: str) -> tuple[int, list[str]]:
    (project / FILE).write_text(text, encoding="utf-8")
    with time_limit(60):  # a hang fails the test instead of stopping the suite
        result = CliRunner().invoke(main, ["check", "--no-spam", FILE])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    # Warnings (a date already past, say) are the checks' business; these tests are about what the loader refuses.
    lines = [line for line in result.output.splitlines() if ": warning: " not in line]
    return result.exit_code, lines[:-1] if lines and "checked" in lines[-1] else lines


def broken(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


SUBJECT = "subject: Call the mayor about Ring"
TITLE = "    title: Call the mayor"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            broken("Call the mayor about", "Call the\x00 mayor about"),
            f"{FILE}:2: the file contains a control character (U+0000) at column 18: remove it",
            id="nul",
        ),
        pytest.param(
            broken("Call the mayor about", "Call\x1b[31m the mayor about"),
            f"{FILE}:2: the file contains a control character (U+001B) at column 14: remove it",
            id="escape-character",
        ),
        pytest.param(
            broken("Call the mayor about", "Call the\uffff mayor about"),
            f"{FILE}:2: the file contains a non-character (U+FFFF) at column 18: remove it",
            id="u+ffff",
        ),
        pytest.param(
            broken("Call the mayor about", "Call the\u2028mayor about"),
            f"{FILE}:2: the file contains a line separator (U+2028) at column 18: replace it with a line break",
            id="line-separator",
        ),
        pytest.param(
            broken(SUBJECT, 'subject: "Call the\\0 mayor"'),
            f"{FILE}:2: subject: the text contains a control character (U+0000), written as an escape: remove it",
            id="escaped-nul",
        ),
        pytest.param(
            broken(SUBJECT, 'subject: "Call the mayor\\r\\nBcc: a@evil.example"'),
            f"{FILE}:2: subject: the text contains a control character (U+000D), written as an escape: remove it",
            id="escaped-header",
        ),
        pytest.param(
            broken(SUBJECT, 'subject: "Call the mayor\\nBcc: a@evil.example"'),
            f"{FILE}:2: subject: the subject has a line break in it: write it on one line",
            id="subject-line-break",
        ),
        pytest.param(
            broken(SUBJECT, 'subject: "Call the\\ud800 mayor"'),
            f"{FILE}:2: YAML syntax error: found invalid Unicode character escape code: in double quotes a backslash "
            "starts an escape: write \\\\ for a backslash, or use single quotes",
            id="escaped-surrogate",
        ),
    ],
)
def test_characters_yaml_cannot_hold(project: Path, text: str, expected: str) -> None:
    assert check(project, text) == (2, [expected])


PLAIN = "remove it: a newsletter is plain YAML (text, numbers, dates, lists and mappings)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            broken(TITLE, "    title: !!python/name:os.system"),
            f"{FILE}:7: actions[0].title: unknown tag '!!python/name:os.system': {PLAIN}",
            id="python-name",
        ),
        pytest.param(
            broken(TITLE, "    title: !!python/object/apply:os.system ['true']"),
            f"{FILE}:7: actions[0].title: unknown tag '!!python/object/apply:os.system': {PLAIN}",
            id="python-object",
        ),
        pytest.param(
            broken(TITLE, "    title: !!float x"),
            f"{FILE}:7: actions[0].title: 'x' is not a valid '!!float': remove '!!float', or correct the value",
            id="float",
        ),
        pytest.param(
            broken("date: 2019-08-01", "date: !!timestamp garbage"),
            f"{FILE}:1: date: 'garbage' is not a valid '!!timestamp': remove '!!timestamp', or correct the value",
            id="timestamp",
        ),
        pytest.param(
            broken(TITLE, "    title: !!int ''"),
            f"{FILE}:7: actions[0].title: '' is not a valid '!!int': remove '!!int', or correct the value",
            id="int",
        ),
        pytest.param(
            broken(TITLE, "    title: !!binary '@@@'"),
            f"{FILE}:7: actions[0].title: unknown tag '!!binary': {PLAIN}",
            id="binary",
        ),
        pytest.param(
            broken(TITLE, "    title: !foo bar"),
            f"{FILE}:7: actions[0].title: unknown tag '!foo': {PLAIN}",
            id="custom",
        ),
        pytest.param(
            broken("    targets:", "    targets: !!set"),
            f"{FILE}:9: actions[0].targets: unknown tag '!!set': {PLAIN}",
            id="set",
        ),
        pytest.param(
            broken(TITLE, "    <<: {title: Call the mayor}"),
            f"{FILE}:7: actions[0]: a merge key (<<): write the keys out: '<<' is not supported",
            id="merge-key",
        ),
    ],
)
def test_tags(project: Path, text: str, expected: str) -> None:
    assert check(project, text) == (2, [expected])


def test_billion_laughs_is_refused_not_expanded(project: Path) -> None:
    # Nine levels of nine aliases each: expanded, 387 million items (and hours at 100% CPU).
    laughs = "lol0: &a0 [lol]\n" + "".join(f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
    code, lines = check(project, laughs + VALID)
    assert code == 2
    assert lines[0] == (
        f"{FILE}:2: lol1[0]: an alias (*name) of the list anchored on line 1: write the list out here: aliases of "
        "lists and mappings are not expanded"
    )
    assert len(lines) == 9  # one for each level's anchor


def test_an_alias_to_a_scalar_is_fine(project: Path) -> None:
    text = broken("headline: No police", "headline: &h No police").replace("    title: Call the mayor", "    title: *h")
    assert check(project, text) == (0, [])


@pytest.mark.parametrize("depth", [60, 990, 5000])
def test_deep_nesting_is_refused(project: Path, depth: int) -> None:
    code, lines = check(project, broken(TITLE, "    title: " + "[" * depth + "]" * depth))
    assert code == 2
    assert lines == [
        f"{FILE}:7: actions[0].title[0][0]: lists and mappings nested more than 50 deep: check the indentation and "
        "the brackets: a newsletter needs a few levels"
        if depth < 1000
        else f"{FILE}:7: YAML syntax error: exceeded maximum nesting depth: check the indentation, and put quotes "
        "around text that contains ': ' or starts with [ { * & ! |"
    ]


def test_a_hundred_thousand_brackets(project: Path) -> None:
    assert check(project, broken(TITLE, "    title: " + "[" * 100_000))[0] == 2
    assert check(project, broken(TITLE, "    title: " + "{a: " * 50_000))[0] == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            broken("      - official: durkan", "      - [durkan]"),
            f"{FILE}:10: actions[0].targets[0]: expected a mapping of keys: write 'key: value' lines, indented under "
            "this key",
            id="list-for-target",
        ),
        pytest.param(
            broken("      - official: durkan", "      - 42"),
            f"{FILE}:10: actions[0].targets[0]: expected a mapping of keys: write 'key: value' lines, indented under "
            "this key",
            id="number-for-target",
        ),
        pytest.param(
            broken('time: "17:00"', 'time: "17:00:00+02:00"'),
            f"{FILE}:8: actions[0].deadline.time: 17:00:00+02:00 has a UTC offset: write the time alone, like '20:00', "
            "and the zone in 'timezone:'",
            id="time-with-offset",
        ),
        pytest.param(
            broken('"https://example.org/ring"', '"{RING}"'),
            f"{FILE}:15: actions[0].link.url: '{{RING}}' is not a web address: write the whole "
            "address, starting with https://",
            id="braces-shown-as-written",
        ),
        pytest.param(
            broken("date: 2019-08-01", "date: 2019-08-01 10:00:00"),
            f"{FILE}:1: date: '2019-08-01 10:00:00' is not a date: write it as YYYY-MM-DD, without a time",
            id="date-and-time",
        ),
        pytest.param(
            broken('time: "17:00"', "time: 8"),
            f"{FILE}:8: actions[0].deadline.time: '8' is not a time of day: write it like '20:00' or '8 pm'",
            id="number-for-time",
        ),
        pytest.param(
            broken("    title: Call the mayor", "    title: Call the mayor\n    " + "x" * 300 + ": 1"),
            f"{FILE}:8: actions[0].{'x' * 300}: unknown key: remove it, or check its spelling (allowed here: kind, "
            "title, why, deadline, targets, script, message, link, report_back, election, survey, events, bills, steps, "
            "petition, sign_in, comment, language, window, alternatives, article)",
            id="long-key",
        ),
        pytest.param(
            broken('"https://example.org/ring"', '"' + "x" * 300 + '"'),
            f"{FILE}:15: actions[0].link.url: '{'x' * 99}…' is not a web address: write the whole address, starting "
            "with https://",
            id="long-value-is-cut",
        ),
    ],
)
def test_wrong_types(project: Path, text: str, expected: str) -> None:
    assert check(project, text) == (2, [expected])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            broken(TITLE, "\ttitle: Call the mayor"),
            f"{FILE}:7: a tab at the start of the line: YAML indents with spaces only: replace the tab with spaces",
            id="tab",
        ),
        pytest.param(
            broken(TITLE, "  \t  title: Call the mayor"),
            f"{FILE}:7: a tab at the start of the line: YAML indents with spaces only: replace the tab with spaces",
            id="tab-after-spaces",
        ),
        pytest.param(
            broken(SUBJECT, "subject: “Call the mayor: about Ring”"),
            f"{FILE}:2: curly quotes (“ ” or ‘ ’) are not quotes in YAML, so what they enclose is read as YAML: type "  # noqa: RUF001
            'straight quotes ("…") around the text instead',
            id="curly-quotes-around-a-colon",
        ),
        pytest.param(
            broken(SUBJECT, "subject: “Call the mayor #1 about Ring”"),
            f"{FILE}:2: subject: '“Call the mayor' has a curly quote at one end only: YAML cut the text short: type "
            'straight quotes ("…") around the text instead: curly quotes (“ ”) are not quotes in YAML',
            id="curly-quotes-cut-by-a-comment",
        ),
        pytest.param(
            broken('time: "17:00"', "time: “17:00”"),
            f"{FILE}:8: actions[0].deadline.time: '“17:00”' is not a valid time of day: type straight quotes (\"…\") "
            "around the text instead: curly quotes (“ ”) are not quotes in YAML",
            id="curly-quotes-around-a-time",
        ),
        pytest.param(
            broken(TITLE, "\u00a0\u00a0  title: Call the mayor"),
            f"{FILE}:7: the indentation has a non-breaking space (U+00A0) in it: retype the indentation with plain "
            "spaces",
            id="nbsp-indentation",
        ),
        pytest.param(
            broken(TITLE, "  \u00a0 title: Call the mayor"),
            f"{FILE}:7: the indentation has a non-breaking space (U+00A0) in it: retype the indentation with plain "
            "spaces",
            id="nbsp-in-indentation",
        ),
        pytest.param(
            broken("link: {text: Read the coverage", 'link: {text: "Read the coverage'),
            f"{FILE}:15: YAML syntax error: the quote opened at column 18 runs on past the end of its value (it closes"
            " at column 43): close the quote before the ',' or '}' that ends its value, or remove it",
            id="unclosed-quote-in-braces",
        ),
        pytest.param(
            broken('time: "17:00"}', 'time: "17:00}'),
            f"{FILE}:8: YAML syntax error: the quote opened on line 8 closes only on line 13: close the quote on line 8 "
            "before the ',' or '}' that ends its value",
            id="unclosed-quote-in-braces-runs-on",
        ),
        pytest.param(
            VALID + 'ps: {text: "never closed}\n',
            f"{FILE}:16: YAML syntax error: the quote opened at column 12 never closes: close the quote before the ',' "
            "or '}' that ends its value, or remove it",
            id="unclosed-quote-in-braces-at-the-end",
        ),
    ],
)
def test_the_cause_is_named(project: Path, text: str, expected: str) -> None:
    assert check(project, text) == (2, [expected])


def test_curly_quotes_in_braces(project: Path) -> None:
    # {text: “Read, the coverage”, …}: the comma ends the text, and what follows is read as a key.
    code, lines = check(project, broken("link: {text: Read the coverage", "link: {text: “Read, the coverage”"))
    fix = 'type straight quotes ("…") around the text instead: curly quotes (“ ”) are not quotes in YAML'
    assert (code, lines) == (
        2,
        [
            f"{FILE}:15: actions[0].link: 'the coverage”' has a curly quote at one end only: YAML cut the text short: "
            + fix,
            f"{FILE}:15: actions[0].link.text: '“Read' has a curly quote at one end only: YAML cut the text short: "
            + fix,
        ],
    )


def test_a_file_too_large(project: Path) -> None:
    assert check(project, VALID + "ps: " + "x" * 300_000 + "\n") == (
        2,
        [f"{FILE}: the file is larger than 256 KB, far more than it needs: check that it is the right file"],
    )


def test_officials_yaml_is_read_the_same_way(project: Path) -> None:
    officials = project / "officials.yaml"
    officials.write_text(officials.read_text().replace("officials:", "officials: !!python/object:builtins.dict", 1))
    code, lines = check(project, VALID)
    assert code == 2
    assert lines[0].startswith("officials.yaml:")
    assert "unknown tag '!!python/object:builtins.dict'" in lines[0]
    officials.write_text("officials:\n  - id: [1]\n    name: X\n    title: Y\ngroups:\n  - id: g\n    label: G\n"
                         "    members: [x]\n    per_district: true\n")  # fmt: skip
    code, lines = check(project, VALID)
    assert code == 2
    assert lines[0] == "officials.yaml:2: officials[0].id: expected text: write text here (put it in quotes if it " \
        "looks like a number or yes/no)"  # fmt: skip


def test_officials_yaml_may_be_larger_but_not_without_limit(project: Path) -> None:
    officials = project / "officials.yaml"
    officials.write_text(officials.read_text() + "# " + "x" * 2_200_000 + "\n")
    assert check(project, VALID) == (
        2,
        ["officials.yaml: the file is larger than 2,048 KB, far more than it needs: check that it is the right file"],
    )


def test_a_file_cut_short_points_at_its_last_line(project: Path) -> None:
    # No line end after the last line: libyaml reports the end of the file on a line of its own, past the last.
    text = VALID[: VALID.index("    targets:") + len("    targets")]
    assert check(project, text) == (
        2,
        [
            f"{FILE}:9: YAML syntax error: could not find expected ':': check the indentation, and put quotes around "
            "text that contains ': ' or starts with [ { * & ! |"
        ],
    )
