"""The organization's settings (``actionmail.toml`` at the project root) and the project around them.

The settings file holds only what may be public: names, addresses, colours, URLs. Secrets (provider API keys,
the unsubscribe-token key) come from environment variables or a 0600 key file, never from here; a key that
looks like a secret is refused with the variable to use instead.
"""

from __future__ import annotations

import difflib
import re
import string
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from actionmail import load, syntax
from actionmail.config.providers import SETTINGS_MODELS
from actionmail.errors import InvalidInput, Problem, shown
from actionmail.fields import Email, Model, Slug, Text, TimeZone, Url, check_url, error
from actionmail.newsletter import Language
from actionmail.officials import EMPTY, Directory, load_directory

SETTINGS_FILE = "actionmail.toml"

Color = Annotated[str, Field(pattern=r"^#(?:[0-9a-fA-F]{3}){1,2}$", description="A hex colour like #1f4e79.")]


class Logo(Model):
    url: Url
    alt: Text = Field(description="Text for readers who don't see images: usually the organization's name.")
    width: Annotated[int, Field(gt=0, le=600)] = 120
    height: Annotated[int | None, Field(gt=0, le=600)] = Field(
        None,
        description="Height in pixels as shown (at `width`): the space kept for the logo while a mail client blocks "
        "images, and its size in Outlook. Without it the logo takes no room until it loads.",
    )
    dark_url: Url | None = Field(
        None, description="A version for dark mode (light on transparent), of the same size, shown where supported."
    )


class Organization(Model):
    name: Text = "Your organization"
    website: Url | None = None
    postal_address: Text | None = Field(None, description="Street address or PO box; required by CAN-SPAM.")
    timezone: TimeZone = "America/Los_Angeles"
    language: Language = "en"
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = Field("US", description="For phone numbers without +.")
    logo: Logo | None = None


