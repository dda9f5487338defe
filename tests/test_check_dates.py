"""Dates as of the day the email goes out: `check` judges a newsletter as of today (in the organization's time
zone), `send` as of the day it sends; and the countdowns a send prints ("in 5 days") are right on that day.

Every test gives the day: none depends on today's date, except that 2019 has passed.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import zoneinfo
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import check, variants
from actionmail.cli import main
from actionmail.config import load_project
from actionmail.render import render
from tests.conftest import SEED, write
from tests.test_checks import CLEAN, F

FIX = "set 'date:' to the day it goes out, and check it again"


def problems(project: Path, newsletter: str, today: check.Today) -> list[str]:
    path = write(project / "newsletters", "day.yaml", newsletter)
    return [str(p) for p in check.check_files([path], today=today, spam_score=False)]


# --- Check


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2019, 8, 1), []),
        (dt.date(2019, 7, 30), []),  # sent early: nothing has passed
        (dt.date(2019, 8, 6), [f"{F}:1: date: warning: the newsletter's date, 2019-08-01, is before the day it goes out: {FIX}"]),
        (
            dt.date(2019, 8, 7),
            [
                f"{F}:1: date: warning: the newsletter's date, 2019-08-01, is before the day it goes out: election day "
                f"(2019-08-06) will have passed, and readers can't act on it: {FIX}"
            ],
        ),
    ],
)  # fmt: skip
def test_a_newsletter_judged_on_a_later_day_names_what_has_passed(
    project: Path, today: dt.date, expected: list[str]
) -> None:
    assert problems(project, CLEAN, today) == expected


def test_every_date_that_has_passed_is_counted(project: Path) -> None:
    text = CLEAN.replace(
        "      day: 2019-08-06\n", "      day: 2019-08-06\n      registration_deadline: 2019-08-05\n"
    ).replace(
        "    link: {text: Read the coverage",
        "    deadline: 2019-08-02\n    link: {text: Read the coverage",
    )
    text += "events:\n  - title: Rally at City Hall\n    date: 2019-08-03\n"
    assert problems(project, text, dt.date(2019, 8, 9)) == [
        f"{F}:1: date: warning: the newsletter's date, 2019-08-01, is before the day it goes out: the deadline of "
        f"'Call the mayor' (2019-08-02), election day (2019-08-06) and 2 more dates will have passed, and readers "
        f"can't act on them: {FIX}"
    ]


def test_check_judges_as_of_today_in_the_organizations_time_zone(project: Path) -> None:
    # The default of `actionmail check`: the day for each project, from its settings.
    stale = problems(project, CLEAN, variants.send_day)
    assert len(stale) == 1 and "is before the day it goes out: election day (2019-08-06)" in stale[0]
    officials = project / "officials.yaml"
    officials.write_text(officials.read_text().replace("term_end: 20", "term_end: 30"))
    future = CLEAN.replace("2019", "2999")
    assert problems(project, future, variants.send_day) == []
    # Judged by the organization's clock, not the machine's: 03:00 UTC on August 2 is still August 1 in Seattle.
    settings = load_project(project / "newsletters" / "day.yaml")
    assert settings.settings.organization.timezone == "America/Los_Angeles"
    assert variants.send_day(settings, dt.datetime(2019, 8, 2, 3, 0, tzinfo=dt.UTC)) == dt.date(2019, 8, 1)
    tokyo = dt.datetime(2019, 8, 2, 3, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert variants.send_day(settings, tokyo) == dt.date(2019, 8, 1)


def test_the_check_command_judges_as_of_today_or_as_of(project: Path) -> None:
    write(project / "newsletters", "day.yaml", CLEAN)
    today = CliRunner().invoke(main, ["check", "--no-spam"])
    assert today.exit_code == 0
    assert "date: warning: the newsletter's date, 2019-08-01, is before the day it goes out" in today.output
    assert today.output.endswith("1 newsletter checked: 1 warning\n")
    as_of = CliRunner().invoke(main, ["check", "--no-spam", "--as-of", "2019-08-01"])
    assert (as_of.exit_code, as_of.output) == (0, "1 newsletter checked: no problems\n")


# --- Countdowns


def seed_text(today: dt.date | None) -> str:
    project, newsletter = check.load(SEED)
    return render(newsletter, project, slug=check.slug(SEED), today=today).text


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (None, "Return your ballot in 5 days: Tuesday, August 6, 8:00\u202fPM."),  # as of the newsletter's date
        (dt.date(2019, 8, 1), "Return your ballot in 5 days: Tuesday, August 6, 8:00\u202fPM."),
        (dt.date(2019, 8, 3), "Return your ballot in 3 days: Tuesday, August 6, 8:00\u202fPM."),
        (dt.date(2019, 8, 5), "Return your ballot tomorrow: Tuesday, August 6, 8:00\u202fPM."),
        (dt.date(2019, 8, 6), "Return your ballot today: Tuesday, August 6, 8:00\u202fPM."),
        (dt.date(2019, 8, 7), "Return your ballot Tuesday, August 6, 8:00\u202fPM."),  # past: no countdown
    ],
)
def test_countdowns_are_counted_from_the_day_it_goes_out(today: dt.date | None, expected: str) -> None:
    text = seed_text(today)
    assert expected in text
    assert text.count("Return your ballot") == 1


def test_a_past_election_day_and_registration_deadline_on_the_send_day(project: Path) -> None:
    text = CLEAN.replace(
        '      return_by: {date: 2019-08-06, time: "20:00", timezone: America/Los_Angeles}\n',
        "      registration_deadline: 2019-08-05\n",
    )
    path = write(project / "newsletters", "day.yaml", text)
    project_, newsletter = check.load(path)
    on_the_day = render(newsletter, project_).text
    assert "Election day is in 5 days: Tuesday, August 6." in on_the_day
    assert "Register by Monday, August 5" in on_the_day
    later = render(newsletter, project_, today=dt.date(2019, 8, 7)).text
    assert "Election day is Tuesday, August 6." in later and "in 5 days" not in later
    assert "Register by" not in later  # a registration deadline that has passed is not offered


def test_an_edition_renders_every_variant_for_the_day_it_goes_out() -> None:
    edition = variants.load_edition(SEED)
    key = variants.VariantKey("en", "3")
    assert "Return your ballot in 5 days" in edition.render(key).text
    assert edition.going_out_on(dt.date(2019, 8, 1)).sent_on is None  # its own date: rendered as ever
    later = edition.going_out_on(dt.date(2019, 8, 4))
    assert "Return your ballot in 2 days" in later.render(key).text
    assert "Return your ballot in 5 days" in edition.render(key).text  # the edition itself is unchanged


@pytest.mark.database
def test_a_send_prints_no_countdown_wrong_on_the_day_it_goes_out(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 2019 example, sent now: its election day has passed, so the email gives the day, and no "in 5 days"."""
    write(project, "members.csv", "email,first_name\nana@example.org,Ana\n")
    assert CliRunner().invoke(main, ["subscribers", "import", "members.csv"]).exit_code == 0
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", "k" * 32)
    write(project / "newsletters", SEED.name, SEED.read_text())
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes"])
    assert result.exit_code == 0, result.output
    [sent] = (project / "outbox" / SEED.stem).glob("*.eml")
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(sent.read_bytes())
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Return your ballot Tuesday, August 6, 8:00\u202fPM." in text
    assert "in 5 days" not in text and "in 5 days" not in html
    assert "election day (2019-08-06) will have passed" in result.output  # the check's warning, and it went on
    # `render` keeps showing the newsletter as of its date.
    rendered = CliRunner().invoke(main, ["render", f"newsletters/{SEED.name}", "-o", "out.html", "--text", "out.txt"])
    assert rendered.exit_code == 0, rendered.output
    assert "Return your ballot in 5 days" in (project / "out.txt").read_text()


@pytest.mark.database
def test_the_previews_test_copy_counts_from_the_day_it_goes_out(project: Path) -> None:
    """The preview's "Send me a test" sends what `send --to` would send today, not the newsletter as of its date."""
    from actionmail.cli import preview

    write(project / "newsletters", SEED.name, SEED.read_text())
    edition = variants.load_edition(project / "newsletters" / SEED.name)
    key = variants.VariantKey("en", "3")
    preview.send_test(edition, key, "organizer@example.org", {"first_name": "Ana"})
    [sent] = (project / "outbox").rglob("*.eml")
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(sent.read_bytes())
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Return your ballot Tuesday, August 6, 8:00\u202fPM." in text
    assert "in 5 days" not in text
