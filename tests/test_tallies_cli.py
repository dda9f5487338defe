"""What members reported, as the command line shows and uses it: `status` after the sends (text and JSON), `new`
writing the next day's figure from the previous issue's tallies, and `check` warning when that figure is stale.
(tests/serve/test_reports.py goes through the same with reports made over HTTP; here they are written directly.)"""

from __future__ import annotations

import datetime as dt
import email
import email.message
import email.policy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail import load, tokens
from actionmail.audience import Store
from actionmail.audience.reports import Report
from actionmail.cli import main
from tests.conftest import ROOT, write

CLIMATE = ROOT / "newsletters" / "2019-09-16-climate-strike-green-new-deal-budget.yaml"
ISSUE = CLIMATE.stem

CALL = """\
date: {date}
subject: Call the mayor
preheader: Ask Mayor Durkan to ban police partnerships with Ring.
headline: No police partnerships on facial recognition
actions:
  - kind: call
    title: Call the mayor
    targets: [durkan]
    script: "Hi, my name is [YOUR NAME] and I live in [ZIP]."
    report_back: {{text: Let us know you called}}
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture
def reported(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The climate-strike example (its survey counted by serve), sent to four members, three of whom answered."""
    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", "s" * 32)
    write(project / "newsletters", CLIMATE.name, CLIMATE.read_text())
    with Store.open(project / "actionmail.db") as store:
        for i in range(4):
            store.add(f"m{i}@example.org", district="5")
        ids = [m.id for m in store.subscribers()]
        for member, answer in zip(ids, ["yes", "yes", "share"], strict=False):
            store.reports.record(Report(member, ISSUE, "bonus-2", answer))
    assert invoke("send", f"newsletters/{CLIMATE.name}", "--yes", "--no-sync")[0] == 0
    return project


def test_each_member_was_sent_their_own_report_links(reported: Path) -> None:
    with Store.open(reported / "actionmail.db") as store:
        members = list(store.subscribers())
    for member in members:
        raw = (reported / "outbox" / ISSUE / f"{member.id}.eml").read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        part = message.get_body(("plain",))
        assert isinstance(part, email.message.EmailMessage)
        text = part.get_content()
        token = tokens.make(b"s" * 32, "daily-action", member.id, member.email, tokens.REPORT)
        assert f"- Maybe: https://www.seattleindivisible.com/act/{token}/{ISSUE}/bonus-2/maybe" in text


def test_status_shows_the_tallies_after_the_sends(reported: Path) -> None:
    code, output = invoke("status", f"newsletters/{CLIMATE.name}")
    lines = output.splitlines()
    assert code == 0 and lines[0].startswith("Send 1, started ") and lines[1] == "  accepted 4"
    assert lines[2:] == [
        "What members reported (actionmail serve):",
        "  Are you coming to the climate strike on Friday?: 3 answered",
        "    Yes, I'll be there          2   67%",
        "    Maybe                       0    0%",
        "    I can't, but I'll share it  1   33%",
    ]
    code, output = invoke("status", f"newsletters/{CLIMATE.name}", "--format", "json")
    data = json.loads(output)
    assert code == 0 and data["issue"] == ISSUE
    assert [(s["id"], s["counts"], s["missed"], s["segment"]) for s in data["sends"]] == [
        (1, {"accepted": 4}, [], None)
    ]
    assert data["reports"] == [
        {
            "question": "bonus-2",
            "kind": "survey",
            "action": "Will you march with us on Friday?",
            "prompt": "Are you coming to the climate strike on Friday?",
            "total": 3,
            "answers": [
                {"answer": "yes", "label": "Yes, I'll be there", "count": 2, "share": 0.6667},
                {"answer": "maybe", "label": "Maybe", "count": 0, "share": 0.0},
                {"answer": "share", "label": "I can't, but I'll share it", "count": 1, "share": 0.3333},
            ],
            "by_district": [],
        }
    ]


