"""`actionmail serve` over HTTP: one-click unsubscribe (RFC 8058), the page that never acts on GET, undo, the 400
page for any link that is not one of ours, cross-site forms, limits, the log, and where it answers."""

from __future__ import annotations

import datetime as dt
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from actionmail import tokens
from actionmail.cli import main
from tests import sql
from tests.serve.conftest import KEY, MEMBERS, ORIGIN, Served, history, start, status, stop, token_for

ANA = MEMBERS[0]
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
INVALID = "This unsubscribe link is not valid"


def test_one_click_unsubscribes_at_once_with_a_200_and_no_redirect(served: Served) -> None:
    response = requests.post(served.url(ANA), data=ONE_CLICK, allow_redirects=False, timeout=10)
    assert (response.status_code, response.text) == (200, "You are unsubscribed.\n")
    assert "location" not in response.headers
    assert status(served, ANA) == "unsubscribed"
    assert history(served, ANA) == [("unsubscribed", "one-click", None)]
    # Again (mail providers retry): still 200, and nothing more is recorded.
    again = requests.post(served.url(ANA), data=ONE_CLICK, allow_redirects=False, timeout=10)
    assert (again.status_code, again.text) == (200, "You are unsubscribed.\n")
    assert history(served, ANA) == [("unsubscribed", "one-click", None)]
    assert status(served, MEMBERS[1]) == "active"  # nobody else


def test_one_click_as_multipart_form_data(served: Served) -> None:
    """RFC 8058 says a mail provider SHOULD send multipart/form-data; Gmail sends URL-encoded. Both work."""
    response = requests.post(served.url(ANA), files={"List-Unsubscribe": (None, "One-Click")}, timeout=10)
    assert response.status_code == 200
    assert history(served, ANA) == [("unsubscribed", "one-click", None)]


def test_get_and_head_never_change_anything(served: Served) -> None:
    """Link scanners and "safe links" proxies fetch every URL in an email, some of them more than once."""
    for _ in range(3):
        page = requests.get(served.url(ANA), timeout=10)
        assert requests.head(served.url(ANA), timeout=10).status_code == 200
    assert page.status_code == 200
    assert status(served, ANA) == "active" and history(served, ANA) == []
    assert '<button type="submit">Unsubscribe</button>' in page.text
    assert 'name="action" value="unsubscribe"' in page.text
    assert "ana…@example.org" in page.text and ANA not in page.text  # enough for its owner, not the address
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_the_page_unsubscribes_with_a_reason_and_undo_resubscribes(served: Served) -> None:
    page = requests.post(
        served.url(ANA), data={"action": "unsubscribe", "reason": "Too many\nemails"}, allow_redirects=False, timeout=10
    )
    assert page.status_code == 200
    assert "You are unsubscribed from Seattle Indivisible" in page.text
    assert 'name="action" value="undo"' in page.text
    assert status(served, ANA) == "unsubscribed"
    undone = requests.post(served.url(ANA), data={"action": "undo"}, timeout=10)
    assert undone.status_code == 200 and "You are subscribed to Seattle Indivisible again" in undone.text
    assert status(served, ANA) == "active"
    assert history(served, ANA) == [
        ("unsubscribed", "page", "Too many emails"),
        ("resubscribed", "undo", "undid an unsubscribe on the unsubscribe page"),
    ]
    # Undo again: nothing to undo, nothing recorded.
    assert requests.post(served.url(ANA), data={"action": "undo"}, timeout=10).status_code == 200
    assert len(history(served, ANA)) == 2


def test_after_30_days_undo_is_gone_and_the_page_says_how_to_rejoin(served: Served) -> None:
    requests.post(served.url(ANA), data=ONE_CLICK, timeout=10)
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).replace(microsecond=0).isoformat()
    db = sql.connect(served.project / "actionmail.db")
    with db:
        db.execute("UPDATE subscribers SET status_changed_at = ? WHERE email = ?", (long_ago, ANA))
    db.close()
    page = requests.get(served.url(ANA), timeout=10)
    assert page.status_code == 200 and "You are unsubscribed from" in page.text
    assert 'value="undo"' not in page.text
    assert "To join again, write to us at" in page.text and "info@seattleindivisible.com" in page.text
    assert requests.post(served.url(ANA), data={"action": "undo"}, timeout=10).status_code == 200
    assert status(served, ANA) == "unsubscribed"


