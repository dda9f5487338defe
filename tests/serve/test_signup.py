"""The sign-up form on the real `actionmail serve`, over HTTP: the form, the confirmation email the outbox catches,
its link (GET changes nothing; Confirm's POST makes the member), and everything that must not make one — an expired
or forged link, a bot, an address that bounced, too many posts — each getting the answer a person gets."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import re
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from actionmail import tokens
from actionmail.audience import Status, SuppressEvent
from actionmail.audience.signups import Signups
from actionmail.cli import main
from actionmail.serve import form
from actionmail.serve.form import Signer
from tests import sql
from tests.conftest import ROOT, SEED
from tests.serve.conftest import KEY, LIST_ID, ORIGIN, Served, start, stop
from tests.serve.fuzzing import against_the_server
from tests.serve.signing_up import (
    MIN_SECONDS,
    SIGNER,
    client,
    emails,
    finished,
    link_in,
    member,
    serving,
    signup_project,
    text_of,
)

SENT = "We are sending an email to"


@pytest.fixture(scope="module")
def signup_served(tmp_path_factory: pytest.TempPathFactory, module_database: str | None) -> Iterator[Served]:
    yield from serving(tmp_path_factory)


def page_text(response: requests.Response) -> str:
    """The page without its style: what a reader reads."""
    return re.sub(r"<style>.*?</style>", "", response.text, flags=re.S)


def test_sign_up_confirm_and_join(signup_served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    served, visitor, ana = signup_served, client(signup_served), "ana.flow@example.org"
    page = visitor.get("/signup")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for control in ('name="email" type="email" autocomplete="email"', 'name="first_name"', 'name="zip"',
                    '<option value="">I don\'t know</option>', '<option value="3">District 3 (Kshama Sawant)</option>',
                    '<option value="es" lang="es">Español</option>', 'name="website" type="text" tabindex="-1"'):  # fmt: skip
        assert control in page.text, control
    lookup = "https://www.seattle.gov/cityclerk/agendas-and-legislative-resources/find-your-council-district"
    assert f'<a href="{lookup}">Find your council district</a>' in page.text  # from officials.yaml
    started = re.search(r'name="started" value="([^"]+)"', page.text)
    assert started is not None
    time.sleep(MIN_SECONDS)
    before = served.log.count(" POST /signup ")
    answer = visitor.post(
        "/signup",
        {"email": ana, "first_name": "Ana", "zip": "98101", "district": "3", "language": "en", "website": "",
         "started": started[1]},
    )  # fmt: skip
    assert answer.status_code == 200 and SENT in answer.text and ana in answer.text
    assert answer.headers["connection"] == "close"  # no next request on it waits for the work after the answer
    finished(served, before)
    assert member(served, ana) is None  # nobody until the click
    (message,) = emails(served, ana)
    assert message["Subject"] == "Please confirm your subscription to Seattle Indivisible"
    assert message["From"] == "Seattle Indivisible <action@seattleindivisible.com>"
    assert message["Auto-Submitted"] == "auto-generated" and message["List-Unsubscribe"] is None
    assert "Ana" not in text_of(message)  # nothing typed into the form but the address
    link = link_in(served, message)
    # Opening the link (a mail scanner does, more than once) changes nothing.
    for _ in range(2):
        confirm = visitor.get(link.removeprefix(served.base))
        assert confirm.status_code == 200 and '<button type="submit">Confirm</button>' in confirm.text
        assert "ana…@example.org" in confirm.text
    assert member(served, ana) is None
    done = visitor.post(link.removeprefix(served.base), {"action": "confirm"})
    assert done.status_code == 200 and "Welcome!" in done.text
    assert member(served, ana) == ("active", "signup")
    monkeypatch.chdir(served.project)
    shown = CliRunner().invoke(main, ["subscribers", "show", ana]).output
    assert "  name: Ana\n  district: 3\n  zip: 98101\n  language: en\n  status: active\n" in shown
    assert re.search(r"  joined: \d{4}-\d\d-\d\d \(signup\)\n", shown)
    assert re.search(r"  consent: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, by the link emailed on sign-up \(", shown)
    # The link again: nothing more happens.
    again = visitor.post(link.removeprefix(served.base), {"action": "confirm"})
    assert again.status_code == 200 and "This link has been used already" in again.text
    assert len(emails(served, ana)) == 1


def test_the_same_answer_whatever_becomes_of_a_post(signup_served: Served) -> None:
    """A new address, the same again within ten minutes, an active member, an address that bounced or
    complained, a bot's post: one page, word for word; only the new address and the member get an email."""
    served = signup_served
    with served.store() as store:
        store.add("bo.member@example.org", source="import")
        store.add("cy.bounced@example.org", source="import")
        store.suppress_events([SuppressEvent("cy.bounced@example.org", Status.BOUNCED, source="mailgun"),
                               SuppressEvent("di.complained@example.org", Status.COMPLAINED, source="ses")])  # fmt: skip
    answers = {}
    for address, how in [
        ("new.person@example.org", {}),
        ("new.person@example.org", {}),
        ("bo.member@example.org", {}),
        ("cy.bounced@example.org", {}),
        ("di.complained@example.org", {}),
        ("honey@example.org", {"website": "https://spam.example"}),
        ("quick@example.org", {"started": SIGNER.started()}),
        ("forged@example.org", {"started": Signer(b"x" * 32, LIST_ID).started(time.time() - 10)}),
        ("no.time@example.org", {"started": ""}),
    ]:
        response = client(served).sign_up(address, **how)
        assert response.status_code == 200
        answers[(address, str(how))] = page_text(response).replace(address, "ADDRESS")
    assert len(set(answers.values())) == 1
    assert [len(emails(served, a)) for a in ("new.person@example.org", "bo.member@example.org")] == [1, 1]
    for address in ("cy.bounced@example.org", "di.complained@example.org", "honey@example.org", "quick@example.org",
                    "forged@example.org", "no.time@example.org"):  # fmt: skip
        assert emails(served, address) == [], address
    assert member(served, "cy.bounced@example.org") == ("bounced", "import")
    assert member(served, "di.complained@example.org") is None
    log = served.log
    for outcome in ("signup: sent", "signup: limited", "signup: stopped", "signup: not sent (the hidden field was "
                    "filled in)", "after the form)", "signup: not sent (a form time that "
                    "is not ours)", "signup: not sent (no form time, from no origin)"):  # fmt: skip
        assert outcome in log, outcome
    assert "@example.org" not in log


