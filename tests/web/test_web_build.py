"""`actionmail web build` and the library under it (actionmail.web): what the site holds, that its pages are where
the emails link to, that nothing of any reader's is in them, that members-only and future newsletters stay out,
that the same newsletters give the same bytes, and that hostile input (a bad newsletter, a crafted address or
file name, a tampered list of what is published) writes nothing and leads nowhere outside the directory."""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import urllib.parse
import zoneinfo
from pathlib import Path, PurePosixPath

import feedparser
import icalendar
import lxml.html
import pytest
from click.testing import CliRunner

from actionmail import web
from actionmail.cli import main
from actionmail.config import load_project
from actionmail.errors import ActionmailError, InvalidInput
from actionmail.render import render, slug_for, templates
from actionmail.variants import load_edition
from actionmail.web import files as web_files
from actionmail.web import manifest
from tests.conftest import SEED, write
from tests.web.conftest import PREFIX, SITE, WEB_EXAMPLES, files

STRIKE = next(p for p in WEB_EXAMPLES if "climate-strike" in p.name)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def build(project: Path, output: str = "site", **kwargs: dt.date) -> web.Built:
    return web.build(load_project(project), project / output, **kwargs)


def email_link(path: Path) -> str:
    """The "View this email in your browser" address of the email rendered from ``path``."""
    edition = load_edition(path)
    html = render(edition.newsletters[edition.default_language], edition.project, slug=slug_for(path)).html
    document = lxml.html.fromstring(html)
    links = [a.get("href") for a in document.iter("a") if "in your browser" in a.text_content()]
    if not links:  # the Spanish example
        links = [a.get("href") for a in document.iter("a") if "en su navegador" in a.text_content()]
    return str(links[0])


def settings(project: Path, old: str, new: str) -> None:
    path = project / "actionmail.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


NEWSLETTER = """
    date: 2019-08-02
    subject: "{first_name|Friend}, the buses need you"
    preheader: Call your councilmember, {first_name|neighbour}.
    headline: Fund the buses, {first_name|friend}
    greeting: "Hi {first_name|friend}, from {district|Seattle}."
    background: Write to us at {email|our address} from {zip|your zip code}.
    actions:
      - kind: call
        title: Call the Mayor
        targets: [durkan]
    events:
      - title: Bus riders' meeting
        date: 2019-08-09
        venue: Central Library
"""


def test_the_command_builds_the_examples(examples: Path) -> None:
    assert invoke("web", "build") == (
        0,
        "Wrote 3 newsletters, 4 calendar files, 1 index page and the feed to site/ (9 files changed)\n"
        f"Index: site/{PREFIX}/index.html\n",
    )
    assert set(files(examples / "site")) == {
        ".actionmail-web.json",
        ".actionmail-web.lock",
        f"{PREFIX}/index.html",
        f"{PREFIX}/feed.xml",
        f"{PREFIX}/2019/8/1/no-police-facial-recognition/index.html",
        f"{PREFIX}/2019/9/16/climate-strike-green-new-deal-budget/index.html",
        f"{PREFIX}/2019/9/16/climate-strike-green-new-deal-budget/2019-09-17-climate-action-team.ics",
        f"{PREFIX}/2019/9/16/climate-strike-green-new-deal-budget/2019-09-20-global-climate-strike-seattle.ics",
        f"{PREFIX}/2019/9/16/climate-strike-green-new-deal-budget/2019-09-28-postcard-party-no-on-i-976.ics",
        f"{PREFIX}/2019/9/16/climate-strike-green-new-deal-budget/2019-10-02-budget-101-where-seattles-money-goes-and.ics",
        f"{PREFIX}/2019/11/13/dreamers-no-pueden-esperar/index.html",
    }
    # Again: nothing changed, nothing is written; -o writes elsewhere.
    assert invoke("web", "build")[1].startswith("Wrote 3 newsletters, 4 calendar files, 1 index page and the feed to "
                                                "site/ (0 files changed)\n")  # fmt: skip
    assert invoke("web", "build", "-o", "public")[1].splitlines()[1] == f"Index: public/{PREFIX}/index.html"
    assert files(examples / "public") == files(examples / "site")