def test_status_of_a_file_that_no_longer_loads_still_shows_the_sends(reported: Path) -> None:
    path = reported / "newsletters" / CLIMATE.name
    path.write_text(path.read_text().replace("headline:", "hedline:"))
    result = CliRunner().invoke(main, ["status", str(path)])
    assert result.exit_code == 0 and result.stdout.splitlines()[1] == "  accepted 4"
    assert result.stderr.startswith(
        f"Note: what members reported can't be shown while newsletters/{CLIMATE.name} doesn't load: "
    )


def _issue(project: Path, date: str, name: str = "mayor", directory: str = "newsletters") -> str:
    (project / directory).mkdir(exist_ok=True)
    write(project / directory, f"{date}-{name}.yaml", CALL.format(date=date))
    return f"{date}-{name}"


def _report(project: Path, issue: str, count: int, at: dt.datetime | None = None) -> None:
    with Store.open(project / "actionmail.db") as store:
        for i in range(count):
            if store.get(f"r{i}@example.org") is None:
                store.add(f"r{i}@example.org")
            member = store.get(f"r{i}@example.org")
            assert member is not None
            store.reports.record(Report(member.id, issue, "1", "done"), at)


def test_new_fills_yesterday_from_the_newest_earlier_issue_with_reports(project: Path) -> None:
    assert invoke("new", "--date", "2019-08-06")[0] == 0  # no database: nothing written, and none created
    assert not (project / "actionmail.db").exists()
    friday = _issue(project, "2019-08-02")
    _issue(project, "2019-08-05")  # Monday's: no reports, passed over
    _issue(project, "2019-08-06", "later")  # not before the new one
    _report(project, friday, 12)
    _report(project, _issue(project, "2019-08-04", "elsewhere", "drafts"), 3)  # not in newsletters/
    _report(project, _issue(project, "2019-08-09", "ahead"), 3)  # after the new one
    code, output = invoke("new", "--date", "2019-08-07", "--title", "budget")
    assert code == 0 and output.splitlines() == [
        "Created newsletters/2019-08-07-budget.yaml",
        "Wrote 'yesterday:' from what members reported of 2019-08-02-mayor: On Friday, 12 of you called Jenny Durkan. "
        "Thank you!",
    ]
    text = (project / "newsletters" / "2019-08-07-budget.yaml").read_text()
    assert '  text: "On Friday, 12 of you called Jenny Durkan. Thank you!"\n  issue: 2019-08-02-mayor\n' in text
    code, output = invoke("new", "--date", "2019-08-03", "--title", "saturday")
    assert "Yesterday 12 of you called Jenny Durkan." in output
    code, output = invoke("new", "--date", "2019-09-03", "--title", "september")
    assert "On August 9, 3 of you called Jenny Durkan." in output


def check(project: Path, name: str, today: str) -> list[str]:
    result = CliRunner().invoke(main, ["check", f"newsletters/{name}", "--no-spam", "--as-of", today])
    return [line for line in result.output.splitlines() if ": yesterday" in line]


YESTERDAY = """\
yesterday:
  text: Yesterday 12 of you called Jenny Durkan. Thank you!
  issue: {issue}
  as_of: {as_of}
actions:"""


def _next_day(project: Path, issue: str, as_of: str, date: str = "2019-08-03") -> str:
    text = CALL.format(date=date).replace("actions:", YESTERDAY.format(issue=issue, as_of=as_of))
    write(project / "newsletters", f"{date}-next.yaml", text)
    return f"{date}-next.yaml"


def test_check_warns_when_yesterday_is_stale(project: Path) -> None:
    friday = _issue(project, "2019-08-02")
    name = _next_day(project, friday, "2019-08-03T07:00:00-07:00")
    assert check(project, name, "2019-08-03") == []  # no database: the file and its date are all there is to check
    _report(project, friday, 12, dt.datetime(2019, 8, 3, 13, 59, tzinfo=dt.UTC))  # 6:59 in Seattle
    assert check(project, name, "2019-08-03") == []
    _report(project, friday, 13, dt.datetime(2019, 8, 3, 14, 1, tzinfo=dt.UTC))  # one more, at 7:01
    stale = (
        f"newsletters/{name}:8: yesterday.as_of: warning: members reported on {friday} after these figures were "
        f"counted: they are out of date: update the text and as_of: `actionmail status newsletters/{friday}.yaml` "
        "shows them now"
    )
    assert check(project, name, "2019-08-03") == [stale]
    # Without an offset, as_of is in the organization's time zone.
    assert check(project, _next_day(project, friday, "2019-08-03 07:00:30"), "2019-08-03") == [stale]
    assert check(project, _next_day(project, friday, "2019-08-03 07:02:00"), "2019-08-03") == []


