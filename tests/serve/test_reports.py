"""Report links through the real `actionmail serve`, over HTTP, as members use them: the links come from each
member's own rendered email (`actionmail render --as`); a GET counts nothing, a POST counts once, another answer
changes it; anything that is not a genuine, current link of ours is a 400 page; many members at once are each
counted once. Then what `status` shows of it, what `new` writes the next day, and when `check` says it's stale."""

from __future__ import annotations

import datetime as dt
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from click.testing import CliRunner

from actionmail import tokens
from actionmail.cli import main
from tests import sql
from tests.serve.conftest import LIST_ID, ORIGIN, Served, token_for
from tests.serve.reporting import ANA, BO, CY, NEWSLETTER, links_of, reporting, write_issue

__all__ = ["reporting"]  # the fixture, used by name

REPORT = {"action": "report"}
INVALID = "This link is not one we can count"


def rows(served: Served) -> list[tuple[str | None, str, str, str, str | None, str | None]]:
    db = sql.connect(served.project / "actionmail.db")
    try:
        return db.execute(
            "SELECT s.email, r.issue, r.question, r.answer, r.district, r.target FROM reports r "
            "LEFT JOIN subscribers s ON s.id = r.subscriber_id ORDER BY r.id"
        ).fetchall()
    finally:
        db.close()


def test_opening_counts_nothing_pressing_counts_once(reporting: tuple[Served, Path]) -> None:
    served, issue = reporting
    called, yes, maybe, no = links_of(served, issue, ANA)
    assert [link.rsplit("/", 2)[1:] for link in (called, yes, maybe, no)] == [
        ["1", "done"], ["bonus-1", "yes"], ["bonus-1", "maybe"], ["bonus-1", "no"]
    ]  # fmt: skip
    for _ in range(3):  # link scanners, "safe links" proxies, a member opening it twice
        page = requests.get(called, timeout=10)
        assert requests.head(called, timeout=10).status_code == 200
    assert page.status_code == 200 and '<button type="submit">Yes, I called</button>' in page.text
    assert "<h1>Call your councilmember</h1>" in page.text and 'value="report"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    assert rows(served) == []

    counted = requests.post(called, data=REPORT, allow_redirects=False, timeout=10)
    assert counted.status_code == 200
    assert "We counted you in." in counted.text and "1 of you has called so far." in counted.text
    again = requests.post(called, data=REPORT, timeout=10)
    assert "You had already told us: you are counted once." in again.text and "1 of you has called" in again.text
    stem = issue.stem
    assert rows(served) == [(ANA, stem, "1", "done", "1", "herbold")]  # her district, and whom she called


def test_a_second_answer_changes_the_first_and_never_counts_twice(reporting: tuple[Served, Path]) -> None:
    served, issue = reporting
    _, yes, maybe, _ = links_of(served, issue, ANA)
    asked = requests.get(yes, timeout=10)
    assert "<h1>Will you come to the hearing on Monday?</h1>" in asked.text
    assert (
        "Your answer: <strong>Yes</strong>" in asked.text and '<button type="submit">Answer: Yes</button>' in asked.text
    )
    assert "We counted your answer: <strong>Yes</strong>." in requests.post(yes, data=REPORT, timeout=10).text
    changing = requests.get(maybe, timeout=10)
    assert "You answered <strong>Yes</strong> before: this changes your answer." in changing.text
    changed = requests.post(maybe, data=REPORT, timeout=10)
    assert "We changed your answer to <strong>Maybe</strong>." in changed.text
    assert "1 of you has answered so far." in changed.text
    same = requests.post(maybe, data=REPORT, timeout=10)
    assert "Your answer was already <strong>Maybe</strong>: it is counted once." in same.text
    assert rows(served) == [(ANA, issue.stem, "bonus-1", "maybe", None, None)]
    # Bo answers too: two members, two answers.
    bo_no = links_of(served, issue, BO)[3]
    assert "2 of you have answered so far." in requests.post(bo_no, data=REPORT, timeout=10).text