def test_the_organizations_own_copy_of_the_form_posts_from_its_website(signup_served: Served) -> None:
    """The snippet is static HTML, with no form time: its posts are taken from the organization's website."""
    served = signup_served
    snippet = client(served).get("/signup/snippet")
    assert snippet.status_code == 200
    assert (
        "&lt;form class=&#34;actionmail-signup&#34; method=&#34;post&#34; "
        "action=&#34;https://www.seattleindivisible.com/signup&#34;" in snippet.text
    )
    assert "started" not in snippet.text and "actionmail-website" in snippet.text
    client(served).sign_up("from.site@example.org", started=None, origin=ORIGIN)
    client(served).sign_up("from.elsewhere@example.org", started=None, origin="https://spam.example")
    assert len(emails(served, "from.site@example.org")) == 1
    assert emails(served, "from.elsewhere@example.org") == []


def test_an_unsubscribed_member_is_resubscribed_by_the_click_and_only_by_it(signup_served: Served) -> None:
    served, address = signup_served, "eve.left@example.org"
    with served.store() as store:
        store.add(address, source="import")
        store.unsubscribe(address, "too many", source="page")
    visitor = client(served)
    visitor.sign_up(address, zip="98122")
    assert member(served, address) == ("unsubscribed", "import")
    link = link_in(served, emails(served, address)[0]).removeprefix(served.base)
    assert visitor.get(link).status_code == 200 and member(served, address) == ("unsubscribed", "import")
    assert visitor.post(link, {"action": "confirm"}).status_code == 200
    with served.store() as store:
        joined = store.get(address)
        changes = [(e.change, e.source) for e in store.history(address)]
    assert joined is not None and (joined.status, joined.zip) == (Status.ACTIVE, "98122")
    assert changes == [("unsubscribed", "page"), ("resubscribed", "signup")]


def test_limits_per_address_and_per_client(signup_served: Served) -> None:
    served = signup_served
    visitor = client(served)
    for _ in range(3):
        visitor.sign_up("fay.again@example.org")
    assert len(emails(served, "fay.again@example.org")) == 1  # one per ten minutes
    crowd = client(served)  # 20 sign-ups an hour from one network
    for n in range(21):
        assert crowd.sign_up(f"crowd{n}@example.org").status_code == 200
    assert [len(emails(served, f"crowd{n}@example.org")) for n in range(21)] == [1] * 20 + [0]
    assert "signup: client limit" in served.log
    assert len(emails(served, "crowd20@example.org")) == 0
    client(served).sign_up("crowd20@example.org")  # from another network
    assert len(emails(served, "crowd20@example.org")) == 1