def test_check_warns_when_yesterday_is_not_the_latest_or_names_no_earlier_issue(project: Path) -> None:
    friday, saturday = _issue(project, "2019-08-02"), _issue(project, "2019-08-03", "sat")
    _report(project, friday, 12)
    name = _next_day(project, friday, "2099-01-01T00:00:00Z", "2019-08-05")
    assert check(project, name, "2019-08-05") == []
    _report(project, saturday, 1)
    assert check(project, name, "2019-08-05") == [
        f"newsletters/{name}:7: yesterday.issue: warning: {saturday} (2019-08-03) came after {friday}, and members "
        f"reported on it: these figures are not the latest: write them from {saturday} (`actionmail status` shows "
        "them), or remove 'yesterday'"
    ]
    assert check(project, _next_day(project, "2019-07-31-nothing", "2099-01-01T00:00:00Z"), "2019-08-03") == [
        "newsletters/2019-08-03-next.yaml:7: yesterday.issue: warning: there is no newsletter 2019-07-31-nothing.yaml "
        "beside this one: write the file name (without .yaml) of the newsletter the figures are from"
    ]
    assert check(project, _next_day(project, saturday, "2099-01-01T00:00:00Z", "2019-08-03"), "2019-08-03") == [
        f"newsletters/2019-08-03-next.yaml:7: yesterday.issue: warning: {saturday} is dated 2019-08-03, not before "
        "this newsletter: take the figures from an earlier newsletter"
    ]


def test_check_reads_each_reported_issues_date_once_as_the_file_now_has_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The date of an issue members reported on is read once for all the newsletters a check looks at (each
    would read every such file), yet an edit is seen at once, even one that leaves the file as long as it was."""
    friday, saturday = _issue(project, "2019-08-02"), _issue(project, "2019-08-03", "sat")
    _report(project, friday, 12)
    _report(project, saturday, 1)
    name = _next_day(project, friday, "2099-01-01T00:00:00Z", "2019-08-05")
    assert len(check(project, name, "2019-08-05")) == 1  # Saturday's came after Friday's
    path = project / "newsletters" / f"{saturday}.yaml"
    path.write_text(path.read_text().replace("date: 2019-08-03", "date: 2019-08-09"))  # after this one now
    assert check(project, name, "2019-08-05") == []
    path.write_text(path.read_text().replace("date: 2019-08-09", "date: 2019-08-04"))  # before it again
    read, reads = load.read_yaml, []

    def counted(file: Path, **options: int) -> tuple[object, load.Lines]:
        reads.append(file.name)
        return read(file, **options)

    monkeypatch.setattr(load, "read_yaml", counted)
    assert len(check(project, name, "2019-08-05")) == 1
    assert len(check(project, name, "2019-08-05")) == 1
    assert reads.count(path.name) == 1


def test_a_newsletter_whose_name_cant_be_in_its_report_links_is_an_error(project: Path) -> None:
    write(project / "newsletters", "2019-08-02 mayor.yaml", CALL.format(date="2019-08-02"))
    result = CliRunner().invoke(
        main, ["check", "newsletters/2019-08-02 mayor.yaml", "--no-spam", "--as-of", "2019-08-02"]
    )
    assert (
        "newsletters/2019-08-02 mayor.yaml: the file name '2019-08-02 mayor' can't be part of the report links this "
        "newsletter's buttons need: rename the file with letters, digits and hyphens only, like 2019-08-01-ring.yaml"
    ) in result.output.splitlines()