def test_the_command_keeps_compiled_templates_as_render_does(examples: Path, hermetic_cache: Path) -> None:
    assert invoke("web", "build")[0] == 0
    kept = hermetic_cache / "actionmail" / "templates"
    assert kept.is_dir() and len(list(kept.iterdir())) >= 3  # the email's, and the site's page and index


def test_each_page_is_where_its_email_links_to(examples: Path) -> None:
    built = build(examples)
    for path in WEB_EXAMPLES:
        link = email_link(examples / "newsletters" / path.name)
        assert link.startswith(SITE)
        page = built.output / urllib.parse.urlsplit(link).path.lstrip("/") / "index.html"
        assert page in built.pages
        document = lxml.html.fromstring(page.read_bytes())
        assert document.xpath("string(//meta[@property='og:url']/@content)") == link
        assert document.xpath("string(//link[@rel='canonical']/@href)") == link


def test_the_same_newsletters_give_the_same_bytes(examples: Path) -> None:
    first, second = build(examples, "one"), build(examples, "two")
    assert files(first.output) == files(second.output)
    assert build(examples, "one").changed == ()
    assert not [name for name in files(first.output) if name.endswith(".tmp")]


def test_a_page_is_the_email_for_nobody_in_particular(examples: Path) -> None:
    """No name, no token, no unsubscribe link; merge fields read as their fallbacks; a Sign up link instead."""
    write(examples / "newsletters", "2019-08-02-buses.yaml", NEWSLETTER)
    built = build(examples)
    [page] = [p for p in built.pages if "buses" in str(p)]
    html = page.read_text(encoding="utf-8")
    document = lxml.html.fromstring(html)
    text = " ".join(document.text_content().split())
    assert "Hi friend, from Seattle." in text and "Write to us at our address from your zip code." in text
    assert document.xpath("string(//meta[@property='og:title']/@content)") == "Fund the buses, friend"
    assert document.xpath("string(//meta[@name='description']/@content)") == "Call your councilmember, neighbour."
    assert document.xpath("string(//title)") == "Friend, the buses need you"
    for page in built.pages:
        html = page.read_text(encoding="utf-8")
        assert "{" not in lxml.html.fromstring(html).body.text_content()
        assert not re.search(r"\{(first_name|last_name|email|zip|unsubscribe_url|district)", html)
        assert "/unsubscribe/" not in html and "Unsubscribe" not in html and "in your browser" not in html
        [signup] = [a for a in lxml.html.fromstring(html).iter("a") if a.get("href", "").endswith("/signup")]
        assert signup.get("href") == "https://www.seattleindivisible.com/signup"
    entry = next(e for e in manifest.read(built.output).newsletters if "buses" in e.source)  # type: ignore[union-attr]
    assert (entry.subject, entry.headline) == ("Friend, the buses need you", "Fund the buses, friend")


def test_an_own_template_that_would_publish_an_unsubscribe_link_is_stopped(examples: Path) -> None:
    """A project's own email.mjml from before the web edition shows the unsubscribe link whatever `web` is."""
    template = (templates.builtin_templates() / "email.mjml").read_text(encoding="utf-8")
    assert "{% if web %}" in template
    (examples / "templates").mkdir()
    (examples / "templates" / "email.mjml").write_text(template.replace("{% if web %}", "{% if false %}"))
    assert invoke("web", "build") == (
        2,
        "templates/email.mjml: the web edition's page would have the unsubscribe link of a reader in it: put the "
        "unsubscribe link inside {% if not web %} … {% endif %}, as the built-in email.mjml does\n",
    )
    assert not (examples / "site").exists()


def test_sign_up_goes_where_the_settings_say(examples: Path) -> None:
    settings(examples, "[colors]", '[web]\nsignup_url = "https://join.example.org/daily"\ntitle = "Daily Actions"\n\n'
             "[colors]")  # fmt: skip
    built = build(examples)
    for path in (*built.pages, built.index):
        html = path.read_text(encoding="utf-8")
        assert 'href="https://join.example.org/daily"' in html
        assert "/signup" not in html
    index = lxml.html.fromstring(built.index.read_bytes())
    assert index.xpath("string(//h1)") == "Daily Actions"


