"""What a newsletter asks members to tell us through `actionmail serve` (actionmail.tally): the questions, the
links that carry each member's answer, and the tallies made from what they answered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import tally, tokens, variants
from actionmail.audience import Store
from actionmail.cli import main
from actionmail.render import sample_values
from tests.conftest import write

KEY = b"k" * 32

NEWSLETTER = """\
date: 2019-08-01
subject: Call your councilmember
preheader: Ask them to ban police partnerships with Ring.
headline: No police partnerships on facial recognition
greeting: Hi {first_name|friend},
yesterday:
  text: Yesterday 212 of you called Jenny Durkan. Thank you!
  issue: 2019-07-31-durkan
  as_of: 2019-08-01T06:30:00-07:00
background: The Council votes on Monday.
actions:
  - kind: call
    title: Call your councilmember
    targets:
      - group: district-councilmember
    script: "Hi, my name is [YOUR NAME] and I live in [ZIP]."
    report_back: {text: Let us know you called}
  - kind: petition
    title: Sign the petition
    link: {text: Sign it, url: "https://example.org/sign"}
    report_back: {text: Tell us why you signed, url: "https://example.org/why"}
bonus:
  - kind: survey
    title: Will you come?
    survey:
      prompt: Will you come to the hearing?
      choices:
        - {label: "Yes", value: "yes"}
        - {label: "Not sure", value: "Not sure"}
        - {label: Tell us more, url: "https://example.org/more"}