def bad_tokens(project: Path) -> dict[str, str]:
    good = token_for(project, ANA)
    member_id, mac = good.split(".")
    flipped = ("B" if mac[0] == "A" else "A") + mac[1:]
    return {
        "forged with another key": token_for(project, ANA, key="x" * 32),
        "altered": f"{member_id}.{flipped}",
        "another member's id": f"{int(member_id) + 1}.{mac}",
        "another list's": token_for(project, ANA, list_id="another-list"),
        "cut short": good[:-3],
        "empty": "",
        "garbage": "%00%ff'\"<script>",
        "a path": "x/y/passwd",
        "an address": ANA,
        "very long": "9" * 5000,
        "a leading zero": f"0{good}",
        "full-width digits": "\uff11." + mac,
    }


def test_a_link_that_is_not_ours_is_a_400_page_for_get_and_post(served: Served) -> None:
    for what, token in bad_tokens(served.project).items():
        url = f"{served.base}/unsubscribe/{token}"
        for response in (
            requests.get(url, timeout=10),
            requests.post(url, data=ONE_CLICK, timeout=10),
            requests.post(url, data={"action": "unsubscribe"}, timeout=10),
            requests.post(url, data={"action": "undo"}, timeout=10),
        ):
            assert response.status_code == 400, (what, response.status_code)
            assert INVALID in response.text, what
            assert "mailto:info@seattleindivisible.com" in response.text  # how to reach the organization
    assert [status(served, email) for email in MEMBERS] == ["active"] * 3


def test_a_deleted_members_link_is_a_400_page(served: Served) -> None:
    url = served.url(ANA)
    db = sql.connect(served.project / "actionmail.db")
    with db:
        db.execute("DELETE FROM subscribers WHERE email = ?", (ANA,))
    db.close()
    assert requests.post(url, data=ONE_CLICK, timeout=10).status_code == 400
    assert requests.get(url, timeout=10).status_code == 400


def test_the_pages_forms_are_refused_from_another_site_but_one_click_is_not(served: Served) -> None:
    """A cross-site POST of the page's own form body is refused; RFC 8058's body comes from mail providers,
    cross-site by nature, and is accepted."""
    url = served.url(ANA)
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://evil.example"},
                    {"Origin": "null"}):  # fmt: skip
        response = requests.post(url, data={"action": "unsubscribe", "reason": "spite"}, headers=headers, timeout=10)
        assert response.status_code == 403, headers
        assert "Nothing was changed" in response.text
    assert status(served, ANA) == "active"
    # From the page itself, as the public address (behind a proxy) or this server's own, it works.
    same = requests.post(url, data={"action": "unsubscribe"}, headers={"Origin": ORIGIN}, timeout=10)
    assert same.status_code == 200 and status(served, ANA) == "unsubscribed"
    refused_undo = requests.post(url, data={"action": "undo"}, headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)
    assert refused_undo.status_code == 403 and status(served, ANA) == "unsubscribed"
    own = requests.post(url, data={"action": "undo"}, headers={"Origin": served.base}, timeout=10)
    assert own.status_code == 200 and status(served, ANA) == "active"
    provider = requests.post(url, data=ONE_CLICK, headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)
    assert provider.status_code == 200 and status(served, ANA) == "unsubscribed"


def test_a_post_that_says_nothing_is_a_400_and_changes_nothing(served: Served) -> None:
    for body in ({}, {"List-Unsubscribe": "Two-Clicks"}, {"action": "delete"}):
        response = requests.post(served.url(ANA), data=body, timeout=10)
        assert response.status_code == 400 and "Nothing was changed" in response.text
    assert status(served, ANA) == "active" and history(served, ANA) == []