def test_the_index_newest_first_a_page_at_a_time(examples: Path) -> None:
    settings(examples, "[colors]", "[web]\npage_size = 2\n\n[colors]")
    built = build(examples)
    assert [p.relative_to(built.output).as_posix() for p in built.site] == [
        f"{PREFIX}/index.html",
        f"{PREFIX}/page/2/index.html",
        f"{PREFIX}/feed.xml",
    ]
    first = lxml.html.fromstring(built.index.read_bytes())
    second = lxml.html.fromstring((built.output / PREFIX / "page/2/index.html").read_bytes())
    assert [a.get("href") for a in first.xpath("//li//h2/a")] == [
        f"/{PREFIX}/2019/11/13/dreamers-no-pueden-esperar/",
        f"/{PREFIX}/2019/9/16/climate-strike-green-new-deal-budget/",
    ]
    assert [t.get("datetime") for t in first.xpath("//li//time")] == ["2019-11-13", "2019-09-16"]
    assert first.xpath("//li[1]/@lang") == ["es"]  # the Spanish newsletter, in an English index
    assert [a.get("href") for a in second.xpath("//li//h2/a")] == [f"/{PREFIX}/2019/8/1/no-police-facial-recognition/"]
    assert first.xpath("string(//a[@rel='next']/@href)") == f"/{PREFIX}/page/2/"
    assert second.xpath("string(//a[@rel='prev']/@href)") == f"/{PREFIX}/"
    [pages] = second.xpath("//nav[@class='am-pages']")
    assert [text.strip() for text in pages.itertext() if text.strip()] == ["Newer", "Page 2 of 2"]
    # A newsletter fewer: its page goes, and so does the index's page that is left over.
    (examples / "newsletters" / SEED.name).unlink()
    again = build(examples)
    assert again.removed == (
        built.output / PREFIX / "2019/8/1/no-police-facial-recognition/index.html",
        built.output / PREFIX / "page/2/index.html",
    )
    assert not (built.output / PREFIX / "page").exists()