def _fields(allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> AfterValidator:
    """A URL template filled in with str.format: only ``allowed`` fields in braces, and each of ``required``."""
    names = ", ".join(f"{{{name}}}" for name in allowed)

    def check(value: str) -> str:
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError:  # a lone '{' or '}'
            raise error(
                "url_template", "a brace that doesn't pair", f"use {names}; write {{{{ or }}}} for a brace"
            ) from None
        for name in sorted(used):
            if name not in allowed:
                raise error("url_template", f"{{{name}}} is not a field here", f"use {names}")
        for name in required:
            if name not in used:
                raise error("url_template", f"{{{name}}} is missing", f"put {{{name}}} where it goes in the URL")
        try:
            check_url(value.format(**dict.fromkeys(used, "1")))
        except PydanticCustomError:
            raise error("url", f"{syntax.shorten(value)} is not a web address", "write the whole address, starting "
                        f"with https://, with {names} where they go") from None  # fmt: skip
        return value

    return AfterValidator(check)


def _token_last(value: str) -> str:
    # actionmail serve adds each answer's path after the token (…/{token}/ISSUE/1/done): nothing may follow it.
    if not value.endswith("/{token}") or "?" in value or "#" in value:
        raise error(
            "url_template",
            "{token} must end it, after a '/', with no query",
            'write it like "https://www.example.org/act/{token}": each answer\'s path is added after the token',
        )
    return value


REPORT_PATH = "/act/{token}"  # where report links go when [email] report_url is left out: on unsubscribe_url's host


class EmailSettings(Model):
    from_: Text = Field("Your organization <action@example.org>", alias="from")
    reply_to: Email | None = None
    web_version_url: Annotated[Text, _fields(("date", "year", "month", "day", "slug"))] | None = Field(
        None,
        description="Where the web version lives; {date} and {slug} are filled in, e.g. https://…/{date}/.",
    )
    unsubscribe_url: Annotated[Text, _fields(("token",), required=("token",))] = Field(
        "https://example.org/unsubscribe/{token}",
        description="The one-click unsubscribe URL; {token} is per reader.",
    )
    report_url: Annotated[Text, _fields(("token",), required=("token",)), AfterValidator(_token_last)] | None = Field(
        None,
        description="Where the report-back and survey buttons that actionmail serve counts go; {token} is per reader. "
        "Default: /act/{token} on unsubscribe_url's host.",
    )
    list_id: Slug = Field(
        "daily-action", description="Names this list: in unsubscribe tokens, and the List-Id header of each message."
    )
    unsubscribe_mailto: Email | None = Field(
        None,
        description="An address whose mail is processed as unsubscribes, for a mailto in List-Unsubscribe beside the "
        "one-click URL; none is advertised unless it is set.",
    )

    @property
    def report_url_template(self) -> str:
        """``report_url``, or its default: :data:`REPORT_PATH` on the host of ``unsubscribe_url``, which the
        service that answers unsubscribes (`actionmail serve`) is already reachable at."""
        if self.report_url is not None:
            return self.report_url
        parts = urllib.parse.urlsplit(self.unsubscribe_url.replace("{token}", "TOKEN"))
        return f"{parts.scheme}://{parts.netloc}{REPORT_PATH}"


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


def _no_password(url: str | None) -> str | None:
    """A database URL with a password in it is refused: actionmail.toml is kept in version control."""
    if url is None:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("write a PostgreSQL URL: postgresql://USER@HOST:PORT/DATABASE")
    query = {k.lower() for k, _ in urllib.parse.parse_qsl(parts.query)}
    if parts.password is not None or "password" in query:
        raise ValueError(
            "no password here: actionmail.toml is shared; give it in PGPASSWORD or a 0600 ~/.pgpass, "
            "or put the whole URL in ACTIONMAIL_DATABASE_URL"
        )
    return url


class DatabaseSettings(Model):
    """``[database]``: where members, the ledger and what came back live, when not in the SQLite file."""

    url: Annotated[Text | None, AfterValidator(_no_password)] = Field(
        None,
        description="A PostgreSQL database shared by several hosts (postgresql://USER@HOST:PORT/DATABASE), "
        "without its password. ACTIONMAIL_DATABASE_URL overrides it. Unset: [audience] database, SQLite.",
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


class WebSettings(Model):
    """``[web]``: the web edition that `actionmail web build` writes (actionmail.web)."""

    output: Text = Field("site", description="Where the site is written, relative to this file.")
    signup_url: Url | None = Field(
        None,
        description="Where the web pages' Sign up link goes. Default: /signup on the host of [email] unsubscribe_url, "
        "which `actionmail serve` answers.",
    )
    page_size: Annotated[int, Field(ge=1, le=1000)] = Field(
        20, description="Newsletters on each page of the index, and in the feed."
    )
    title: Text | None = Field(
        None, description="The site's name, in its pages and its feed. Default: the organization's."
    )


class SignupSettings(Model):
    """``[signup]``: the sign-up form ``actionmail serve`` answers, confirmed by email (docs/serve.md)."""

    enabled: bool = Field(True, description="Answer the sign-up form on actionmail serve.")
    url: Url | None = Field(
        None,
        description="The sign-up page's public address; serve answers at its path. Default: /signup on the host of "
        "email.unsubscribe_url.",
    )
    origins: list[Url] = Field(
        [],
        description="Websites whose copy of the form (GET /signup/snippet) may post to it, besides "
        "organization.website.",
    )
    languages: list[Language] = Field(
        [], description="The languages the form offers. Default: the organization's, and those the templates have."
    )
    welcome: bool = Field(False, description="After the click, send the new member the newsletter sent last.")
    min_seconds: Annotated[float, Field(ge=0, le=600)] = Field(
        3.0, description="The least time between serving the form and its post: quicker posts are taken for a bot's."
    )
    link_hours: Annotated[int, Field(ge=1, le=336)] = Field(48, description="How long a confirmation link works.")
    address_minutes: Annotated[int, Field(ge=0, le=1440)] = Field(
        10, description="At most one confirmation email to an address in this many minutes."
    )
    address_per_day: Annotated[int, Field(ge=1, le=100)] = Field(
        5, description="At most this many confirmation emails to an address in 24 hours."
    )
    client_per_hour: Annotated[int, Field(ge=1, le=100_000)] = Field(
        20, description="At most this many sign-ups an hour from one network (an IPv4 address, an IPv6 /64)."
    )


class Settings(Model):
    officials: Text = Field("officials.yaml", description="The directory of officials, relative to this file.")
    templates: Text = Field("templates", description="Your own templates, which override the built-ins file by file.")
    organization: Organization = Organization()
    email: EmailSettings = EmailSettings()
    colors: Colors = Colors()
    social: list[Social] = []
    audience: Audience = Audience()
    database: DatabaseSettings = DatabaseSettings()
    send: SendSettings = SendSettings()
    check: CheckSettings = CheckSettings()
    signup: SignupSettings = SignupSettings()
    providers: dict[str, dict[str, Any]] = Field(
        {}, description="[providers.NAME]: each provider's own settings, checked whichever provider is in use."
    )
    web: WebSettings = WebSettings()


# A key whose name says it holds a secret, anywhere in its name and however it is spelt: api_key, api-key, ApiKey,
# sendgrid_api_key_value, smtp_password (names are compared with every run of other characters made one '_').
_SECRET = re.compile(r"api_?key|secret|passw(?:or)?d|token|credential|private_?key|access_?key")
# Values that are secrets whatever their key is called: the forms the providers' keys take.
_SECRET_VALUES = {
    "a SendGrid API key": re.compile(r"SG\.[\w-]{16,}\.[\w-]{16,}"),
    "a Mailgun API key": re.compile(r"key-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}"),
    "an AWS access key": re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}"),
    "a Brevo API key": re.compile(r"xkeysib-[0-9a-f]{64}-\w{16}"),
    "a Resend API key": re.compile(r"re_[A-Za-z0-9]{8,}_[A-Za-z0-9]{16,}"),
}


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


MAX_DEPTH = 10  # tables and arrays in one another: a settings file needs three


def _read_settings(path: Path) -> tuple[Settings, load.Lines]:
    text = syntax.read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line = int(m[1]) if (m := re.search(r"line (\d+)", str(e))) else None
        raise InvalidInput.one(
            path, f"TOML syntax error: {e}", "see https://toml.io for the syntax", line=line
        ) from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively, with no limit of its own
        raise InvalidInput.one(path, *_TOO_DEEP, line=_most_brackets(text)) from None
    lines = _toml_lines(text)
    keys = _keys(data)
    if too_deep := [loc for loc in keys if len(loc) > MAX_DEPTH]:
        raise InvalidInput.one(
            path, *_TOO_DEEP, line=load.line_for(too_deep[0], lines), key=load.dotted(too_deep[0][:3])
        )
    problems = [
        Problem(shown(path), load.line_for(loc, lines), load.dotted(loc), what, _SECRET_FIX)
        for loc, value in keys.items()
        if (what := _secret(loc, value))
    ]
    problems += [
        Problem(
            shown(path),
            load.line_for(loc, lines),
            load.dotted(loc),
            f"the text contains {syntax.describe(m[0])}, written as an escape",
            "remove it",
        )
        for loc, value in keys.items()
        if isinstance(value, str) and (m := syntax.NOT_IN_TEXT.search(value))
    ]
    if problems:
        raise InvalidInput(problems)
    settings = load.validate(Settings, data, lines, path, {})
    _check_providers(settings, path, lines)
    return settings, lines


_TOO_DEEP = (f"arrays and tables nested more than {MAX_DEPTH} deep", "check the brackets")
_SECRET_FIX = "remove it and set it as an environment variable (see the README)"


def _secret(loc: load.Loc, value: Any) -> str | None:
    """What makes this key or value a secret (never the value itself: error messages get printed and logged)."""
    if isinstance(loc[-1], str) and _SECRET.search(re.sub(r"[^a-z0-9]+", "_", loc[-1].lower())):
        return "secrets never go in actionmail.toml"
    if isinstance(value, str):
        for name, pattern in _SECRET_VALUES.items():
            if pattern.search(value):
                return f"this looks like {name}: secrets never go in actionmail.toml"
    return None


def _check_providers(settings: Settings, path: Path, lines: load.Lines) -> None:
    """Every [providers.NAME] section, whichever provider is in use: a mistake (or a secret) in one that is not
    in use today would otherwise wait for the day someone switches to it, when it's urgent."""
    # The models are this package's own (config.providers): checking a section imports no provider, nor its HTTP
    # stack or botocore.
    known = list(SETTINGS_MODELS)
    problems: list[Problem] = []
    if settings.send.provider not in known:
        problems.append(
            Problem(
                shown(path),
                load.line_for(("send", "provider"), lines),
                "send.provider",
                f"{syntax.shorten(settings.send.provider)} is not a provider",
                f"{_did_you_mean(settings.send.provider, known)}use one of: {', '.join(known)}",
            )
        )
    for name, section in settings.providers.items():
        if name not in known:
            problems.append(
                Problem(
                    shown(path),
                    load.line_for(("providers", name), lines),
                    f"providers.{name}",
                    f"there is no provider {syntax.shorten(name)}",
                    f"{_did_you_mean(name, known)}use one of: {', '.join(known)}",
                )
            )
            continue
        try:
            load.validate(SETTINGS_MODELS[name], section, lines, path, {"root": path.parent}, ("providers", name))
        except InvalidInput as e:
            problems += e.problems
    if problems:
        raise InvalidInput(problems)


def _did_you_mean(name: str, known: list[str]) -> str:
    guess = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"did you mean '{guess[0]}'? " if guess else ""


def _most_brackets(text: str) -> int:
    """The line with the most opening brackets: where nesting too deep to read most likely is."""
    counts = [line.count("[") + line.count("{") for line in text.split("\n")]
    return counts.index(max(counts)) + 1


def _keys(data: Any) -> dict[load.Loc, Any]:
    """Every key path in ``data`` and its value, table by table (not recursively: the nesting is not checked yet)."""
    found: dict[load.Loc, Any] = {}
    todo: list[tuple[load.Loc, Any]] = [((), data)]
    while todo:
        loc, value = todo.pop()
        if loc:
            found[loc] = value
        if len(loc) > MAX_DEPTH:
            continue
        if isinstance(value, dict):
            todo += [((*loc, key), item) for key, item in value.items()]
        elif isinstance(value, list):
            todo += [((*loc, index), item) for index, item in enumerate(value)]
    return found


_PART = r"""(?:[A-Za-z0-9_\-]+|"[^"\n]*"|'[^'\n]*')"""
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_PART}(?:\s*\.\s*{_PART})*)\s*\]\]?")
_KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")


def _parts(dotted: str) -> load.Loc:
    return tuple(part.strip("\"'") for part in re.findall(_PART, dotted))


def _toml_lines(text: str) -> load.Lines:
    """Lines of tables and keys, for error messages; tomllib keeps no positions.

    Handles the forms a settings file uses ([table], [[array]], key = value, dotted.key = value); a key inside
    an inline table is reported at the line of the key that holds the table.
    """
    lines: load.Lines = {}
    table: load.Loc = ()
    counts: dict[load.Loc, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if m := _HEADER.match(line):
            names = _parts(m[2])
            if m[1] == "[[":
                counts[names] = counts.get(names, -1) + 1
                names = (*names, counts[names])
            table = names
            _note(lines, table, number)
        elif m := _KEY.match(line):
            _note(lines, (*table, *_parts(m[1])), number)
    return lines


def _note(lines: load.Lines, loc: load.Loc, number: int) -> None:
    # [a.b] and a.b = 1 make the table 'a' too, if nothing else has: it is first written here.
    for end in range(1, len(loc) + 1):
        lines.setdefault(loc[:end], number)