"""


@pytest.fixture
def edition(project: Path) -> variants.Edition:
    write(project / "newsletters", "2019-07-31-durkan.yaml", NEWSLETTER.replace("2019-08-01", "2019-07-31"))
    return variants.load_edition(write(project / "newsletters", "2019-08-01-ring.yaml", NEWSLETTER))


def test_the_questions_are_the_counted_report_backs_and_surveys(edition: variants.Edition) -> None:
    questions = tally.questions(edition.newsletters["en"])
    assert {q.id: dict(q.answers) for q in questions.values()} == {
        "1": {"done": "Let us know you called"},
        "bonus-1": {"yes": "Yes", "not-sure": "Not sure"},
    }
    assert [q.survey for q in questions.values()] == [False, True]
    assert tally.issue_of(Path("newsletters/2019-08-01-ring.es.yaml")) == "2019-08-01-ring"


@pytest.mark.database
def test_each_members_links_carry_their_own_report_token(edition: variants.Edition, project: Path) -> None:
    assert CliRunner().invoke(main, ["subscribers", "add", "ana@example.org", "--district", "1"]).exit_code == 0
    with Store.open(project / "actionmail.db") as store:
        ana = store.get("ana@example.org")
    assert ana is not None
    rendered = edition.render(edition.key_for(ana))
    assert "report_url" in rendered.merge_fields  # rendered once, for every member of the variant
    email = rendered.personalize(variants.reader_values(ana, edition.project, KEY))
    found = re.findall(r'href="(https://www\.seattleindivisible\.com/act/[^"]*)"', email.html)
    links = list(dict.fromkeys(found))  # a button's link is in its VML shape for Outlook too
    token = tokens.make(KEY, "daily-action", ana.id, ana.email, tokens.REPORT)
    base = f"https://www.seattleindivisible.com/act/{token}/2019-08-01-ring"
    assert links == [f"{base}/1/done", f"{base}/bonus-1/yes", f"{base}/bonus-1/not-sure"]
    # The plain-text part carries the same links; the external report-back is as written.
    assert [line for line in email.text.splitlines() if "/act/" in line or "why" in line] == [
        f"Let us know you called: {base}/1/done",
        "Tell us why you signed: https://example.org/why",
        f"- Yes: {base}/bonus-1/yes",
        f"- Not sure: {base}/bonus-1/not-sure",
    ]
    assert "- Tell us more: https://example.org/more" in email.text
    assert tokens.verify(KEY, "daily-action", token, {ana.id: ana.email}.get, tokens.REPORT) == ana.id
    assert tokens.verify(KEY, "daily-action", token, {ana.id: ana.email}.get) is None  # can't unsubscribe


def test_without_a_member_the_links_are_stand_ins(edition: variants.Edition) -> None:
    email = edition.render(edition.key(None, None)).personalize(sample_values(edition.project))
    assert 'href="https://www.seattleindivisible.com/act/preview/2019-08-01-ring/1/done"' in email.html
    assert "{report_url}" not in email.html and "{report_url}" not in email.text


def test_report_url_setting(edition: variants.Edition, project: Path) -> None:
    settings = project / "actionmail.toml"
    settings.write_text(
        settings.read_text().replace("[colors]", 'report_url = "https://act.example.org/r/{token}"\n\n[colors]')
    )
    edition = variants.load_edition(edition.path)
    email = edition.render(edition.key(None, None)).personalize(sample_values(edition.project))
    assert 'href="https://act.example.org/r/preview/2019-08-01-ring/1/done"' in email.html
    settings.write_text(settings.read_text().replace("/r/{token}", "/r/{token}/x"))
    result = CliRunner().invoke(main, ["render", str(edition.path)])
    assert (result.exit_code, result.output) == (
        2,
        "actionmail.toml:19: email.report_url: {token} must end it, after a '/', with no query: write it like "
        '"https://www.example.org/act/{token}": each answer\'s path is added after the token\n',
    )


def test_yesterdays_figures_are_near_the_top(edition: variants.Edition) -> None:
    email = edition.render(edition.key(None, None)).personalize(sample_values(edition.project))
    assert (
        email.html.index("Hi friend,")
        < email.html.index("Yesterday 212 of you called")
        < email.html.index("The Council votes")
    )
    assert "Hi friend,\n\nYesterday 212 of you called Jenny Durkan. Thank you!\n\nThe Council votes" in email.text


def test_tallies(edition: variants.Edition) -> None:
    rows = [
        tally.Row("1", "done", "1", "herbold", 30),
        tally.Row("1", "done", "3", "sawant", 12),
        tally.Row("1", "done", None, None, 5),
        tally.Row("1", "done", "8", None, 1),  # a district no councilmember has: counted with the unknown
        tally.Row("bonus-1", "yes", "1", None, 3),
        tally.Row("bonus-1", "not-sure", None, None, 1),
        tally.Row("bonus-1", "maybe", None, None, 1),  # an answer the file no longer has
    ]
    called, survey = tally.tallies(edition.newsletters["en"], rows, edition.project.officials)
    assert (called.total, [(a.id, a.count) for a in called.answers]) == (48, [("done", 48)])
    assert [(p.district, p.target, p.count) for p in called.places] == [
        ("1", "Lisa Herbold", 30),
        ("3", "Kshama Sawant", 12),
        (None, None, 6),
    ]
    assert [(a.label, a.count, a.share) for a in survey.answers] == [("Yes", 3, 0.6), ("Not sure", 1, 0.2),
                                                                       ("maybe", 1, 0.2)]  # fmt: skip
    assert survey.places == [] and survey.as_dict()["prompt"] == "Will you come to the hearing?"


def test_a_report_token_is_made_only_for_an_email_with_report_links(edition: variants.Edition) -> None:
    """A send knows each variant's merge fields: without report links, no second HMAC per reader."""

    class Reader:
        id, email, first_name, last_name, district, zip, language, fields = (
            7,
            "a@example.org",
            None,
            None,
            None,
            None,
            None,
            {},
        )

    without = variants.ReaderValues(edition.project, KEY, frozenset({"unsubscribe_url"}))(Reader())
    assert "report_url" not in without and without["unsubscribe_url"]
    token = tokens.make(KEY, "daily-action", 7, "a@example.org", tokens.REPORT)
    with_them = variants.ReaderValues(edition.project, KEY, frozenset({"unsubscribe_url", "report_url"}))(Reader())
    assert with_them["report_url"] == f"https://www.seattleindivisible.com/act/{token}"