def test_anything_but_a_genuine_current_link_is_a_400_page_and_counts_nothing(reporting: tuple[Served, Path]) -> None:
    served, issue = reporting
    called = links_of(served, issue, ANA)[0]
    token = called.split("/act/")[1].split("/")[0]
    member_id, mac = token.split(".")
    stem = issue.stem
    act = f"{served.base}/act"
    bad = {
        "altered": f"{act}/{member_id}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}/{stem}/1/done",
        "another member's id": f"{act}/{int(member_id) + 1}.{mac}/{stem}/1/done",
        "forged with another key": f"{act}/{tokens.make(b'x' * 32, LIST_ID, int(member_id), ANA, tokens.REPORT)}/{stem}/1/done",
        "her unsubscribe token": f"{act}/{token_for(served.project, ANA)}/{stem}/1/done",
        "unknown issue": f"{act}/{token}/2019-01-01-nothing/1/done",
        "an issue outside newsletters/": f"{act}/{token}/..%2F..%2Factionmail/1/done",
        "a dotted issue": f"{act}/{token}/.hidden/1/done",
        "unknown question": f"{act}/{token}/{stem}/2/done",
        "unknown answer": f"{act}/{token}/{stem}/1/yes",
        "a survey answer on the report-back": f"{act}/{token}/{stem}/bonus-1/done",
        "cut short": f"{act}/{token}/{stem}/1",
        "too long": f"{act}/{token}/{stem}/1/done/again",
        "no token": f"{act}//{stem}/1/done",
        "garbage": f"{act}/%00%ff'\"<script>/{stem}/1/done",
        "just the prefix": f"{act}/",
    }
    for what, url in bad.items():
        for response in (requests.get(url, timeout=10), requests.post(url, data=REPORT, timeout=10)):
            assert response.status_code == 400, (what, response.status_code)
            assert INVALID in response.text and "Nothing was counted." in response.text, what
    # The other way round: a report token is no unsubscribe token.
    unsubscribe = requests.post(
        f"{served.base}/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}, timeout=10
    )
    assert unsubscribe.status_code == 400
    # A deleted member's links.
    db = sql.connect(served.project / "actionmail.db")
    with db:
        db.execute("DELETE FROM subscribers WHERE email = ?", (ANA,))
    db.close()
    assert requests.post(called, data=REPORT, timeout=10).status_code == 400
    assert rows(served) == []
    assert "Traceback" not in served.log


def test_a_link_counts_for_30_days(reporting: tuple[Served, Path]) -> None:
    served, _ = reporting
    old, older = write_issue(served.project, days_ago=30), write_issue(served.project, days_ago=31)
    assert requests.post(links_of(served, old, BO)[0], data=REPORT, timeout=10).status_code == 200
    expired = requests.post(links_of(served, older, BO)[0], data=REPORT, timeout=10)
    assert expired.status_code == 400 and "<h1>This link has expired</h1>" in expired.text
    assert "We count answers for 30 days after an email goes out" in expired.text
    assert [(email, issue) for email, issue, *_ in rows(served)] == [(BO, old.stem)]


def test_the_form_is_refused_from_another_site(reporting: tuple[Served, Path]) -> None:
    served, issue = reporting
    called = links_of(served, issue, ANA)[0]
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        refused = requests.post(called, data=REPORT, headers=headers, timeout=10)
        assert (
            refused.status_code == 403
            and "This form can only be sent from our page. Nothing was counted." in refused.text
        )
    for body in ({}, {"action": "unsubscribe"}):
        assert requests.post(called, data=body, timeout=10).status_code == 400
    assert rows(served) == []
    for headers in ({"Origin": ORIGIN}, {"Origin": served.base}, {"Sec-Fetch-Site": "same-origin"}):
        assert requests.post(called, data=REPORT, headers=headers, timeout=10).status_code == 200
    assert len(rows(served)) == 1


def test_a_members_page_is_in_their_language(reporting: tuple[Served, Path]) -> None:
    served, issue = reporting
    assert CliRunner().invoke(main, ["subscribers", "add", "dolores@example.org", "--language", "es"]).exit_code == 0
    called = links_of(served, issue, "dolores@example.org")[0]
    page = requests.get(called, timeout=10)
    assert '<html lang="es">' in page.text and "Sí, llamé" in page.text
    assert "Gracias" in requests.post(called, data=REPORT, timeout=10).text


def test_the_log_cuts_the_token_short(reporting: tuple[Served, Path]) -> None:
    served, issue = reporting
    called = links_of(served, issue, CY)[0]
    token = called.split("/act/")[1].split("/")[0]
    requests.post(called, data=REPORT, timeout=10)
    assert served.logged(f"POST /act/{token[:3]}…/{issue.stem}/1/done 200")
    assert token not in served.log


def test_many_members_at_once_are_each_counted_once(reporting: tuple[Served, Path]) -> None:
    served, issue = reporting
    emails = [f"member{i}@example.org" for i in range(40)]
    for i, email in enumerate(emails):
        assert CliRunner().invoke(main, ["subscribers", "add", email, "--district", str(i % 7 + 1)]).exit_code == 0
    links = {email: links_of(served, issue, email) for email in emails}
    # Each member taps "I called" twice (a double tap, a second device) and "Yes" then "No", all at once.
    work = (
        [(links[e][0], e) for e in emails] * 2 + [(links[e][1], e) for e in emails] + [(links[e][3], e) for e in emails]
    )
    with requests.Session() as session, ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda job: session.post(job[0], data=REPORT, timeout=60).status_code, work))
    assert answers == [200] * len(work)
    found = rows(served)
    assert sorted(e for e, _, q, *_ in found if q == "1") == sorted(emails)  # each once
    assert sorted(e for e, _, q, *_ in found if q == "bonus-1") == sorted(emails)
    assert "locked" not in served.log and "Traceback" not in served.log