def test_limits_body_size_and_methods(served: Served) -> None:
    big = requests.post(served.url(ANA), data={**ONE_CLICK, "x": "y" * (65 * 1024)}, timeout=10)
    assert big.status_code == 413
    chunks = (part for part in [b"List-Unsubscribe=One-Click&x=", b"y" * (65 * 1024)])  # chunked: no length
    chunked = requests.post(
        served.url(ANA), data=chunks, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10
    )
    assert chunked.status_code == 413
    assert status(served, ANA) == "active"
    assert requests.put(served.url(ANA), data=ONE_CLICK, timeout=10).status_code == 405
    assert requests.post(served.base + "/healthz", timeout=10).status_code == 405
    missing = requests.get(served.base + "/wp-admin/", timeout=10)
    assert missing.status_code == 404 and "There is no page here" in missing.text


def test_a_slow_body_is_cut_off(served: Served) -> None:
    """A body trickling in (slowloris) gets 408 once the request has taken BODY_SECONDS, however it trickles."""
    host, port = served.base.removeprefix("http://").split(":")
    path = served.url(ANA).removeprefix(served.base)
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 26\r\n\r\nList".encode()
        )
        answer = connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert status(served, ANA) == "active"


def test_an_error_of_ours_is_a_500_page_without_details_and_a_traceback_in_the_log(served: Served) -> None:
    db = sql.connect(served.project / "actionmail.db")
    db.execute("DROP TABLE history")  # the next unsubscribe's write fails inside the database
    db.close()
    response = requests.post(served.url(ANA), data=ONE_CLICK, timeout=10)
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert not re.search(r"Traceback|sqlite|psycopg|history|File \"", response.text)
    missing = "no such table: history" if db.dialect.name == "sqlite" else 'relation "history" does not exist'
    assert served.logged(missing) and "Traceback" in served.log
    assert status(served, ANA) == "active"  # the transaction was rolled back


def test_healthz_checks_the_database(served: Served) -> None:
    assert requests.get(served.base + "/healthz", timeout=10).text == "ok\n"
    db = sql.connect(served.project / "actionmail.db")
    db.execute("DROP TABLE tags")
    db.execute("ALTER TABLE subscribers RENAME TO members")
    db.close()
    response = requests.get(served.base + "/healthz", timeout=10)
    assert (response.status_code, response.text) == (503, "database unavailable\n")


def test_the_log_has_one_line_a_request_and_no_token_or_address(served: Served) -> None:
    url = served.url(ANA)
    requests.get(url, timeout=10)
    requests.post(url, data=ONE_CLICK, timeout=10)
    requests.get(f"{served.base}/unsubscribe/{ANA}", timeout=10)
    requests.get(f"{served.base}/{MEMBERS[1]}?email={MEMBERS[2]}", timeout=10)
    stop(served)
    log = served.log
    token = url.rsplit("/", 1)[1]
    assert token not in log and token.split(".")[1] not in log
    assert not any(email in log for email in MEMBERS)
    lines = [line for line in log.splitlines() if " GET " in line or " POST " in line]
    assert len(lines) == 5  # the fixture's /healthz, and the four above
    assert lines[2].endswith(" one-click: unsubscribed")
    assert " 127.0.0.… POST /unsubscribe/" in lines[2]


def test_it_answers_at_the_path_of_unsubscribe_url(members: Path) -> None:
    settings = members / "actionmail.toml"
    text = settings.read_text()
    settings.write_text(text.replace("/unsubscribe/{token}", "/lists/daily/leave/{token}/"))
    served = start(members)
    try:
        token = token_for(members, ANA)
        assert requests.post(f"{served.base}/unsubscribe/{token}", data=ONE_CLICK, timeout=10).status_code == 404
        assert requests.post(f"{served.base}/lists/daily/leave/{token}", data=ONE_CLICK, timeout=10).status_code == 400
        assert requests.post(f"{served.base}/lists/daily/leave/{token}/", data=ONE_CLICK, timeout=10).status_code == 200
        assert status(served, ANA) == "unsubscribed"
    finally:
        stop(served)
    settings.write_text(text.replace("/unsubscribe/{token}", "/unsubscribe?list=daily&t={token}"))
    served = start(members)
    try:
        token = token_for(members, MEMBERS[1])
        url = f"{served.base}/unsubscribe?list=daily&t={token}"
        assert requests.get(url, timeout=10).status_code == 200
        assert requests.post(url, data=ONE_CLICK, timeout=10).status_code == 200
        assert status(served, MEMBERS[1]) == "unsubscribed"
        assert requests.get(f"{served.base}/unsubscribe?t=1.x", timeout=10).status_code == 400
    finally:
        stop(served)