def test_the_feed_is_valid_atom_newest_first(examples: Path) -> None:
    built = build(examples)
    parsed = feedparser.parse((built.output / PREFIX / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Seattle Indivisible"
    assert parsed.feed.updated == "2019-11-13T00:00:00-08:00"
    assert [link.href for link in parsed.feed.links] == [SITE, f"{SITE}feed.xml"]
    assert [e.link for e in parsed.entries] == [
        email_link(examples / "newsletters" / p.name) for p in WEB_EXAMPLES[::-1]
    ]
    assert [e.published_parsed[:3] for e in parsed.entries] == [(2019, 11, 13), (2019, 9, 16), (2019, 8, 1)]
    assert parsed.entries[2].title == "No police partnerships on facial recognition in Seattle"
    assert parsed.entries[2].summary == "Call Mayor Durkan and the City Council today, then vote by Tuesday."


def test_each_event_has_its_calendar_file(examples: Path) -> None:
    built = build(examples)
    strike = next(p for p in built.calendars if "global-climate-strike" in p.name)
    [event] = icalendar.Calendar.from_ical(strike.read_bytes()).walk("VEVENT")
    zone = zoneinfo.ZoneInfo("America/Los_Angeles")
    assert event.decoded("dtstart") == dt.datetime(2019, 9, 20, 12, 0, tzinfo=zone)
    assert event["dtstart"].params["TZID"] == "America/Los_Angeles"
    assert "dtend" not in event  # no end time was given
    assert str(event["summary"]) == "Global Climate Strike, Seattle"
    assert str(event["location"]) == "Cal Anderson Park, by the fountain, 1635 11th Ave, Seattle, WA 98122"
    assert str(event["url"]) == "https://www.seattleindivisible.com/events/climate-strike"
    assert str(event["description"]).startswith("Rally in the park; the march to City Hall leaves at 12:30 pm.")
    team = next(p for p in built.calendars if "climate-action-team" in p.name)
    [event] = icalendar.Calendar.from_ical(team.read_bytes()).walk("VEVENT")
    assert event.decoded("dtend") == dt.datetime(2019, 9, 17, 20, 0, tzinfo=zone)
    assert str(event["description"]).startswith("1st and 3rd Tuesdays\n\nTomorrow's agenda")
    calendar = icalendar.Calendar.from_ical(team.read_bytes())
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["America/Los_Angeles"]
    # The email links to the same files.
    html = (built.output / PREFIX / "2019/9/16/climate-strike-green-new-deal-budget/index.html").read_text()
    edition = load_edition(examples / "newsletters" / STRIKE.name)
    email = render(edition.newsletters["en"], edition.project, slug=slug_for(edition.path)).html
    for path in built.calendars:
        site_path = "/" + path.relative_to(built.output).as_posix()
        assert f'href="{site_path}"' in html
        assert f'href="https://www.seattleindivisible.com{site_path}"' in email


def test_an_event_without_a_time_is_a_day_long(examples: Path) -> None:
    write(examples / "newsletters", "2019-08-02-buses.yaml", NEWSLETTER)
    built = build(examples)
    [path] = [p for p in built.calendars if "buses" in str(p)]
    assert path.name == "2019-08-09-bus-riders-meeting.ics"
    [event] = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    assert (event.decoded("dtstart"), event.decoded("dtend")) == (dt.date(2019, 8, 9), dt.date(2019, 8, 10))


def test_members_only_newsletters_are_never_published(examples: Path) -> None:
    built = build(examples)
    page = built.output / PREFIX / "2019/9/16/climate-strike-green-new-deal-budget"
    assert page.is_dir()
    strike = examples / "newsletters" / STRIKE.name
    strike.write_text(strike.read_text(encoding="utf-8") + "web: false\n", encoding="utf-8")
    code, output = invoke("web", "build")
    assert code == 0
    assert output.splitlines() == [
        "Wrote 2 newsletters, 0 calendar files, 1 index page and the feed to site/ (2 files changed, 5 removed)",
        f"Index: site/{PREFIX}/index.html",
        f"Not published: newsletters/{STRIKE.name}: web: false (for members only)",
    ]
    assert not page.exists() and not page.parent.exists()  # and the directories it leaves empty
    everything = b"".join(files(built.output).values())
    assert b"climate" not in everything.lower() and b"Green New Deal" not in everything


def test_newsletters_dated_after_today_wait_for_their_day(examples: Path) -> None:
    built = build(examples, today=dt.date(2019, 9, 16))
    assert len(built.pages) == 2
    assert built.later == (examples / "newsletters" / WEB_EXAMPLES[2].name,)
    assert not (built.output / PREFIX / "2019/11").exists()
    assert len(build(examples, today=dt.date(2019, 11, 13)).pages) == 3


def test_publish_adds_one_newsletter_and_writes_the_index_and_feed_again(examples: Path) -> None:
    (examples / "newsletters" / WEB_EXAMPLES[2].name).rename(examples / WEB_EXAMPLES[2].name)
    built = build(examples)
    assert len(built.pages) == 2
    later = examples / "newsletters" / WEB_EXAMPLES[2].name
    (examples / WEB_EXAMPLES[2].name).rename(later)
    published = web.publish(load_project(examples), load_edition(later), built.output)
    assert [p.relative_to(built.output).as_posix() for p in published.pages] == [
        f"{PREFIX}/2019/11/13/dreamers-no-pueden-esperar/index.html"
    ]
    assert {p.name for p in published.changed} == {"index.html", "feed.xml"}
    assert files(built.output) == files(build(examples, "whole").output)  # as a whole build would have it
    # Published as members-only: taken down.
    later.write_text(later.read_text(encoding="utf-8") + "web: false\n", encoding="utf-8")
    taken = web.publish(load_project(examples), load_edition(later), built.output)
    assert taken.pages == () and taken.members_only == (later,)
    assert len(taken.removed) == 1 and not (built.output / PREFIX / "2019/11").exists()
    assert b"dreamers" not in (built.output / PREFIX / "feed.xml").read_bytes()


def test_a_publish_during_a_build_waits_its_turn(examples: Path) -> None:
    later = examples / "newsletters" / WEB_EXAMPLES[2].name
    later.write_text(later.read_text(encoding="utf-8") + "web: false\n", encoding="utf-8")
    build(examples)
    later.write_text(WEB_EXAMPLES[2].read_text(encoding="utf-8"), encoding="utf-8")
    failed: list[BaseException] = []

    def publish() -> None:
        try:
            web.publish(load_project(examples), load_edition(later), examples / "site")
        except BaseException as e:
            failed.append(e)

    threads = [threading.Thread(target=publish) for _ in range(3)]
    for thread in threads:
        thread.start()
    build(examples)
    for thread in threads:
        thread.join()
    assert failed == []
    assert files(examples / "site") == files(build(examples, "whole").output)


def test_a_site_directory_that_cant_be_written_to_is_said(examples: Path) -> None:
    # The lock file can't be opened, as in a directory the user can only read (a test run as root writes there).
    (examples / "site" / ".actionmail-web.lock").mkdir(parents=True)
    assert invoke("web", "build") == (
        1,
        "Error: can't lock site/.actionmail-web.lock: Is a directory: check that site can be written to\n",
    )


def test_an_invalid_newsletter_writes_nothing(examples: Path) -> None:
    write(examples / "newsletters", "2019-08-02-bad.yaml", "date: 2019-08-02\nsubject: x\n")
    write(examples / "newsletters", "2019-08-03-worse.yaml", NEWSLETTER.replace("kind: call", "kind: shout"))
    code, output = invoke("web", "build")
    assert code == 2
    assert (
        output.splitlines()[0] == "newsletters/2019-08-02-bad.yaml:1: actions: required key is missing: add 'actions:'"
    )
    assert output.splitlines()[-1].startswith("newsletters/2019-08-03-worse.yaml:8: actions[0].kind: 'shout' is not")
    assert not (examples / "site").exists()


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("https://www.example.org/a/../{slug}", "has '..' in its path: a name starting with '.' is hidden, or "
         "leads out of the site"),
        ("https://www.example.org/a/%2e%2E/{slug}", "has '%2e%2E' in its path: a name starting with '.' is hidden, "
         "or leads out of the site"),
        ("https://www.example.org/a/%2F/{slug}", "has '%2F' in its path: a slash or a control character in a name"),
        ("https://www.example.org/a//{slug}", "has an empty segment (//) in its path"),
        ("https://www.example.org/a/{slug}?day={date}", "has a query or a fragment (after ? or #), which a file on "
         "a static host can't have"),
        ("https://www.example.org/a/{slug}%00", "has 'slug%00' in its path: a slash or a control character in a "
         "name"),
    ],
)  # fmt: skip
def test_a_web_address_that_leads_out_of_the_site_is_refused(examples: Path, url: str, what: str) -> None:
    settings(examples, "https://www.seattleindivisible.com/daily-actions/{year}/{month}/{day}/{slug}", url)
    code, output = invoke("web", "build")
    shown = "'" + url[:99] + "'"
    assert (code, output) == (2, f"actionmail.toml:16: email.web_version_url: {shown} {what}: write the address of "
                                 "a page of your site\n")  # fmt: skip
    assert not (examples / "site").exists()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", "email.web_version_url: is not set: the web edition publishes each newsletter at that address: set "
         'it, e.g. web_version_url = "https://www.example.org/actions/{date}/{slug}"'),
        ('web_version_url = "https://www.example.org/{date}"', "email.web_version_url: has no {slug}: newsletters "
         "of one day would have the same address: put {slug} at the end of its path"),
        ('web_version_url = "https://{slug}.example.org/"', "email.web_version_url: has a field before the path: "
         "the index of the web edition needs an address of its own: write the host as it is: "
         "https://www.example.org/…/{date}/{slug}"),
    ],
)  # fmt: skip
def test_a_site_needs_a_web_address_of_its_own(examples: Path, line: str, expected: str) -> None:
    settings(examples, 'web_version_url = "https://www.seattleindivisible.com/daily-actions/{year}/{month}/{day}/'
             '{slug}"', line)  # fmt: skip
    code, output = invoke("web", "build")
    assert (code, output) == (2, f"actionmail.toml{':16' if line else ':13'}: {expected}\n")


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("2019-08-02-...yaml", "has '..' in its path: a name starting with '.' is hidden, or leads out of the site"),
        ("2019-08-02-%2e%2e.yaml", "has '%2e%2e' in its path: a name starting with '.' is hidden, or leads out of "
         "the site"),
        ("2019-08-02-%2fetc.yaml", "has '%2fetc' in its path: a slash or a control character in a name"),
    ],
)  # fmt: skip
def test_a_file_name_that_leads_out_of_the_site_is_refused(examples: Path, name: str, what: str) -> None:
    write(examples / "newsletters", name, NEWSLETTER)
    code, output = invoke("web", "build")
    slug = name.removeprefix("2019-08-02-").removesuffix(".yaml")
    assert (code, output) == (2, f"newsletters/{name}: its web address {SITE}2019/8/2/{slug} {what}: rename the "
                                 "file: its name after the date is the slug in the address\n")  # fmt: skip
    assert not (examples / "site").exists()