def test_an_email_the_provider_refuses_can_be_asked_for_again_at_once(signup_served: Served) -> None:
    """The provider fails (here the outbox can't write its folder): the same answer; the log says why, without
    the address; and the address is not held to its limit, so the person can simply send the form again."""
    served, address = signup_served, "sam.fail@example.org"
    folder = served.project / "outbox" / "signup"
    folder.mkdir(parents=True, exist_ok=True)
    folder.rename(folder.with_name("signup-kept"))
    folder.write_text("not a folder")
    try:
        answer = client(served).sign_up(address)
        assert answer.status_code == 200 and SENT in answer.text
    finally:
        folder.unlink()
        folder.with_name("signup-kept").rename(folder)
    assert re.search(r"signup \d+: the confirmation email was not sent: outbox: cannot create .*signup", served.log)
    assert "signup: failed" in served.log and address not in served.log
    assert emails(served, address) == []
    client(served).sign_up(address)
    assert len(emails(served, address)) == 1


def _links(served: Served, address: str) -> tuple[str, str]:
    link = link_in(served, emails(served, address)[0]).removeprefix(served.base)
    return link, link.rsplit("/", 1)[1]


def test_an_expired_link_is_a_400_page_and_changes_nothing(signup_served: Served) -> None:
    served, address = signup_served, "gus.late@example.org"
    visitor = client(served)
    visitor.sign_up(address)
    link, _ = _links(served, address)
    db = sql.connect(served.project / "actionmail.db")
    with db:  # sent 49 hours ago
        (at,) = db.execute("SELECT requested_at FROM signups WHERE email = ?", (address,)).fetchone()
        earlier = (dt.datetime.fromisoformat(at) - dt.timedelta(hours=49)).isoformat()
        db.execute("UPDATE signups SET requested_at = ? WHERE email = ?", (earlier, address))
    db.close()
    # The link's MAC covers the time it was sent, so the link must be made again for the row's new time.
    signup_id = int(link.rsplit("/", 1)[1].split("-")[0])
    with served.store() as store:
        pending = Signups(store).find(signup_id)
    assert pending is not None
    link = f"/signup/confirm/{SIGNER.link_token(pending)}"
    for response in (visitor.get(link), visitor.post(link, {"action": "confirm"})):
        assert response.status_code == 400
        assert "This confirmation link has expired: links work for 48 hours" in response.text
        assert 'href="/signup">Sign up again</a>' in response.text
    assert member(served, address) is None


def test_a_forged_or_altered_link_is_a_400_page_never_a_500(signup_served: Served) -> None:
    served, address = signup_served, "hal.forged@example.org"
    with served.store() as store:
        store.add("ida.member@example.org", source="import")
        ida = store.get("ida.member@example.org")
    assert ida is not None
    visitor = client(served)
    visitor.sign_up(address)
    _, token = _links(served, address)
    signup_id, mac = token.split("-", 1)
    flipped = ("B" if mac[0] == "A" else "A") + mac[1:]
    with served.store() as store:
        pending = Signups(store).find(int(signup_id))
    assert pending is not None
    bad = {
        "altered": f"{signup_id}-{flipped}",
        "another sign-up's id": f"{int(signup_id) + 1000}-{mac}",
        "another key's": Signer(b"x" * 32, LIST_ID).link_token(pending),
        "another list's": Signer(KEY.encode(), "another-list").link_token(pending),
        "an unsubscribe token": tokens.make(KEY.encode(), LIST_ID, ida.id, ida.email),
        "an unsubscribe MAC in a sign-up's shape": f"{ida.id}-{tokens.make(KEY.encode(), LIST_ID, ida.id, ida.email).split('.')[1]}",
        "cut short": token[:-2],
        "garbage": "%00%ff'\"<script>",
        "very long": "9" * 5000,
        "a leading zero": f"0{token}",
    }
    for what, forged in bad.items():
        path = f"/signup/confirm/{forged}"
        for response in (visitor.get(path), visitor.post(path, {"action": "confirm"})):
            assert response.status_code in (400, 404), what  # 404: a "/" in the garbage is another path
            if response.status_code == 400:
                assert "This confirmation link is not valid" in response.text, what
    assert member(served, address) is None
    # And an unsubscribe link made from the sign-up's token unsubscribes nobody.
    assert visitor.post(f"/unsubscribe/{signup_id}.{mac}", {"List-Unsubscribe": "One-Click"}).status_code == 400
    assert member(served, "ida.member@example.org") == ("active", "import")