def test_serve_says_what_is_missing_before_it_starts(members: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tokens.SECRET_KEY_VARIABLE)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(members / "config"))
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: no secret key for unsubscribe links: set {tokens.SECRET_KEY_VARIABLE}")
    monkeypatch.setenv(tokens.SECRET_KEY_VARIABLE, KEY)
    settings = members / "actionmail.toml"
    settings.write_text(
        settings.read_text().replace(
            "https://www.seattleindivisible.com/unsubscribe/{token}", "https://{token}.example.org/u"
        )
    )
    result = CliRunner().invoke(main, ["serve"])
    assert (result.exit_code, result.output) == (
        2,
        "Error: actionmail.toml: email.unsubscribe_url: 'https://{token}.example.org/u': {token} must be a part of "
        'the path, or a query parameter\'s whole value for actionmail serve to answer it: write it like "https://www.example.org/unsubscribe/{token}"\n',
    )


def test_commands_that_do_not_serve_do_not_import_the_web_stack(members: Path) -> None:
    """A command imports only what it uses: render and --version never load Starlette or uvicorn."""
    (members / "n.yaml").write_text(
        (Path(__file__).parents[2] / "newsletters" / "2019-08-01-no-police-facial-recognition.yaml").read_text()
    )
    script = (
        "import sys\nfrom actionmail.cli import main\n"
        "for args in (['--version'], ['render', 'n.yaml', '-o', 'n.html']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "print(sorted({m.partition('.')[0] for m in sys.modules} & {'starlette', 'uvicorn', 'multipart'}))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=members, capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines()[-1] == "[]", result.stderr
    assert (members / "n.html").exists()


def test_workers_and_proxy_headers(members: Path) -> None:
    """--workers 2: each worker process loads the project and answers; --proxy-headers: the client's address
    comes from the proxy's X-Forwarded-For (trusted from 127.0.0.1 by default), and is logged cut short."""
    served = start(members, "--workers", "2", "--proxy-headers")
    try:
        forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        for email in MEMBERS:
            response = requests.post(served.url(email), data=ONE_CLICK, headers=forwarded, timeout=10)
            assert response.status_code == 200
        assert [status(served, email) for email in MEMBERS] == ["unsubscribed"] * 3
        assert served.logged(" 203.0.113.… POST /unsubscribe/")
        assert "203.0.113.7" not in served.log
    finally:
        stop(served)
    served = start(members)  # without --proxy-headers, the header is nobody's word
    try:
        requests.get(served.base + "/healthz", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=10)
        assert served.logged(" 127.0.0.… GET /healthz 200") and "203.0.113" not in served.log
    finally:
        stop(served)


def test_the_service_imports_no_mail_provider() -> None:
    script = "import sys, actionmail.serve.app\nprint(sorted(m for m in sys.modules if m.startswith(('actionmail.providers', 'requests', 'botocore'))))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_the_page_is_in_the_members_language_where_there_is_a_catalog(served: Served) -> None:
    for email, language in (("dolores@example.org", "es"), ("francois@example.org", "fr")):
        assert CliRunner().invoke(main, ["subscribers", "add", email, "--language", language]).exit_code == 0
    spanish = requests.get(served.url("dolores@example.org"), timeout=10).text
    assert '<html lang="es">' in spanish and "<h1>Cancelar la suscripción</h1>" in spanish
    assert "¿Dejar de enviar los correos de Seattle Indivisible a <strong>dol…@example.org</strong>?" in spanish
    done = requests.post(served.url("dolores@example.org"), data={"action": "unsubscribe"}, timeout=10).text
    assert "Ha cancelado su suscripción a Seattle Indivisible" in done and "Deshacer: suscribirme de nuevo" in done
    # No catalog for French: the page is in English, and says so.
    french = requests.get(served.url("francois@example.org"), timeout=10).text
    assert '<html lang="en">' in french and "<h1>Unsubscribe</h1>" in french
    # Nobody's link (no member, no language): the organization's.
    invalid = requests.get(f"{served.base}/unsubscribe/1.x", timeout=10).text
    assert '<html lang="en">' in invalid and "This unsubscribe link is not valid" in invalid