def test_two_newsletters_at_one_address_are_refused(examples: Path) -> None:
    settings(examples, "{year}/{month}/{day}/{slug}", "{slug}")
    write(examples / "newsletters", "2019-08-02-ring.yaml", NEWSLETTER)
    write(examples / "newsletters", "2019-08-03-ring.yaml", NEWSLETTER.replace("2019-08-02", "2019-08-03"))
    write(examples / "newsletters", "2019-08-04-feed.xml.yaml", NEWSLETTER.replace("2019-08-02", "2019-08-04"))
    code, output = invoke("web", "build")
    assert (code, output) == (2, f"newsletters/2019-08-03-ring.yaml: its web address {SITE}ring is also that of "
                                 "newsletters/2019-08-02-ring.yaml: rename the file: its name after the date is the "
                                 "slug in the address\n")  # fmt: skip
    (examples / "newsletters" / "2019-08-03-ring.yaml").unlink()
    code, output = invoke("web", "build")
    assert (code, output) == (2, "newsletters/2019-08-04-feed.xml.yaml: its web address is where the feed goes: "
                                 "rename the file: its name after the date is the slug in the address\n")  # fmt: skip
    assert not (examples / "site").exists()


def test_a_link_out_of_the_directory_is_not_followed(examples: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (examples / "site").mkdir()
    (examples / "site" / PREFIX).symlink_to(elsewhere)
    with pytest.raises(ActionmailError, match=f"site/{PREFIX}/2019/8/1/no-police-facial-recognition/index.html leads "
                       f"out of site: remove the link that leads there"):  # fmt: skip
        build(examples)
    assert list(elsewhere.iterdir()) == []


def test_a_tampered_list_of_what_is_published_removes_nothing_outside(examples: Path) -> None:
    built = build(examples)
    victim = examples / "precious.txt"
    victim.write_text("keep me")
    listed = (built.output / manifest.NAME).read_text()
    (built.output / manifest.NAME).write_text(listed.replace('"site": [', '"site": [\n  "../precious.txt",'))
    with pytest.raises(InvalidInput) as raised:
        web.publish(load_project(examples), load_edition(SEED), built.output)
    assert str(raised.value) == (
        "site/.actionmail-web.json: not the list of what is published (site: Value error, '../precious.txt' has "
        "'..' in its path: a name starting with '.' is hidden, or leads out of the site): run `actionmail web "
        "build`, which writes the whole site and this list again"
    )
    build(examples)  # which writes the list again, and removes only what it wrote
    assert victim.read_text() == "keep me"
    assert manifest.read(built.output) is not None


def test_a_reader_never_sees_half_a_file(tmp_path: Path) -> None:
    """Rewritten over and over while another thread reads it: every read is the old file or the new one."""
    old, new = b"a" * 300_000, b"b" * 200_000
    file = PurePosixPath("x/index.html")
    web_files.write(tmp_path, file, old)
    seen: set[bytes] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add((tmp_path / file).read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    for round_ in range(60):
        web_files.write(tmp_path, file, new if round_ % 2 == 0 else old)
    done.set()
    reader.join()
    assert seen <= {old, new} and seen
    assert os.listdir(tmp_path / "x") == ["index.html"]
    assert (tmp_path / file).stat().st_mode & 0o777 == 0o644