def test_status_new_and_check_the_next_day(reporting: tuple[Served, Path]) -> None:
    """What members reported, as `status` shows it (text and JSON); `new` writes the next day's figure from it;
    `check` is happy with it until another member reports."""
    served, issue = reporting
    for email, picks in ((ANA, (0, 1)), (BO, (0, 1)), (CY, (0, 3))):
        links = links_of(served, issue, email)
        for pick in picks:
            assert requests.post(links[pick], data=REPORT, timeout=10).status_code == 200
    shown = CliRunner().invoke(main, ["status", str(issue)])
    assert shown.exit_code == 0
    assert shown.output == (
        f"{issue.stem} has not been sent.\n"
        "What members reported (actionmail serve):\n"
        "  Call your councilmember: 3 called\n"
        "    district 1, Lisa Herbold   1\n"
        "    district 3, Kshama Sawant  1\n"
        "    district unknown           1\n"
        "  Will you come to the hearing on Monday?: 3 answered\n"
        "    Yes                        2   67%\n"
        "    Maybe                      0    0%\n"
        "    No                         1   33%\n"
    )
    data = json.loads(CliRunner().invoke(main, ["status", str(issue), "--format", "json"]).output)
    assert data["sends"] == []
    assert [(t["question"], t["total"]) for t in data["reports"]] == [("1", 3), ("bonus-1", 3)]
    assert data["reports"][0]["by_district"] == [
        {"district": "1", "target": "Lisa Herbold", "count": 1},
        {"district": "3", "target": "Kshama Sawant", "count": 1},
        {"district": None, "target": None, "count": 1},
    ]
    assert [(a["answer"], a["count"], a["share"]) for a in data["reports"][1]["answers"]] == [
        ("yes", 2, 0.6667), ("maybe", 0, 0.0), ("no", 1, 0.3333)
    ]  # fmt: skip

    day = dt.date.fromisoformat(issue.stem[:10]) + dt.timedelta(days=1)
    created = CliRunner().invoke(main, ["new", "--date", day.isoformat(), "--title", "hearing"])
    assert created.exit_code == 0, created.output
    new_file = served.project / "newsletters" / f"{day.isoformat()}-hearing.yaml"
    text = new_file.read_text()
    assert (
        'text: "Yesterday 3 of you called our district City Councilmember, and 3 of you answered \\"Will you come to the '
        'hearing on Monday?\\": Yes 67%, No 33%. Thank you!"'
    ) in text
    assert f"  issue: {issue.stem}\n" in text
    check = ["check", str(new_file), "--no-spam", "--as-of", day.isoformat(), "--format", "json"]
    assert [
        p["key"] for p in json.loads(CliRunner().invoke(main, check).stdout) if p["key"].startswith("yesterday")
    ] == []
    # Bo changes his answer after the figures were written (as_of is to the second): check says they are stale.
    time.sleep(1.1)
    assert requests.post(links_of(served, issue, BO)[3], data=REPORT, timeout=10).status_code == 200
    stale = [p for p in json.loads(CliRunner().invoke(main, check).stdout) if p["key"].startswith("yesterday")]
    assert [(p["severity"], p["message"]) for p in stale] == [
        ("warning", f"members reported on {issue.stem} after these figures were counted: they are out of date")
    ]


def test_serve_refuses_to_start_where_report_links_could_not_work(members: Path) -> None:
    settings = members / "actionmail.toml"
    original = settings.read_text()
    settings.write_text(
        original.replace(
            "[colors]", 'report_url = "https://www.seattleindivisible.com/unsubscribe/{token}"\n\n[colors]'
        )
    )
    result = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert (result.exit_code, result.output) == (
        2,
        "Error: actionmail.toml: email.report_url: 'https://www.seattleindivisible.com/unsubscribe/{token}' and "
        "unsubscribe_url 'https://www.seattleindivisible.com/unsubscribe/{token}' share the path /unsubscribe/: "
        'actionmail serve could not tell them apart: write report_url like "https://www.example.org/act/{token}"\n',
    )
    settings.write_text(original)
    # An organization's own page.html from before report links: no content block for their pages to fill.
    own = members / "templates" / "serve"
    own.mkdir(parents=True)
    builtin = (Path(__file__).parents[2] / "templates" / "serve" / "page.html").read_text()
    (own / "page.html").write_text(builtin.replace("{% block content %}", "").replace("{% endblock %}", ""))
    result = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert (result.exit_code, result.output) == (
        2,
        "Error: templates/serve/page.html has no {% block content %} around the page's body, which the report links' "
        "pages (serve/report.html) fill: add it, as the built-in page.html has it\n",
    )


def test_a_report_on_a_group_of_another_district_set_records_whom_they_called(
    reporting: tuple[Served, Path],
) -> None:
    served, _ = reporting
    text = NEWSLETTER.replace("group: district-councilmember", "group: us-representative")
    issue = write_issue(served.project, text=text)
    assert CliRunner().invoke(main, ["subscribers", "add", ANA, "--district", "congress=9"]).exit_code == 0
    called = links_of(served, issue, ANA)[0]
    assert requests.post(called, data=REPORT, timeout=10).status_code == 200
    # Her council district (1) says nothing of whom she called: Adam Smith, for congressional district 9.
    assert rows(served) == [(ANA, issue.stem, "1", "done", None, "adam-smith")]