def test_the_confirm_button_only_from_its_own_page(signup_served: Served) -> None:
    served, address = signup_served, "jo.csrf@example.org"
    visitor = client(served)
    visitor.sign_up(address)
    link, _ = _links(served, address)
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = visitor.post(link, {"action": "confirm"}, **headers)
        assert refused.status_code == 403 and "Nothing was changed" in refused.text
    said_nothing = visitor.post(link, {"action": "join"})
    assert said_nothing.status_code == 400
    assert member(served, address) is None
    assert visitor.post(link, {"action": "confirm"}, Origin=ORIGIN).status_code == 200
    assert member(served, address) == ("active", "signup")


def test_a_field_with_a_problem_is_named_and_nothing_is_sent(signup_served: Served) -> None:
    served, visitor = signup_served, client(signup_served)
    response = visitor.sign_up("not an address", first_name="Kim", zip="9810", district="99", language="fr")
    assert response.status_code == 400
    text = response.text
    assert "<title>Error: Sign up · Seattle Indivisible</title>" in text
    assert '<div class="errors" role="alert">' in text
    for field, message in [("email", "Enter an email address like name@example.org."),
                           ("zip", "Enter a 5-digit ZIP code, or leave it empty."),
                           ("district", "Choose your district from the list."),
                           ("language", "Choose a language from the list.")]:  # fmt: skip
        assert f'<li><a href="#{field}">{message}</a></li>' in text, field
        assert f'<p class="error" id="{field}-error">{message}</p>' in text, field
        assert f'aria-invalid="true" aria-describedby="{field}-error"' in text, field
    assert 'value="not an address"' in text and 'value="Kim"' in text  # what was typed stays
    assert re.search(r'name="started" value="\d+\.', text)  # a new form time
    empty = visitor.sign_up("")
    assert empty.status_code == 400 and "Enter your email address." in empty.text
    assert not list((served.project / "outbox" / "signup").glob("*.eml")) or emails(served, "not an address") == []


def test_the_form_and_the_email_in_spanish(signup_served: Served) -> None:
    served, visitor = signup_served, client(signup_served)
    for page in (visitor.get("/signup?lang=es"), visitor.get("/signup", **{"Accept-Language": "es-MX,es;q=0.9"})):
        assert '<html lang="es">' in page.text and "<h1>Suscribirse</h1>" in page.text
        assert '<a href="/signup?lang=en" lang="en" hreflang="en">English</a>' in page.text
        assert '<option value="es" lang="es" selected>Español</option>' in page.text
    assert '<html lang="en">' in visitor.get("/signup", **{"Accept-Language": "fr, de;q=0.5"}).text
    answer = visitor.sign_up("lu.es@example.org", language="es")
    assert '<html lang="es">' in answer.text and "Estamos enviando un correo a" in answer.text
    (message,) = emails(served, "lu.es@example.org")
    assert message["Subject"] == "Confirme su suscripción a Seattle Indivisible"
    link = link_in(served, message).removeprefix(served.base)
    assert "<h1>Confirme su suscripción</h1>" in visitor.get(link).text
    done = visitor.post(link, {"action": "confirm"})
    assert "¡Bienvenido!" in done.text
    with served.store() as store:
        joined = store.get("lu.es@example.org")
    assert joined is not None and joined.language == "es"


def test_a_form_in_one_language_not_the_organizations_can_be_sent(tmp_path: Path) -> None:
    """[signup] languages = ["es"] for an English-speaking organization: the form has no language to choose, and a
    post without one is in the one language offered (it was once taken for the organization's, which the form
    doesn't offer: "Choose a language from the list", with no list to choose from)."""
    project = signup_project(tmp_path)
    with (project / "actionmail.toml").open("a", encoding="utf-8") as f:
        f.write('languages = ["es"]\n')
    served = start(project)
    try:
        visitor = client(served)
        form_page = visitor.get("/signup")
        assert '<html lang="es">' in form_page.text and 'name="language"' not in form_page.text
        answer = visitor.sign_up("lia.sola@example.org")
        assert answer.status_code == 200 and "Estamos enviando un correo a" in answer.text
        (message,) = emails(served, "lia.sola@example.org")
        assert message["Subject"] == "Confirme su suscripción a Seattle Indivisible"
    finally:
        stop(served)


