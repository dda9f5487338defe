"""The organization's settings (``actionmail.toml`` at the project root) and the project around them.

The settings file holds only what may be public: names, addresses, colours, URLs. Secrets (provider API keys,
the unsubscribe-token key) come from environment variables or a 0600 key file, never from here; a key that
looks like a secret is refused with the variable to use instead.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from actionmail import load
from actionmail.errors import InvalidInput, Problem, shown
from actionmail.fields import Email, Model, Slug, Text, TimeZone, Url
from actionmail.newsletter import Language
from actionmail.officials import EMPTY, Directory, load_directory

SETTINGS_FILE = "actionmail.toml"

Color = Annotated[str, Field(pattern=r"^#(?:[0-9a-fA-F]{3}){1,2}$", description="A hex colour like #1f4e79.")]


class Logo(Model):
    url: Url
    alt: Text = Field(description="Text for readers who don't see images: usually the organization's name.")
    width: Annotated[int, Field(gt=0, le=600)] = 120


class Organization(Model):
    name: Text = "Your organization"
    website: Url | None = None
    postal_address: Text | None = Field(None, description="Street address or PO box; required by CAN-SPAM.")
    timezone: TimeZone = "America/Los_Angeles"
    language: Language = "en"
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = Field("US", description="For phone numbers without +.")
    logo: Logo | None = None


class EmailSettings(Model):
    from_: Text = Field("Your organization <action@example.org>", alias="from")
    reply_to: Email | None = None
    web_version_url: Text | None = Field(
        None,
        description="Where the web version lives; {date} and {slug} are filled in, e.g. https://…/{date}/.",
    )
    unsubscribe_url: Text = Field(
        "https://example.org/unsubscribe/{token}",
        description="The one-click unsubscribe URL; {token} is per reader.",
    )
    list_id: Slug = Field(
        "daily-action", description="Names this list: in unsubscribe tokens, and the List-Id header of each message."
    )
    unsubscribe_mailto: Email | None = Field(
        None,
        description="The address of the mailto in List-Unsubscribe, beside the one-click URL; reply_to if unset.",
    )


class Colors(Model):
    brand: Color = "#1f4e79"
    text: Color = "#222222"
    background: Color = "#f4f4f4"
    card: Color = "#ffffff"
    link: Color = "#1a5c99"
    button_text: Color = "#ffffff"


class Social(Model):
    name: Text
    url: Url


class Audience(Model):
    database: Text = Field(
        "actionmail.db",
        description="The subscriber database (SQLite), relative to this file. Keep it out of version control.",
    )


class SendSettings(Model):
    provider: Text = Field("outbox", description="Who delivers: outbox, smtp, mailgun, sendgrid, postmark, ses, …")
    concurrency: Annotated[int, Field(ge=1, le=64)] = Field(4, description="Provider calls at once.")
    rate: Annotated[float, Field(gt=0)] | None = Field(None, description="At most this many messages a second.")


class CheckSettings(Model):
    sending_domain: Text | None = Field(
        None, description="The domain mail is sent from (SPF/DKIM); the From address must be on it. Default: From's."
    )
    verified_within_days: Annotated[int, Field(ge=1)] = Field(
        365, description="Warn about an official whose details were last verified longer ago than this."
    )
    spamassassin: bool = Field(True, description="Score each newsletter with SpamAssassin when it is installed.")


class Settings(Model):
    officials: Text = Field("officials.yaml", description="The directory of officials, relative to this file.")
    templates: Text = Field("templates", description="Your own templates, which override the built-ins file by file.")
    organization: Organization = Organization()
    email: EmailSettings = EmailSettings()
    colors: Colors = Colors()
    social: list[Social] = []
    audience: Audience = Audience()
    send: SendSettings = SendSettings()
    check: CheckSettings = CheckSettings()
    providers: dict[str, dict[str, Any]] = Field(
        {}, description="[providers.NAME]: each provider's own settings, checked when it is used."
    )


_SECRET = re.compile(r"(api_?key|secret|password|passwd|token)$", re.IGNORECASE)


@dataclass(frozen=True)
class Project:
    """Where an organization's files live, and what was read from them."""

    root: Path
    settings: Settings = field(default_factory=Settings)
    officials: Directory = EMPTY
    settings_file: Path | None = None
    settings_lines: load.Lines = field(default_factory=dict)  # for errors in sections read later ([providers])

    @property
    def template_dir(self) -> Path:
        return self.root / self.settings.templates


def find_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds an actionmail.toml."""
    start = start.resolve()
    for directory in [start, *start.parents] if start.is_dir() else start.parents:
        if (directory / SETTINGS_FILE).is_file():
            return directory
    return None


def load_project(start: Path) -> Project:
    """The project that ``start`` (a newsletter file or a directory) belongs to.

    Without an actionmail.toml anywhere above it, the built-in defaults apply and the current directory is
    the root, so a lone newsletter file still renders.
    """
    root = find_root(start)
    if root is None:
        root = Path.cwd()
        settings, settings_file = Settings(), None
        lines: load.Lines = {}
    else:
        settings_file = root / SETTINGS_FILE
        settings, lines = _read_settings(settings_file)
    officials = load_directory(root / settings.officials, settings.organization.country)
    return Project(root, settings, officials, settings_file, lines)


def load_settings(path: Path) -> Settings:
    return _read_settings(path)[0]


def _read_settings(path: Path) -> tuple[Settings, load.Lines]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.one(path, "not UTF-8 text", "save the file as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line = int(m[1]) if (m := re.search(r"line (\d+)", str(e))) else None
        raise InvalidInput.one(
            path, f"TOML syntax error: {e}", "see https://toml.io for the syntax", line=line
        ) from None
    lines = _toml_lines(text)
    secrets = [
        Problem(
            shown(path),
            lines.get(loc),
            load.dotted(loc),
            "secrets never go in actionmail.toml",
            "remove it and set it as an environment variable (see the README)",
        )
        for loc in _keys(data)
        if _SECRET.search(str(loc[-1]))
    ]
    if secrets:
        raise InvalidInput(secrets)
    return load.validate(Settings, data, lines, path, {}), lines


def _keys(data: Any, loc: load.Loc = ()) -> list[load.Loc]:
    if isinstance(data, dict):
        return [k for key, value in data.items() for k in [(*loc, key), *_keys(value, (*loc, key))]]
    if isinstance(data, list):
        return [k for index, value in enumerate(data) for k in _keys(value, (*loc, index))]
    return []


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\s\"']+?)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def _toml_lines(text: str) -> load.Lines:
    """Lines of tables and keys, for error messages; tomllib keeps no positions.

    Handles the forms a settings file uses ([table], [[array]], key = value); a key written some other way
    (dotted, inside an inline table) is reported at its table's line.
    """
    lines: load.Lines = {}
    table: load.Loc = ()
    counts: dict[load.Loc, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if m := _HEADER.match(line):
            names: load.Loc = tuple(part.strip().strip("\"'") for part in m[2].split("."))
            if m[1] == "[[":
                counts[names] = counts.get(names, -1) + 1
                names = (*names, counts[names])
            table = names
            lines.setdefault(table, number)
        elif m := _KEY.match(line):
            lines.setdefault((*table, m[1]), number)
    return lines
