"""actionmail.toml and officials.yaml: what a project may say, and the errors when it says it wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from actionmail.cli import main
from actionmail.config import Settings, load_project
from tests.conftest import write

SETTINGS = """\
[organization]
name = "Test Org"
timezone = "America/Los_Angeles"

[colors]
brand = "#1f4e79"
"""

OFFICIALS = """\
officials:
  - id: mosqueda
    name: Teresa Mosqueda
    title: Councilmember
    phones: [{label: City Hall, number: "206-684-8808"}]
  - id: gonzalez
    name: M. Lorena González
    title: Councilmember
groups:
  - id: at-large
    label: our at-large councilmembers
    members: [mosqueda, gonzalez]
"""

NEWSLETTER = """\
date: 2019-08-01
subject: Call the council
preheader: Call the at-large councilmembers today.
headline: Call the council
actions:
  - kind: call
    title: Call
    targets: [{group: at-large}]
"""


def run_check(project: Path, settings: str = SETTINGS, officials: str = OFFICIALS) -> tuple[int, list[str]]:
    write(project, "actionmail.toml", settings)
    write(project, "officials.yaml", officials)
    write(project / "newsletters", "day.yaml", NEWSLETTER)
    result = CliRunner().invoke(main, ["check", "newsletters", "--as-of", "2019-08-01"])
    return result.exit_code, result.output.splitlines()


def test_valid_project(project: Path) -> None:
    # What every message needs besides (see docs/checks.md): a postal address, and a real From.
    settings = SETTINGS.replace("[colors]", 'postal_address = "PO Box 1, Seattle, WA 98101"\n\n[colors]')
    settings += '\n[email]\nfrom = "Test Org <action@testorg.org>"\n'
    assert run_check(project, settings) == (0, ["1 newsletter checked: no problems"])


def test_a_valid_project_without_an_address_or_a_from_cannot_send(project: Path) -> None:
    assert run_check(project) == (
        2,
        [
            "actionmail.toml: email.from: From action@example.org is an example address: mail from it is refused: "
            'set from = "Your organization <action@your-domain.org>" under [email]',
            "actionmail.toml:1: organization.postal_address: no postal address: the law (CAN-SPAM) and mailbox "
            'providers want one in every message: add postal_address = "street or PO box, city, state, zip" under '
            "[organization]",
            "1 newsletter checked: 2 errors",
        ],
    )


def test_secrets_are_refused_in_settings(project: Path) -> None:
    code, lines = run_check(
        project, SETTINGS + '\n[providers.mailgun]\ndomain = "mg.example.org"\napi_key = "key-123"\n'
    )
    assert code == 2
    assert lines[0] == (
        "actionmail.toml:10: providers.mailgun.api_key: secrets never go in actionmail.toml: remove it and set it "
        "as an environment variable (see the README)"
    )
    assert "key-123" not in "\n".join(lines)


def test_unknown_setting_names_its_line(project: Path) -> None:
    code, lines = run_check(project, SETTINGS.replace("timezone =", "timezon ="))
    assert (code, lines[0]) == (
        2,
        (
            "actionmail.toml:3: organization.timezon: unknown key: did you mean 'timezone'? (allowed here: name, "
            "website, postal_address, timezone, language, country, logo)"
        ),
    )


def test_bad_colour_and_timezone(project: Path) -> None:
    code, lines = run_check(project, SETTINGS.replace('"#1f4e79"', '"navy"').replace("America/Los_Angeles", "Pacific"))
    assert code == 2
    assert lines[:2] == [
        "actionmail.toml:3: organization.timezone: 'Pacific' is not a time zone: use an IANA name such as "
        "America/Los_Angeles or America/New_York",
        "actionmail.toml:6: colors.brand: 'navy' is not in the expected form: see docs/newsletter-format.md for "
        "this key",
    ]


def test_toml_syntax_error(project: Path) -> None:
    code, lines = run_check(project, '[organization]\nname = "Unclosed\n')
    assert code == 2
    assert lines[0].startswith("actionmail.toml:2: TOML syntax error: ")


def test_group_member_must_exist(project: Path) -> None:
    code, lines = run_check(project, officials=OFFICIALS.replace("[mosqueda, gonzalez]", "[mosqueda, gonzales]"))
    assert (code, lines[0]) == (
        2,
        ("officials.yaml:12: groups[0].members: 'gonzales' is not in officials: did you mean 'gonzalez'?"),
    )


def test_bad_phone_in_officials(project: Path) -> None:
    code, lines = run_check(project, officials=OFFICIALS.replace('"206-684-8808"', '"684-8808"'))
    assert (code, lines[0]) == (
        2,
        (
            "officials.yaml:5: officials[0].phones[0].number: '684-8808' is not a valid phone number: write it with its "
            "area code, like +1 201-555-0123"
        ),
    )


def test_per_district_group_needs_districts_and_lookup(project: Path) -> None:
    officials = OFFICIALS.replace(
        "    members: [mosqueda, gonzalez]", "    members: [mosqueda, gonzalez]\n    per_district: true"
    )
    code, lines = run_check(project, officials=officials)
    assert (code, lines[0]) == (
        2,
        (
            "officials.yaml:10: groups[0]: a per-district group needs a lookup link for readers whose district is "
            "unknown: add 'lookup: {text: Find your district, url: https://…}'"
        ),
    )


def test_without_settings_the_defaults_apply(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "day.yaml", "date: 2019-08-01\n")
    project = load_project(tmp_path / "day.yaml")
    assert project.settings == Settings()
    assert project.settings_file is None
    assert project.officials.officials == []


@pytest.mark.parametrize("key", ["api-key", "sendgrid_api_key_value", "ApiKey", "smtp_password", "auth-token"])
def test_secrets_are_refused_under_every_provider_in_use_or_not(project: Path, key: str) -> None:
    # The provider in use is the outbox: [providers.sendgrid] is not, and was never looked at.
    settings = SETTINGS + f'\n[send]\nprovider = "outbox"\n\n[providers.sendgrid]\n{key} = "hunter2-not-a-real-key"\n'
    code, lines = run_check(project, settings)
    assert (code, lines[0]) == (
        2,
        f"actionmail.toml:12: providers.sendgrid.{key}: secrets never go in actionmail.toml: remove it and set it as "
        "an environment variable (see the README)",
    )
    assert "hunter2" not in "\n".join(lines)


def test_a_value_that_is_a_key_is_refused_whatever_its_name(project: Path) -> None:
    fake = "SG." + "x" * 22 + "." + "y" * 43  # the form of a SendGrid key; not one
    code, lines = run_check(project, SETTINGS + f'\n[providers.mailgun]\ndomain = "{fake}"\n')
    assert (code, lines[0]) == (
        2,
        "actionmail.toml:9: providers.mailgun.domain: this looks like a SendGrid API key: secrets never go in "
        "actionmail.toml: remove it and set it as an environment variable (see the README)",
    )
    assert fake not in "\n".join(lines)


def test_every_provider_section_is_checked(project: Path) -> None:
    settings = SETTINGS + (
        '\n[providers.mailgun]\ndomain = "mg.example.org"\nregion = "eu"\n'
        '\n[providers.smtp]\nhost = "smtp.example.org"\nport = "submission"\n'
        '\n[providers.mailgunn]\ndomain = "mg.example.org"\n'
    )
    code, lines = run_check(project, settings)
    assert (code, lines[:-1]) == (
        2,
        [
            "actionmail.toml:10: providers.mailgun.region: unknown key: remove it, or check its spelling (allowed "
            "here: base_url, timeout, domain)",
            "actionmail.toml:14: providers.smtp.port: 'submission' is not a whole number: write a number such as 3",
            "actionmail.toml:16: providers.mailgunn: there is no provider 'mailgunn': did you mean 'mailgun'? use one "
            "of: outbox, smtp, mailgun, sendgrid, postmark, ses, resend, brevo",
        ],
    )


def test_the_provider_in_use_must_exist(project: Path) -> None:
    code, lines = run_check(project, SETTINGS + '\n[send]\nprovider = "sendgird"\n')
    assert (code, lines[:-1]) == (
        2,
        [
            "actionmail.toml:9: send.provider: 'sendgird' is not a provider: did you mean 'sendgrid'? use one of: "
            "outbox, smtp, mailgun, sendgrid, postmark, ses, resend, brevo"
        ],
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param(
            SETTINGS + "\n[social]\nx = " + "[" * 2000 + "]" * 2000 + "\n",
            "actionmail.toml:9: arrays and tables nested more than 10 deep: check the brackets",
            id="deep-brackets",
        ),
        pytest.param(
            SETTINGS + "\n[x]\ny = " + "[" * 20 + "]" * 20 + "\n",
            "actionmail.toml:9: x.y[0]: arrays and tables nested more than 10 deep: check the brackets",
            id="deep",
        ),
        pytest.param(
            "send.provider.x = 1\n" + SETTINGS,
            "actionmail.toml:1: send.provider: expected text: write text here (put it in quotes if it looks like a "
            "number or yes/no)",
            id="dotted-key",
        ),
        pytest.param(
            SETTINGS.replace("[colors]", "[colours]"),
            "actionmail.toml:5: colours: unknown key: did you mean 'colors'? (allowed here: officials, templates, "
            "organization, email, colors, social, audience, database, send, check, signup, providers, web)",
            id="unknown-table",
        ),
        pytest.param(
            SETTINGS + "\n[oroviders.mailgun]\n",
            "actionmail.toml:8: oroviders: unknown key: did you mean 'providers'? (allowed here: officials, templates, "
            "organization, email, colors, social, audience, database, send, check, signup, providers, web)",
            id="unknown-table-of-a-table",
        ),
        pytest.param(
            "providers = 3\n" + SETTINGS,
            "actionmail.toml:1: providers: expected a mapping of keys: write 'key: value' lines, indented under this "
            "key",
            id="wrong-type",
        ),
        pytest.param(
            SETTINGS.replace('"Test Org"', '"Test\x00Org"'),
            "actionmail.toml:2: the file contains a control character (U+0000) at column 13: remove it",
            id="nul",
        ),
    ],
)
def test_hostile_settings(project: Path, settings: str, expected: str) -> None:
    code, lines = run_check(project, settings)
    assert (code, lines[0]) == (2, expected)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            'web_version_url = "https://example.org/{year}/{mofth}/{slug}"',
            "actionmail.toml:9: email.web_version_url: {mofth} is not a field here: use {date}, {year}, {month}, "
            "{day}, {slug}",
            id="unknown-field",
        ),
        pytest.param(
            'web_version_url = "https://example.org/{year/{slug}"',
            "actionmail.toml:9: email.web_version_url: a brace that doesn't pair: use {date}, {year}, {month}, {day}, "
            "{slug}; write {{ or }} for a brace",
            id="lone-brace",
        ),
        pytest.param(
            'unsubscribe_url = "https://example.org/unsubscribe"',
            "actionmail.toml:9: email.unsubscribe_url: {token} is missing: put {token} where it goes in the URL",
            id="no-token",
        ),
    ],
)
def test_url_templates_have_only_their_fields(project: Path, line: str, expected: str) -> None:
    # These were filled in with str.format when rendering: a misspelt field was a KeyError traceback.
    code, lines = run_check(project, SETTINGS + f"\n[email]\n{line}\n")
    assert (code, lines[0]) == (2, expected)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param(
            SETTINGS + '\n[email]\nweb_version_url = "https://www.example]org.org/{year}/{slug}"\n',
            "actionmail.toml:9: email.web_version_url: 'https://www.example]org.org/{year}/{slug}' is not a web "
            "address: write the whole address, starting with https://, with {date}, {year}, {month}, {day}, {slug} "
            "where they go",
            id="url-template-not-a-url",
        ),
        pytest.param(
            SETTINGS.replace('"Test Org"', '"Test\\u0000Org"'),
            "actionmail.toml:2: organization.name: the text contains a control character (U+0000), written as an "
            "escape: remove it",
            id="escaped-nul",
        ),
    ],
)
def test_settings_that_broke_the_render(project: Path, settings: str, expected: str) -> None:
    # Found by the settings fuzz: each was a traceback in the render (urllib's "Invalid IPv6 URL", the MJML parser).
    code, lines = run_check(project, settings)
    assert (code, lines[0]) == (2, expected)