def test_welcome_sends_the_newsletter_sent_last(signup_served: Served) -> None:
    """[signup] welcome: right after the click, the newsletter of the latest send to everyone, the member's own
    variant with their own unsubscribe link."""
    served = signup_served
    newsletter = served.project / "newsletters" / SEED.name
    newsletter.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    db = sql.connect(served.project / "actionmail.db")
    with db:
        db.execute(
            "INSERT INTO sends (issue, content_hash, created_at, finished_at) VALUES (?, 'x', ?, ?)",
            (SEED.stem, "2026-01-01T00:00:00+00:00", "2026-01-01T00:10:00+00:00"),
        )
    db.close()
    try:
        visitor = client(served)
        visitor.sign_up("mo.welcome@example.org", district="3")
        link = link_in(served, emails(served, "mo.welcome@example.org")[0]).removeprefix(served.base)
        done = visitor.post(link, {"action": "confirm"})
        assert "Our latest email is on its way to you now." in done.text
        assert served.logged(f"welcome: sent {SEED.stem} (en · district 3)")
        with served.store() as store:
            joined = store.get("mo.welcome@example.org")
        assert joined is not None
        (path,) = (served.project / "outbox" / SEED.stem).glob("welcome-*.eml")
        raw = path.read_text(encoding="utf-8")
        token = tokens.make(KEY.encode(), LIST_ID, joined.id, joined.email)
        assert f"List-Unsubscribe: <https://www.seattleindivisible.com/unsubscribe/{token}>" in raw
    finally:
        db = sql.connect(served.project / "actionmail.db")
        with db:
            db.execute("DELETE FROM sends")
        db.close()


def test_every_text_of_the_sign_up_is_in_spanish() -> None:
    """Each msgid of the sign-up's templates, its page titles and its field problems has a translation in
    templates/locale/es.po (else a Spanish page would say lang="es" over English text)."""
    from babel.messages.pofile import read_po
    from jinja2.ext import babel_extract

    with (ROOT / "templates" / "locale" / "es.po").open("rb") as f:
        catalog = read_po(f, locale="es")
    wanted = set()
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    for name in ("signup.html", "snippet.html", "signup-email.txt", "signup-email.html"):
        with (ROOT / "templates" / "serve" / name).open("rb") as f:
            for _, _, message, _ in babel_extract(f, ("_",), [], options):
                if isinstance(message, str):
                    wanted.add(message)
    source = (ROOT / "src" / "actionmail" / "serve" / "signup.py").read_text(encoding="utf-8")
    wanted |= set(re.findall(r'self\._(?:page|render)\([^"]*"[a-z_]+", "([^"]+)"', source))
    wanted |= {value for name, value in vars(form).items() if name.startswith(("BAD_", "NO_"))}
    assert {"Sign up", "Check your inbox", "This link has expired", "Enter your email address."} <= wanted
    missing = sorted(m for m in wanted if not (catalog.get(m) and catalog[m].string))
    assert missing == []


@st.composite
def posts(draw: st.DrawFn) -> dict[str, str]:
    text = st.text(max_size=40)
    fields = {
        "email": draw(st.one_of(text, st.emails(), st.just("ana@example.org"))),
        "first_name": draw(text),
        "zip": draw(st.one_of(text, st.from_regex(r"[0-9]{5}", fullmatch=True))),
        "district": draw(st.one_of(text, st.sampled_from(["", "1", "7", "8"]))),
        "language": draw(st.one_of(text, st.sampled_from(["", "en", "es", "fr"]))),
        "website": draw(st.one_of(st.just(""), text)),
        "started": draw(st.one_of(text, st.just(SIGNER.started(time.time() - 10)), st.just(SIGNER.started()))),
    }
    extra = draw(st.dictionaries(st.text(max_size=10), text, max_size=3))
    return {**extra, **{k: v for k, v in fields.items() if draw(st.booleans()) or k == "email"}}


def test_no_form_gets_a_500(signup_served: Served) -> None:
    """Hypothesis: any fields, any values (a few valid, most not), from a few networks: a 200 or a 400 page,
    never a 500; and nobody becomes a member without a click."""
    served = signup_served

    @against_the_server(120)
    @given(posts(), st.integers(1, 4))
    def one(fields: dict[str, str], network: int) -> None:
        before = served.log.count(" POST /signup ")
        response = requests.post(
            served.base + "/signup", data=fields, headers={"X-Forwarded-For": f"192.0.2.{network}"}, timeout=10
        )
        assert response.status_code in (200, 400), (fields, response.status_code)
        assert "Traceback" not in response.text
        finished(served, before)

    one()
    assert "Traceback" not in served.log and "signup: error" not in served.log
    with served.store() as store:
        assert store.get("ana@example.org") is None


