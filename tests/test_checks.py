"""One failing and one passing case per check: the exact message, on its line.

Each case edits one thing in a small newsletter that passes every check (or in the project's settings or
officials), the way a volunteer's mistake would, and runs the checks as `actionmail check` does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from actionmail import check, load
from actionmail.check import links
from actionmail.cli import main
from actionmail.newsletter import json_schema
from actionmail.render import Rendered
from tests.conftest import ROOT, SEED, write

# Line numbers in the messages below are counted in this text.
CLEAN = """\
date: 2019-08-01
subject: Call the mayor about Ring
preheader: Ask Mayor Durkan to ban police partnerships with Ring.
headline: No police partnerships on facial recognition
background: |
  The campaign follows an
  [investigation by Motherboard](https://www.vice.com/en/article/ring).
  Vote by Tuesday, August 6.
actions:
  - kind: call
    title: Call the mayor
    targets:
      - official: durkan
    script: "Hi, my name is [YOUR NAME] and I live in [ZIP]. Please ban police partnerships with Ring."
    link: {text: Read the coverage, url: "https://example.org/ring"}
bonus:
  - kind: vote
    title: Vote by Tuesday
    election:
      name: the 2019 primary election
      day: 2019-08-06
      return_by: {date: 2019-08-06, time: "20:00", timezone: America/Los_Angeles}
"""

F = "newsletters/day.yaml"
LONG_SCRIPT = "Hi, my name is [YOUR NAME] and I live in [ZIP]. " + "Please ban police partnerships with Ring. " * 12


@dataclasses.dataclass
class Case:
    old: str
    new: str
    expected: str | None  # the one problem found, or None: none
    file: str = F  # which file the edit is in: the newsletter, actionmail.toml or officials.yaml


CASES = {
    # --- links
    "empty-href": Case(
        "(https://www.vice.com/en/article/ring)",
        "()",
        f"{F}:7: background: 'investigation by Motherboard' has no address: put the address back: [link text](https://…)",
    ),
    "relative-url": Case(
        "https://www.vice.com/en/article/ring",
        "www.vice.com/en/article/ring",
        f"{F}:7: background: 'investigation by Motherboard' goes to 'www.vice.com/en/article/ring', which is not a "
        "whole address: it goes nowhere from an inbox: write the whole address, starting with https://",
    ),
    "http": Case(
        'url: "https://example.org/ring"',
        'url: "http://example.org/ring"',
        f"{F}:15: actions[0].link.url: warning: 'Read the coverage' goes to http://example.org/ring, which is not "
        "secure (http:): use https:// (most sites have it; check that the page opens)",
    ),
    "mailto-is-not-http": Case(
        "  Vote by Tuesday, August 6.",
        "  Vote by Tuesday, August 6. [Write to us](mailto:info@example.org).",
        None,
    ),
    "shortener": Case(
        "https://www.vice.com/en/article/ring",
        "https://bit.ly/3xYzAb",
        f"{F}:7: background: warning: 'investigation by Motherboard' goes to https://bit.ly/3xYzAb, a shortened link: "
        "spam filters distrust them, and readers can't see where it leads: link to the page itself",
    ),
    "not-a-shortener": Case("https://www.vice.com/en/article/ring", "https://bitly.example.org/ring", None),
    "generic-text": Case(
        "[investigation by Motherboard]",
        "[click here]",
        f"{F}:7: background: warning: the link text 'click here' doesn't say where the link goes: say what the "
        "reader gets there, e.g. [Read Motherboard's investigation](https://…)",
    ),
    "generic-text-in-spanish": Case(
        "[investigation by Motherboard]",
        "[aquí]",
        f"{F}:7: background: warning: the link text 'aquí' doesn't say where the link goes: say what the "
        "reader gets there, e.g. [Read Motherboard's investigation](https://…)",
    ),
    "same-url-different-text": Case(
        'url: "https://example.org/ring"',
        'url: "https://www.vice.com/en/article/ring"',
        f"{F}:7: background: warning: https://www.vice.com/en/article/ring is linked as 'investigation by "
        "Motherboard' and 'Read the coverage': check that each link has the right address (links to the same page "
        "read better with one name)",
    ),
    "same-url-same-text": Case(
        '{text: Read the coverage, url: "https://example.org/ring"}',
        '{text: investigation by Motherboard, url: "https://www.vice.com/en/article/ring"}',
        None,
    ),
    "lost-link-parenthesis": Case(
        "[investigation by Motherboard](https://www.vice.com/en/article/ring).",
        "investigation by Motherboard ( that found",
        f"{F}:7: background: 'investigation by Motherboard (' opens a parenthesis that nothing closes: a link lost "
        "in copy-paste?: put the link back as [text](https://…), or close the parenthesis",
    ),
    "lost-link-bare-text": Case(
        "[investigation by Motherboard](https://www.vice.com/en/article/ring).",
        "[investigation by Motherboard].",
        f"{F}:7: background: warning: '[investigation by Motherboard]' is link text with no address after it: a "
        "link lost in copy-paste?: put the address back: [investigation by Motherboard](https://…), or take away "
        "the brackets",
    ),
    "reference-link": Case(
        "[investigation by Motherboard](https://www.vice.com/en/article/ring).",
        "[investigation by Motherboard].\n\n  [investigation by Motherboard]: https://www.vice.com/en/article/ring",
        None,
    ),
    "caller-placeholder-in-brackets": Case("[YOUR NAME]", "[YOUR FULL NAME]", None),
    "parenthesis-closed": Case("Vote by Tuesday, August 6.", "Vote by Tuesday, August 6 (the primary).", None),
    "lost-link-at": Case(
        "  Vote by Tuesday, August 6.",
        "  Vote by Tuesday, August 6.\n\n  You can find the voters guide at",
        f"{F}:10: background: 'find the voters guide at' ends without the link it promises: lost in "
        "copy-paste?: put the link back: … at [the page's name](https://…)",
    ),
    "links-listed-after-here": Case(
        "  Vote by Tuesday, August 6.",
        "  Find the voters guides here:\n\n  - [The Fuse guide](https://example.org/guide)",
        None,
    ),
    "link-after-at": Case(
        "  Vote by Tuesday, August 6.",
        "  You can find the voters guide at\n  [the Fuse guide](https://example.org/guide).",
        None,
    ),
    # --- content
    "leftover-tk": Case(
        "headline: No police partnerships on facial recognition",
        "headline: No police partnerships on TK",
        f"{F}:4: headline: 'TK' (to come) is left in the text: finish or remove it",
    ),
    "leftover-other-providers-merge-field": Case(
        "    title: Call the mayor",
        "    title: Call the mayor, %recipient.first_name%",
        f"{F}:11: actions[0].title: '%recipient.first_name%' is another provider's merge field: write the merge "
        "field as {first_name|friend}",
    ),
    "leftover-template-braces": Case(
        "  Vote by Tuesday, August 6.",
        "  Vote by {{ deadline }}.",
        f"{F}:8: background: '{{{{' is left in the text: template code, not a merge field: finish or remove it",
    ),
    "merge-fields-and-caller-placeholders": Case(
        "headline: No police partnerships on facial recognition",
        'headline: "{first_name|Friend}, call about [the Ring deal]"',
        None,
    ),
    "weekday": Case(
        "Vote by Tuesday, August 6.",
        "Vote by Tuesday, August 7.",
        f"{F}:8: background: 'Tuesday, August 7': August 7, 2019 is a Wednesday: correct the weekday or the date",
    ),
    "weekday-in-spanish": Case(
        "Vote by Tuesday, August 6.",
        "Vote el miércoles, 6 de agosto.",
        f"{F}:8: background: 'miércoles, 6 de agosto': August 6, 2019 is a Tuesday: correct the weekday or the date",
    ),
    "weekday-in-spanish-right": Case("Vote by Tuesday, August 6.", "Vote el martes 6 de agosto.", None),
    "weekday-next-year": Case("Vote by Tuesday, August 6.", "Back on Friday, January 3, 2020 and on Thu, Jan 2.", None),
    "registration-deadline-passed": Case(
        "      day: 2019-08-06\n",
        "      day: 2019-08-06\n      registration_deadline: 2019-07-08\n",
        f"{F}:22: bonus[0].election.registration_deadline: warning: the registration deadline 2019-07-08 is before "
        "the newsletter's date (2019-08-01): readers can't act on it: drop it, or tell readers how to register late",
    ),
    "registration-deadline-to-come": Case(
        "      day: 2019-08-06\n", "      day: 2019-08-06\n      registration_deadline: 2019-08-05\n", None
    ),
    "term-ended": Case(
        "    term_end: 2021-12-31\n    source: https://www.seattle.gov/mayor",
        "    term_end: 2019-07-31\n    source: https://www.seattle.gov/mayor",
        f"{F}:13: actions[0].targets[0].official: Jenny Durkan's term ended on 2019-07-31, before the newsletter's "
        "date (2019-08-01): update 'durkan' in officials.yaml with whoever holds the office now",
        file="officials.yaml",
    ),
    "term-ends-that-day": Case(
        "    term_end: 2021-12-31\n    source: https://www.seattle.gov/mayor",
        "    term_end: 2019-08-01\n    source: https://www.seattle.gov/mayor",
        None,
        file="officials.yaml",
    ),
    "not-verified-lately": Case(
        "    term_end: 2021-12-31\n    source: https://www.seattle.gov/mayor",
        "    term_end: 2021-12-31\n    verified: 2018-01-02\n    source: https://www.seattle.gov/mayor",
        f"{F}:13: actions[0].targets[0].official: warning: Jenny Durkan's details were last verified on 2018-01-02, "
        "576 days before the newsletter's date: check 'durkan' in officials.yaml against the source and update "
        "'verified:' (the limit is [check] verified_within_days = 365)",
        file="officials.yaml",
    ),
    "verified-lately": Case(
        "    term_end: 2021-12-31\n    source: https://www.seattle.gov/mayor",
        "    term_end: 2021-12-31\n    verified: 2019-01-02\n    source: https://www.seattle.gov/mayor",
        None,
        file="officials.yaml",
    ),
    "phone-in-text": Case(
        "Please ban police partnerships with Ring.",
        "Please ban police partnerships with Ring, or call me back at (206) 684-88.",
        f"{F}:14: actions[0].script: '(206) 684-88' is not a valid phone number in US: check the digits; write it "
        "with its area code, like +1 201-555-0123",
    ),
    "phone-in-text-valid": Case(
        "Please ban police partnerships with Ring.", "Please ban police partnerships with Ring: (206) 684-8808.", None
    ),
    "script-too-long": Case(
        "Hi, my name is [YOUR NAME] and I live in [ZIP]. Please ban police partnerships with Ring.",
        LONG_SCRIPT.strip(),
        f"{F}:14: actions[0].script: warning: the script is 83 words, about 33 seconds spoken; callers lose the "
        "thread after about 75 words (30 seconds): cut it to one ask; move the background to 'why:'",
    ),
    "script-without-caller": Case(
        "Hi, my name is [YOUR NAME] and I live in [ZIP]. ",
        "",
        f"{F}:14: actions[0].script: warning: the script doesn't have the caller say who they are: offices count "
        "calls from constituents: start it with 'Hi, my name is [YOUR NAME] and I live in [ZIP].'",
    ),
    "script-with-first-name": Case("Hi, my name is [YOUR NAME]", "Hi, my name is {first_name|___}", None),
    "ballot-deadline-without-time-zone": Case(
        ", timezone: America/Los_Angeles}",
        "}",
        f"{F}:22: bonus[0].election.return_by: warning: the ballot deadline 2019-08-06 20:00 has no time zone: add "
        "'timezone: America/Los_Angeles' (or the zone of the election)",
    ),
    "ballot-deadline-without-time": Case(', time: "20:00", timezone: America/Los_Angeles}', "}", None),
    # --- deliverability
    "subject-too-long": Case(
        "subject: Call the mayor about Ring",
        "subject: Call the mayor about Ring, then call the council, then vote, then tell two friends to do it too",
        f"{F}:2: subject: warning: the subject is 95 characters; inboxes cut it off after about 78: shorten it to 78 "
        "or fewer, the action first",
    ),
    "subject-too-short": Case(
        "subject: Call the mayor about Ring",
        "subject: Call!",
        f"{F}:2: subject: warning: the subject is only 5 characters: too short to say what to do: say the action in "
        "10 to 78 characters",
    ),
    "subject-merge-field-counts-as-fallback": Case(
        "subject: Call the mayor about Ring", 'subject: "{first_name|Friend}, call!"', None
    ),
    "no-postal-address": Case(
        'postal_address = "PO Box 00000, Seattle, WA 98101"\n',
        "",
        "actionmail.toml:4: organization.postal_address: no postal address: the law (CAN-SPAM) and mailbox "
        'providers want one in every message: add postal_address = "street or PO box, city, state, zip" under '
        "[organization]",
        file="actionmail.toml",
    ),
    "insecure-unsubscribe-url": Case(
        'unsubscribe_url = "https://www.seattleindivisible.com/unsubscribe/{token}"',
        'unsubscribe_url = "http://www.seattleindivisible.com/unsubscribe/{token}"',
        "actionmail.toml:17: email.unsubscribe_url: unsubscribe_url 'http://www.seattleindivisible.com/unsubscribe/"
        "{token}' must be an https:// address with {token} in it: Gmail and Yahoo require a one-click HTTPS "
        'unsubscribe link in the List-Unsubscribe header: write it like "https://example.org/unsubscribe/{token}"',
        file="actionmail.toml",
    ),
    "from-example-address": Case(
        'from = "Seattle Indivisible <action@seattleindivisible.com>"',
        'from = "Seattle Indivisible <action@example.org>"',
        "actionmail.toml:14: email.from: From action@example.org is an example address: mail from it is refused: "
        'set from = "Your organization <action@your-domain.org>" under [email]',
        file="actionmail.toml",
    ),
    "from-without-name": Case(
        'from = "Seattle Indivisible <action@seattleindivisible.com>"',
        'from = "action@seattleindivisible.com"',
        "actionmail.toml:14: email.from: warning: From action@seattleindivisible.com has no name: inboxes show the "
        'bare address: write it as "Seattle Indivisible <action@seattleindivisible.com>"',
        file="actionmail.toml",
    ),
    "from-off-the-sending-domain": Case(
        "[colors]\n",
        '[check]\nsending_domain = "mg.indivisible.org"\n\n[colors]\n',
        "actionmail.toml:14: email.from: From action@seattleindivisible.com is not on the sending domain "
        "mg.indivisible.org: DMARC will fail, and Gmail and Yahoo reject or junk such mail: send from an address "
        "@mg.indivisible.org, or set [check] sending_domain to the domain that signs your mail",
        file="actionmail.toml",
    ),
    "from-on-a-subdomain-of-it": Case(
        "[colors]\n",
        '[check]\nsending_domain = "mg.seattleindivisible.com"\n\n[colors]\n',
        None,
        file="actionmail.toml",
    ),
}


def run(project: Path, newsletter: str, today: dt.date | None = None) -> list[str]:
    write(project / "newsletters", "day.yaml", newsletter)
    return [str(p) for p in check.check_files([project / "newsletters" / "day.yaml"], today=today)]


def test_the_clean_newsletter_passes(project: Path) -> None:
    assert run(project, CLEAN) == []


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_check(project: Path, case: Case) -> None:
    if case.file == F:
        assert case.old in CLEAN
        newsletter = CLEAN.replace(case.old, case.new, 1)
    else:
        path = project / case.file
        text = path.read_text()
        assert case.old in text
        path.write_text(text.replace(case.old, case.new, 1))
        newsletter = CLEAN
    assert run(project, newsletter) == ([case.expected] if case.expected else [])


def test_a_newsletter_sent_after_its_date_warns_once(project: Path) -> None:
    expected = (
        f"{F}:1: date: warning: the newsletter's date, 2019-08-01, is before the day it goes out: set 'date:' to the "
        "day it goes out, and check it again"
    )
    assert run(project, CLEAN, today=dt.date(2019, 8, 2)) == [expected]
    assert run(project, CLEAN, today=dt.date(2019, 8, 1)) == []


def test_the_bare_link_text_check_knows_every_markdown_key() -> None:
    source = (ROOT / "src" / "actionmail" / "newsletter.py").read_text(encoding="utf-8")
    assert set(re.findall(r"^    (\w+): Markdown\b", source, re.MULTILINE)) == links.MARKDOWN_KEYS


def test_the_seed_with_its_links_lost_as_in_the_original_copy_fails(project: Path) -> None:
    """The 2019 email, copied as plain text, lost its links: "Motherboard (" and "you can find it at" with
    nothing after. The example with its links removed the same way must fail, on the lines where they were."""
    text = SEED.read_text()
    # A link after "at" was a bare address in the original, and vanished with it …
    lost = re.sub(r" at\n(\s*)\[[^\]]*\]\([^)]*\)\.", " at", text)
    # … and one written "text (address)" kept its opening parenthesis.
    lost = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1 (", lost)
    assert lost.count(" (") > text.count(" (")
    path = write(project / "newsletters", SEED.name, lost)
    lines = {n: line for n, line in enumerate(lost.splitlines(), start=1)}
    problems = check.check_files([path])
    assert [str(p) for p in problems] == [
        f"newsletters/{SEED.name}:28: background: 'piece by Motherboard (' opens a parenthesis that nothing closes: "
        "a link lost in copy-paste?: put the link back as [text](https://…), or close the parenthesis",
        f"newsletters/{SEED.name}:71: bonus[0].why: 'You can find it at' ends without the link it promises: lost in "
        "copy-paste?: put the link back: … at [the page's name](https://…)",
        f"newsletters/{SEED.name}:73: bonus[0].why: 'can request a replacement at' ends without the link it "
        "promises: lost in copy-paste?: put the link back: … at [the page's name](https://…)",
    ]
    assert lines[28].endswith("investigative piece by Motherboard (")
    assert lines[71].endswith("You can find it at") and lines[73].endswith("request a replacement at")


def test_every_example_is_clean() -> None:
    examples = check.collect([ROOT / "newsletters"])
    assert len(examples) >= 3
    assert [str(p) for p in check.check_files(examples)] == []


def _with_html(draft: check.Draft, old: str, new: str) -> check.Draft:
    # Every occurrence: a button's link is in the HTML twice, once for Outlook (in a comment) and once for the rest.
    rendered = [dataclasses.replace(v, html=re.sub(old, new, v.html)) for v in draft.rendered]
    assert rendered[0].html != draft.rendered[0].html
    return dataclasses.replace(draft, rendered=rendered)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            r'<a href="\{unsubscribe_url\}"[^>]*>[^<]*</a>',
            "",
            f"{F}: the email has no unsubscribe link in its HTML: put {{{{ unsubscribe_url }}}} in the footer of your "
            "templates, as the built-in ones do",
            id="no-unsubscribe-link",
        ),
        pytest.param(
            r"PO Box 00000, Seattle, WA 98101",
            "",
            f"{F}: the postal address is not in the email: put {{{{ org.postal_address }}}} in the footer of your "
            "templates (HTML and text)",
            id="no-postal-address-in-the-email",
        ),
        pytest.param(
            r"Ask Mayor Durkan to ban police partnerships with Ring\.",
            "",
            f"{F}:3: preheader: the preheader is not in the HTML: inboxes will show the first text of the email "
            "instead: put {{ n.preheader }} first in your templates/email.mjml, as the built-in template does",
            id="no-preheader",
        ),
        pytest.param(
            r'href="https://example.org/ring"',
            'href="data:text/html,ring"',
            f"{F}: 'Read the coverage' is a data: URI: link to a page on the web, with https://",
            id="data-uri",
        ),
        pytest.param(
            r'href="https://example.org/ring"',
            'href="javascript:alert(1)"',
            f"{F}: 'Read the coverage' goes to javascript:alert(1): links in an email must be https:, mailto: or tel:",
            id="other-scheme",
        ),
    ],
)
def test_checks_of_what_an_organizations_own_templates_could_leave_out(
    project: Path, old: str, new: str, expected: str
) -> None:
    path = write(project / "newsletters", "day.yaml", CLEAN)
    project_, newsletter = check.load(path)
    draft = _with_html(check.make_draft(path, project_, newsletter), old, new)
    assert [str(p) for p in check.run(draft)] == [expected]


def test_size_warns_before_gmail_clips(project: Path) -> None:
    padding = "\n\n".join(f"  Paragraph {i}: " + "words " * 40 for i in range(240))
    problems = run(project, CLEAN.replace("background: |\n", "background: |\n" + padding + "\n\n", 1))
    assert len(problems) == 1
    assert re.fullmatch(
        rf"{F}: warning: the HTML is (\d+) KB, close to the 102 KB at which Gmail clips an email: shorten the "
        "background or move detail to a linked page",
        problems[0],
    )
    assert 75 < int(re.findall(r"\d+", problems[0].split("is ")[1])[0]) <= 100


@pytest.mark.parametrize(
    ("district", "districts", "which"),
    [
        (None, {}, "the HTML"),
        ("3", {}, "the district 3 version"),
        (None, {"congress": "9"}, "the congress 9 version"),
        ("3", {"congress": "9", "state-house": None}, "the district 3 · congress 9 version"),
    ],
)
def test_a_size_warning_names_the_version_by_each_of_its_districts(
    district: str | None, districts: dict[str, str | None], which: str
) -> None:
    html = "<p>" + "x" * 90_000 + "</p>"
    version = Rendered("s", "p", "en", district, "", html, "", districts=districts)
    (problem,) = check.size_problems(Path("day.yaml"), [version])
    assert str(problem).startswith(f"day.yaml: warning: {which} is 88 KB, close to the 102 KB")


# --- The command line


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


WARNED = CLEAN.replace("subject: Call the mayor about Ring", "subject: Call!")
SHORT = (
    f"{F}:2: subject: warning: the subject is only 5 characters: too short to say what to do: say the action in 10 "
    "to 78 characters"
)
TK = f"{F}:4: headline: 'TK' (to come) is left in the text: finish or remove it"


def test_check_warnings_pass_unless_strict(project: Path) -> None:
    write(project / "newsletters", "day.yaml", WARNED)
    assert invoke("check", "--as-of", "2019-08-01") == (0, f"{SHORT}\n1 newsletter checked: 1 warning\n")
    assert invoke("check", "--strict", "--as-of", "2019-08-01") == (2, f"{SHORT}\n1 newsletter checked: 1 warning\n")


def test_check_errors_fail(project: Path) -> None:
    write(project / "newsletters", "day.yaml", WARNED.replace("on facial recognition", "on TK"))
    write(project / "newsletters", "other.yaml", CLEAN)
    assert invoke("check", "--as-of", "2019-08-01") == (
        2,
        f"{SHORT}\n{TK}\n2 newsletters checked: 1 error, 1 warning\n",
    )


def test_check_json(project: Path) -> None:
    write(project / "newsletters", "day.yaml", WARNED.replace("on facial recognition", "on TK"))
    result = CliRunner().invoke(main, ["check", "--format", "json", "--as-of", "2019-08-01"])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == [
        {
            "file": F,
            "line": 2,
            "key": "subject",
            "severity": "warning",
            "message": "the subject is only 5 characters: too short to say what to do",
            "fix": "say the action in 10 to 78 characters",
        },
        {
            "file": F,
            "line": 4,
            "key": "headline",
            "severity": "error",
            "message": "'TK' (to come) is left in the text",
            "fix": "finish or remove it",
        },
    ]
    assert result.stderr == "1 newsletter checked: 1 error, 1 warning\n"
    write(project / "newsletters", "day.yaml", CLEAN)
    clean = CliRunner().invoke(main, ["check", "--format", "json", "--as-of", "2019-08-01"])
    assert (clean.exit_code, clean.stdout, clean.stderr) == (0, "[]\n", "1 newsletter checked: no problems\n")


def test_check_json_reports_invalid_files_too(project: Path) -> None:
    write(project / "newsletters", "day.yaml", CLEAN.replace("headline:", "hedline:"))
    result = CliRunner().invoke(main, ["check", "--format", "json", "--as-of", "2019-08-01"])
    assert result.exit_code == 2
    assert [(p["line"], p["key"], p["severity"], p["message"]) for p in json.loads(result.stdout)] == [
        (4, "hedline", "error", "unknown key")
    ]


# --- The schema


def test_the_committed_schema_is_the_one_schema_prints() -> None:
    code, output = invoke("schema")
    assert code == 0
    assert output == (ROOT / "schema" / "newsletter.json").read_text(), (
        "run `actionmail schema -o schema/newsletter.json` and commit it"
    )


def _as_json(data: object) -> object:
    """YAML dates as an editor's YAML language server sees them: as text."""
    if isinstance(data, dict):
        return {key: _as_json(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_as_json(value) for value in data]
    return data.isoformat() if isinstance(data, dt.date) else data


def test_every_example_is_valid_against_the_schema_and_mistakes_are_not() -> None:
    validator = jsonschema.Draft202012Validator(
        json_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for path in check.collect([ROOT / "newsletters"]):
        data, _ = load.read_yaml(path)
        assert list(validator.iter_errors(_as_json(data))) == [], path
    data, _ = load.read_yaml(SEED)
    data = _as_json(data)
    data["hedline"] = data.pop("headline")  # type: ignore[union-attr]
    data["bonus"][0]["election"]["day"] = "August 6"  # type: ignore[index]
    # An editor shows, for each mistake, the most specific reason (inside the anyOf of "election or null").
    messages = sorted(jsonschema.exceptions.best_match([e]).message for e in validator.iter_errors(data))
    assert messages == [
        "'August 6' is not a 'date'",
        "'headline' is a required property",
        "Additional properties are not allowed ('hedline' was unexpected)",
    ]


def test_new_names_the_schema_when_the_project_has_it(project: Path) -> None:
    assert invoke("schema", "-o", "schema/newsletter.json") == (0, "Wrote schema/newsletter.json\n")
    assert invoke("new", "--date", "2026-12-01")[0] == 0
    text = (project / "newsletters" / "2026-12-01-action.yaml").read_text()
    assert text.splitlines()[2] == "# yaml-language-server: $schema=../schema/newsletter.json"
