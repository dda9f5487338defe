"""`actionmail subscribers …`: exact output, exit codes, and the database where actionmail.toml says."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from actionmail import database
from actionmail.audience import Status, Store
from tests.conftest import ROOT, Databases, write
from tests.test_cli import invoke

SAMPLE = ROOT / "sample" / "members.csv"
FIXTURES = ROOT / "tests" / "fixtures" / "audience"


def test_importing_the_sample_twice(project: Path) -> None:
    shutil.copy(SAMPLE, project / "members.csv")
    assert invoke("subscribers", "import", "members.csv") == (0, "added 1000, updated 0, unchanged 0, skipped 0\n")
    assert invoke("subscribers", "import", "members.csv") == (0, "added 0, updated 0, unchanged 1000, skipped 0\n")
    assert database.exists(database.locate(project / "actionmail.db"))
    assert invoke("subscribers", "count") == (0, "1000\n")


def test_the_database_is_where_actionmail_toml_says(project: Path) -> None:
    settings = project / "actionmail.toml"
    settings.write_text(settings.read_text() + '\n[audience]\ndatabase = "data/members.sqlite"\n')
    (project / "data").mkdir()
    (project / "newsletters" / "deep").mkdir()
    write(project, "m.csv", "email\nana@example.org\n")
    assert invoke("subscribers", "import", "m.csv")[0] == 0
    with Store.open(project / "data" / "members.sqlite") as store:
        assert store.count() == 1
    assert not (project / "actionmail.db").exists()


def test_import_reports_bad_rows_and_exits_3(project: Path) -> None:
    write(
        project,
        "signup.csv",
        """\
        email,first_name,last_name,district,zip_code,Team
        ana@example.org,Ana,Ruiz,2,98108,phones
        ana@example,Bob,Lee,3,98122,
        ,Cy,Park,4,98105,
        ANA@example.org,Ana,Ruiz,2,,
        dee@example.org,Dee,Ford,9,98101,
        """,
    )
    assert invoke("subscribers", "import", "signup.csv", "--source", "May sign-up sheet") == (
        3,
        "signup.csv:3: email: 'ana@example' is not a valid email address (The part after the @-sign is not valid. "
        "It should have a period.): correct it\n"
        "signup.csv:4: email: no email address: add the address, or delete the row\n"
        "signup.csv:5: email: ANA@example.org is already on line 2: keep one of the two rows (the first was "
        "imported)\n"
        "signup.csv:6: district: warning: '9' is not a district in officials.yaml (known: 1, 2, 3, 4, 5, 6, 7), so "
        "the member was imported without a district: correct it and import the file again, or leave the cell empty\n"
        "custom fields: field.team (from 'Team')\n"
        "added 2, updated 0, unchanged 0, skipped 3\n",
    )
    with Store.open(project / "actionmail.db") as store:
        ana = store.get("ana@example.org")
        assert ana is not None and (ana.source, dict(ana.fields)) == ("May sign-up sheet", {"team": "phones"})


def test_import_of_a_file_that_is_not_utf8(project: Path) -> None:
    text = "Email Address,First Name\njose@example.org,José\nana@example.org,Ana\n"
    (project / "excel.csv").write_bytes(text.encode("cp1252"))
    assert invoke("subscribers", "import", "excel.csv") == (
        3,
        "excel.csv:2: not UTF-8 text (byte 0xe9 at character 21; the file was probably saved as Windows-1252 or "
        "Latin-1), so this row was not imported: save the file as UTF-8 — in Excel, Save As, 'CSV UTF-8 (Comma "
        "delimited)'; in Google Sheets, File, Download, CSV — and import it again (rows already imported are not "
        "duplicated)\n"
        "added 1, updated 0, unchanged 0, skipped 1\n",
    )
    assert invoke("subscribers", "count") == (0, "1\n")


def test_import_of_a_header_that_is_not_utf8(project: Path) -> None:
    (project / "excel.csv").write_bytes("Email Address,Prénom\njose@example.org,José\n".encode("cp1252"))
    assert invoke("subscribers", "import", "excel.csv") == (
        2,
        "excel.csv:1: not UTF-8 text (byte 0xe9 at character 17; the file was probably saved as Windows-1252 or "
        "Latin-1), so nothing was imported: save it as UTF-8 — in Excel, Save As, 'CSV UTF-8 (Comma delimited)'; "
        "in Google Sheets, File, Download, CSV — and import it again\n",
    )
    assert invoke("subscribers", "count") == (0, "0\n")


def test_import_with_map(project: Path) -> None:
    write(project, "m.csv", "Correo,Nombre,Distrito,Notas\nana@example.org,Ana,3,llamar\n")
    assert invoke(
        "subscribers",
        "import",
        "m.csv",
        "--map",
        "Correo=email",
        "--map",
        "nombre=first_name",
        "--map",
        "Distrito=district",
        "--map",
        "Notas=-",
    ) == (0, "added 1, updated 0, unchanged 0, skipped 0\n")
    assert invoke("subscribers", "import", "m.csv", "--map", "Correo=correo") == (
        2,
        "Error: --map 'Correo=correo': unknown field 'correo': use email, first_name, last_name, district, "
        "district.SET (a district set of officials.yaml, like district.congress), zip, language, tags, "
        "field.NAME, or - to ignore the column\n",
    )
    assert invoke("subscribers", "import", "m.csv", "--map", "Email=email") == (
        2,
        "Error: --map 'Email=email': m.csv has no column 'Email' (its columns: Correo, Nombre, Distrito, Notas): "
        "check the name\n",
    )
    assert invoke("subscribers", "import", "m.csv", "--map", "Correo") == (
        2,
        "Error: --map 'Correo': not COLUMN=field: write it like --map 'Zip Code=zip'\n",
    )


def test_import_of_unsubscribed_members_says_so(project: Path) -> None:
    write(
        project,
        "an.csv",
        """\
        email,can2_subscription_status
        ana@example.org,subscribed
        bo@example.org,unsubscribed
        cy@example.org,bouncing
        """,
    )
    assert invoke("subscribers", "import", "an.csv") == (
        0,
        "not to be sent to: 1 bounced, 1 unsubscribed\nadded 3, updated 0, unchanged 0, skipped 0\n",
    )
    write(project, "again.csv", "email,can2_subscription_status\nbo@example.org,subscribed\n")
    assert invoke("subscribers", "import", "again.csv") == (
        0,
        "kept 1 who unsubscribed, bounced or complained as they are, although the file lists them as subscribed "
        "(`actionmail subscribers resubscribe` brings one back)\n"
        "added 0, updated 0, unchanged 1, skipped 0\n",
    )


def test_add_unsubscribe_resubscribe(project: Path) -> None:
    assert invoke(
        "subscribers", "add", "Kim@Example.org", "--first-name", "Kim", "--district", "4", "--tag", "volunteer"
    ) == (
        0,
        "Added Kim@example.org\n",
    )
    assert invoke("subscribers", "add", "kim@example.org", "--tag", "volunteer") == (
        0,
        "Kim@example.org is already a subscriber with these details\n",
    )
    assert invoke("subscribers", "add", "kim@example.org", "--zip", "98105") == (0, "Updated Kim@example.org\n")
    assert invoke("subscribers", "add", "kim@example.org", "--district", "8") == (
        2,
        "Error: district '8' is not in officials.yaml (known: 1, 2, 3, 4, 5, 6, 7): use one of them, or leave it out\n",
    )
    assert invoke("subscribers", "unsubscribe", "kim@example.org", "--reason", "asked by reply") == (
        0,
        "Unsubscribed Kim@example.org\n",
    )
    code, output = invoke("subscribers", "unsubscribe", "kim@example.org")
    assert code == 0 and output.startswith("Kim@example.org was already unsubscribed since 20")
    code, output = invoke("subscribers", "add", "kim@example.org", "--last-name", "Lee")
    assert code == 0 and output.startswith("Updated Kim@example.org (unsubscribed since 20")
    assert output.endswith(": not sent to)\n")
    assert invoke("subscribers", "resubscribe", "kim@example.org") == (
        2,
        "Usage: main subscribers resubscribe [OPTIONS] EMAIL\n"
        "Try 'main subscribers resubscribe --help' for help.\n\n"
        "Error: Missing option '--reason'.\n",
    )
    assert invoke("subscribers", "resubscribe", "kim@example.org", "--reason", "signed up at the May meeting") == (
        0,
        "Resubscribed Kim@example.org\n",
    )
    assert invoke("subscribers", "unsubscribe", "nobody@example.org") == (
        0,
        "nobody@example.org is not a subscriber; it is on the suppression list now, so it will not be added\n",
    )
    code, output = invoke("subscribers", "add", "nobody@example.org")
    assert code == 0 and output.startswith("Added nobody@example.org (unsubscribed since 20")
    assert invoke("subscribers", "count") == (0, "1\n")


def test_list(project: Path) -> None:
    write(
        project,
        "m.csv",
        """\
        email,first_name,last_name,district,zip,language,tags
        ana@example.org,Ana,Ruiz,2,98108,es,"volunteer,phonebank"
        bo@example.org,Bo,Lee,3,98122,en,
        cy@example.org,Cy,Park,,98004,en,donor
        """,
    )
    invoke("subscribers", "import", "m.csv")
    invoke("subscribers", "unsubscribe", "bo@example.org")
    assert invoke("subscribers", "list") == (
        0,
        "EMAIL            NAME      DISTRICT  ZIP    LANGUAGE  TAGS\n"
        "cy@example.org   Cy Park             98004  en        donor\n"
        "ana@example.org  Ana Ruiz  2         98108  es        phonebank, volunteer\n"
        "2 active subscribers\n",
    )
    assert invoke("subscribers", "list", "--all", "--segment", "district!=none") == (
        0,
        "EMAIL            NAME      DISTRICT  ZIP    LANGUAGE  TAGS                  STATUS\n"
        "ana@example.org  Ana Ruiz  2         98108  es        phonebank, volunteer  active\n"
        "bo@example.org   Bo Lee    3         98122  en                              unsubscribed\n"
        "2 subscribers in segment 'district!=none': 1 active, 1 unsubscribed\n",
    )
    assert invoke("subscribers", "list", "--segment", "tag=host") == (
        0,
        "0 active subscribers in segment 'tag=host'\n",
    )


def test_count_with_segments(project: Path) -> None:
    shutil.copy(SAMPLE, project / "members.csv")
    invoke("subscribers", "import", "members.csv")
    counts = {s: invoke("subscribers", "count", "--segment", s) for s in ["district=3", "district=none", "language=es"]}
    assert counts == {"district=3": (0, "109\n"), "district=none": (0, "76\n"), "language=es": (0, "157\n")}
    assert invoke("subscribers", "count", "--segment", "distrct=3") == (
        2,
        "Error: segment 'distrct=3': unknown key 'distrct': use district, district.SET, zip, language, tag or "
        "field.NAME\n",
    )
    assert invoke("subscribers", "count", "--segment", "district=8") == (
        2,
        "Error: segment 'district=8': no district '8' in officials.yaml (known: 1, 2, 3, 4, 5, 6, 7): use one of "
        "them, or none for members without a district\n",
    )


def test_export_and_import_back(project: Path, databases: Databases) -> None:
    shutil.copy(SAMPLE, project / "members.csv")
    invoke("subscribers", "import", "members.csv")
    invoke("subscribers", "unsubscribe", "dmitri.walker@example.net", "--reason", "moving")
    assert invoke("subscribers", "export", "--all", "-o", "backup.csv") == (0, "Wrote backup.csv (1000 subscribers)\n")
    code, output = invoke("subscribers", "export", "--segment", "district=3 tag=host")
    assert code == 0 and output.splitlines()[0] == (
        "email,first_name,last_name,district,zip,language,tags,status,status_changed_at,status_reason,source,created_at"
    )
    assert len(output.splitlines()) == 1 + 7
    restored = databases.switch(project / "restored.db", settings=project / "actionmail.toml")
    assert invoke("subscribers", "import", "backup.csv") == (
        0,
        "not to be sent to: 1 unsubscribed\nadded 1000, updated 0, unchanged 0, skipped 0\n",
    )
    assert invoke("subscribers", "export", "--all", "-o", "again.csv") == (0, "Wrote again.csv (1000 subscribers)\n")
    assert (project / "again.csv").read_text() == (project / "backup.csv").read_text()
    with Store.open(restored) as store:
        dmitri = store.get("dmitri.walker@example.net")
        assert dmitri is not None and (dmitri.status, dmitri.status_reason) == (Status.UNSUBSCRIBED, "moving")


def test_suppress(project: Path) -> None:
    write(
        project,
        "m.csv",
        """\
        email
        maria.garcia@example.org
        wei.chen@example.net
        james.smith@example.com
        linda.brown@example.com
        """,
    )
    invoke("subscribers", "import", "m.csv")
    shutil.copy(FIXTURES / "sendgrid-events.json", project)
    assert invoke("subscribers", "suppress", "sendgrid-events.json") == (
        0,
        "sendgrid-events.json: SendGrid event webhook, 7 records\n"
        "suppressed 4 (2 bounced, 1 complained, 1 unsubscribed), already suppressed 0, ignored 3\n"
        "2 active subscribers are no longer sent to\n",
    )
    assert invoke("subscribers", "suppress", "sendgrid-events.json") == (
        0,
        "sendgrid-events.json: SendGrid event webhook, 7 records\n"
        "suppressed 0, already suppressed 4, ignored 3\n"
        "0 active subscribers are no longer sent to\n",
    )
    assert invoke("subscribers", "count") == (0, "2\n")
    shutil.copy(FIXTURES / "sendgrid-posts.ndjson", project)
    assert invoke("subscribers", "suppress", "sendgrid-posts.ndjson") == (
        3,
        "sendgrid-posts.ndjson:3: [0]: 'not-an-address' is not a valid email address (An email address must have "
        "an @-sign.): nothing suppressed\n"
        "sendgrid-posts.ndjson: SendGrid event webhook, 4 records\n"
        "suppressed 0, already suppressed 2, ignored 1\n"
        "0 active subscribers are no longer sent to\n",
    )


def test_suppress_of_an_unknown_file(project: Path) -> None:
    write(project, "contacts.csv", "Name,Phone\nAna,206-555-0100\n")
    code, output = invoke("subscribers", "suppress", "contacts.csv")
    assert code == 2
    assert output.startswith(
        "contacts.csv: no record of a shape actionmail understands: pass one of: Mailgun webhook or Events API JSON"
    )


def test_subscribers_help(project: Path) -> None:
    code, output = invoke("subscribers", "--help")
    assert code == 0
    assert [line.split()[0] for line in output.split("Commands:\n")[1].splitlines()] == [
        "add",
        "count",
        "export",
        "import",
        "list",
        "resubscribe",
        "show",
        "suppress",
        "suppressions",
        "unsubscribe",
    ]
    readme = (ROOT / "README.md").read_text()
    for command in [
        "import",
        "add",
        "unsubscribe",
        "resubscribe",
        "list",
        "count",
        "export",
        "suppress",
        "suppressions list",
        "suppressions remove",
    ]:
        assert f"actionmail subscribers {command}" in readme


def test_unsubscribe_refuses_what_is_not_an_address(project: Path) -> None:
    assert invoke("subscribers", "unsubscribe", "not an email at all") == (
        2,
        "Error: 'not an email at all' is not a valid email address (An email address must have an @-sign.): check it\n",
    )
    assert invoke("subscribers", "suppressions", "list") == (
        0,
        "0 addresses that are not members on the suppression list\n",
    )
    assert invoke("subscribers", "unsubscribe") == (
        2,
        "Error: give the address to unsubscribe, or --token with an unsubscribe link's token, not both: e.g. "
        "actionmail subscribers unsubscribe ana@example.org\n",
    )


def test_unsubscribe_by_token(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from actionmail import tokens
    from actionmail.config import load_project

    monkeypatch.setenv("ACTIONMAIL_SECRET_KEY", "k" * 32)
    invoke("subscribers", "add", "ana@example.org")
    invoke("subscribers", "add", "bo@example.org")
    settings = load_project(project).settings.email
    with Store.open(project / "actionmail.db") as store:
        bo = store.get("bo@example.org")
        assert bo is not None
    token = tokens.make(b"k" * 32, settings.list_id, bo.id, bo.email)
    link = settings.unsubscribe_url.format(token=token)
    assert invoke("subscribers", "unsubscribe", "--token", f"  {link}\n", "--reason", "forwarded the link") == (
        0,
        "Unsubscribed bo@example.org\n",
    )
    code, output = invoke("subscribers", "unsubscribe", "--token", token)
    assert code == 0 and output.startswith("bo@example.org was already unsubscribed since 20")
    forged = f"1.{token.split('.')[1]}"
    assert invoke("subscribers", "unsubscribe", "--token", forged) == (
        2,
        f"Error: '{forged}' is not an unsubscribe token of this list (it is cut short or altered, was made with "
        "another secret key, or its member was deleted): unsubscribe them by address instead\n",
    )
    assert invoke("subscribers", "unsubscribe", "ana@example.org", "--token", token)[0] == 2
    with Store.open(project / "actionmail.db") as store:
        assert [m.email for m in store.subscribers()] == ["ana@example.org"]


def test_suppressions_list_and_remove(project: Path) -> None:
    invoke("subscribers", "add", "ana@example.org")
    invoke("subscribers", "unsubscribe", "ana@example.org", "--reason", "asked by reply")
    invoke("subscribers", "unsubscribe", "zed@example.org", "--reason", "at the door")
    code, output = invoke("subscribers", "suppressions", "list")
    today = output.split()[7]
    assert (code, output) == (
        0,
        "ADDRESS          REASON        SINCE       SOURCE   DETAIL\n"
        f"zed@example.org  unsubscribed  {today}  by hand  at the door\n"
        "1 address that is not a member on the suppression list\n",
    )
    code, output = invoke("subscribers", "suppressions", "list", "--all")
    assert output.splitlines()[1:] == [
        f"ana@example.org  unsubscribed  {today}  by hand  asked by reply  yes",
        f"zed@example.org  unsubscribed  {today}  by hand  at the door",
        "2 addresses on the suppression list",
    ]
    assert invoke("subscribers", "suppressions", "remove", "ZED@example.org") == (
        0,
        "Removed ZED@example.org (unsubscribed) from the suppression list; an import or add can make it a member\n",
    )
    assert invoke("subscribers", "suppressions", "remove", "ana@example.org") == (
        0,
        "Removed ana@example.org (unsubscribed) from the suppression list; the member is still unsubscribed "
        "(actionmail subscribers resubscribe ana@example.org --reason '…' makes them active)\n",
    )
    assert invoke("subscribers", "suppressions", "remove", "zed@example.org") == (
        2,
        "Error: 'zed@example.org' is not on the suppression list: nothing to do (see actionmail subscribers "
        "suppressions list)\n",
    )
    assert invoke("subscribers", "add", "zed@example.org") == (0, "Added zed@example.org\n")


def test_export_all_says_how_many_suppressed_addresses_it_holds(project: Path, databases: Databases) -> None:
    invoke("subscribers", "add", "ana@example.org")
    invoke("subscribers", "unsubscribe", "zed@example.org")
    assert invoke("subscribers", "export", "--all", "-o", "backup.csv") == (
        0,
        "Wrote backup.csv (1 subscriber, 1 address that is not a member on the suppression list)\n",
    )
    databases.switch(project / "restored.db", settings=project / "actionmail.toml")
    assert invoke("subscribers", "import", "backup.csv") == (
        0,
        "suppression list: 1 address that is not a member added\nadded 1, updated 0, unchanged 0, skipped 0\n",
    )
    assert invoke("subscribers", "add", "zed@example.org")[1].startswith("Added zed@example.org (unsubscribed since")