def test_no_confirmation_link_gets_a_500(signup_served: Served) -> None:
    """Hypothesis: any text where the token goes, shaped like one or not, by GET and by POST: a 400 (or 404 for a
    path that is no route), never a 500; and nobody joins."""
    served = signup_served
    client(served).sign_up("ray.fuzz@example.org")
    _, valid = _links(served, "ray.fuzz@example.org")
    mac = valid.split("-", 1)[1]
    shapes = st.one_of(
        st.text(max_size=60),
        st.builds(lambda i: f"{i}-{mac}", st.integers(-3, 10**20)),
        st.builds(lambda cut: valid[:cut], st.integers(0, len(valid) - 1)),
        st.builds(lambda extra: valid + extra, st.text(min_size=1, max_size=10)),
        st.text(alphabet="0123456789-_ABCxyz.%", max_size=40),
    ).filter(lambda token: token != valid)

    @against_the_server(60)
    @given(shapes, st.sampled_from(["GET", "POST"]))
    def one(token: str, method: str) -> None:
        url = f"{served.base}/signup/confirm/{urllib.parse.quote(token, safe='')}"
        response = requests.request(method, url, data={"action": "confirm"}, timeout=10)
        assert response.status_code in (400, 404, 405), (token, response.status_code)

    one()
    assert member(served, "ray.fuzz@example.org") is None and "Traceback" not in served.log


def test_the_service_starts_without_sign_ups_when_they_are_off(tmp_path: Path) -> None:
    project = signup_project(tmp_path)
    with (project / "actionmail.toml").open("a", encoding="utf-8") as f:
        f.write("enabled = false\n")
    served = start(project)
    try:
        assert requests.get(served.base + "/signup", timeout=10).status_code == 404
    finally:
        stop(served)
    assert "Sign-up form" not in served.log


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ('[signup]\nurl = "https://www.example.org/join?x=1"\n',
         "Error: actionmail.toml: signup.url: 'https://www.example.org/join?x=1': the sign-up page needs a path of its "
         'own, with no query: write it like "https://www.example.org/signup"\n'),
        ("[signup]\nmin_seconds = -1\n",
         "actionmail.toml:24: signup.min_seconds: input should be greater than or equal to 0: correct the value\n"),
        ('[signup]\norigins = ["not a url"]\n',
         "actionmail.toml:24: signup.origins[0]: 'not a url' is not a web address: write the whole address, starting "
         "with https://\n"),
        ('[send]\nprovider = "mailgun"\n',
         "actionmail.toml: providers.mailgun.domain: required key is missing: add a [providers.mailgun] section to "
         "actionmail.toml with domain = … (serve sends the sign-up's confirmation emails through it; [signup] "
         "enabled = false turns the sign-up off)\n"),
    ],
)  # fmt: skip
def test_a_bad_signup_setting_stops_serve_before_it_starts(
    project: Path, monkeypatch: pytest.MonkeyPatch, settings: str, error: str
) -> None:
    monkeypatch.setenv(tokens.SECRET_KEY_VARIABLE, KEY)
    with (project / "actionmail.toml").open("a", encoding="utf-8") as f:
        f.write("\n" + settings)
    result = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert (result.exit_code, result.output) == (2, error)


def test_the_limits_hold_across_worker_processes(tmp_path: Path) -> None:
    """Two workers, twelve posts of one address at once from twelve networks: one email (the limit is the
    database's, not a process's)."""
    served = start(signup_project(tmp_path), "--workers", "2", "--proxy-headers")
    try:
        data = {"email": "quinn.twice@example.org", "website": "", "started": SIGNER.started(time.time() - 10)}

        def post(n: int) -> int:
            headers = {"X-Forwarded-For": f"203.0.113.{n}"}
            return requests.post(served.base + "/signup", data=data, headers=headers, timeout=30).status_code

        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            assert list(pool.map(post, range(12))) == [200] * 12
        deadline = time.monotonic() + 20
        while served.log.count(" POST /signup ") < 12:
            assert time.monotonic() < deadline, served.log
            time.sleep(0.05)
        assert len(emails(served, "quinn.twice@example.org")) == 1
        assert served.log.count("signup: sent") == 1 and served.log.count("signup: limited") == 11
    finally:
        stop(served)
