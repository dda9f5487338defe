"""What ``[providers.NAME]`` in actionmail.toml may hold: each mail provider's non-secret settings.

They belong to the settings file, not to the providers: ``check`` validates every section, whichever provider is
in use, and must do so without importing a provider (an HTTP stack, or botocore for SES). The providers
(:mod:`actionmail.providers`) build on these models, never the reverse; their secrets come from the environment.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from actionmail.fields import Model, error

SMTP_PASSWORD = "ACTIONMAIL_SMTP_PASSWORD"  # named in SMTPSettings' description; read by the smtp provider


class ProviderSettings(Model):
    """A provider's non-secret settings, from ``[providers.NAME]`` in actionmail.toml."""


class OutboxSettings(ProviderSettings):
    directory: str = Field("outbox", description="Where the folders of .eml files go, relative to actionmail.toml.")

    @field_validator("directory")
    @classmethod
    def _from_project_root(cls, value: str, info: ValidationInfo) -> str:
        root = (info.context or {}).get("root")
        return str(Path(root) / value) if root is not None and not Path(value).is_absolute() else value


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SMTPSettings(ProviderSettings):
    host: str = Field(description="The mail server, e.g. email-smtp.us-east-1.amazonaws.com or smtp.resend.com.")
    port: int | None = Field(None, ge=1, le=65535, description="Default 587 (starttls) or 465 (tls).")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description='"starttls" (port 587), "tls" (implicit TLS, port 465), or "none" (only for localhost).',
    )
    username: str | None = Field(None, description=f"Log in as this user, with the password from {SMTP_PASSWORD}.")
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for the server at each step.")
    ca_file: str | None = Field(None, description="PEM certificates to trust besides the system's (a private CA).")

    @field_validator("security")
    @classmethod
    def _plaintext_only_locally(cls, value: str, info: ValidationInfo) -> str:
        host = str(info.data.get("host", ""))
        if value == "none" and not _loopback(host):
            raise error(
                "security",
                f'security = "none" would send the password and every message unencrypted to {host}',
                'use "starttls" (port 587) or "tls" (port 465); "none" is only for a server on this machine',
            )
        return value

    @field_validator("ca_file")
    @classmethod
    def _from_project_root(cls, value: str | None, info: ValidationInfo) -> str | None:
        root = (info.context or {}).get("root")
        return str(Path(root) / value) if value and root is not None and not Path(value).is_absolute() else value


class HTTPSettings(ProviderSettings):
    base_url: str = Field(description="The API's address; change it for another region (e.g. Mailgun EU).")
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for the provider to answer a call.")


def _check_domain(value: str) -> str:
    # A '/' in the domain makes Mailgun answer 200 "Mailgun Magnificent API" and send nothing (anymail).
    if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", value):
        raise error(
            "domain",
            f"'{value}' is not a sending domain",
            "write the domain as Mailgun lists it, like mg.example.org, without https:// or a path",
        )
    return value


class MailgunSettings(HTTPSettings):
    base_url: str = Field(
        "https://api.mailgun.net",
        description="Mailgun's API; a domain in Mailgun's EU region uses https://api.eu.mailgun.net.",
    )
    domain: Annotated[str, AfterValidator(_check_domain)] = Field(
        description="The sending domain as Mailgun lists it, e.g. mg.example.org."
    )


class SendGridSettings(HTTPSettings):
    base_url: str = Field(
        "https://api.sendgrid.com", description="SendGrid's API; EU regional subusers use https://api.eu.sendgrid.com."
    )


class PostmarkSettings(HTTPSettings):
    base_url: str = Field("https://api.postmarkapp.com", description="Postmark's API.")
    message_stream: str = Field(
        "broadcast",
        min_length=1,
        description="The message stream's ID. Newsletters belong in a Broadcast stream; 'outbound' is the default "
        "transactional one.",
    )


class SESSettings(ProviderSettings):
    region: str = Field(description="The AWS region of your SES account, e.g. us-east-1.")
    base_url: str | None = Field(
        None, description="The API's address, if not SES's own for the region (e.g. a VPC endpoint)."
    )
    configuration_set: str | None = Field(None, description="An SES configuration set, for event publishing.")
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for SES to answer a call.")


class ResendSettings(HTTPSettings):
    base_url: str = Field("https://api.resend.com", description="Resend's API.")


class BrevoSettings(HTTPSettings):
    base_url: str = Field("https://api.brevo.com", description="Brevo's API.")


# Provider name → the model of its [providers.NAME] section. The same names as actionmail.providers.REGISTRY (a
# test holds them together), in the order error messages list them.
SETTINGS_MODELS: dict[str, type[ProviderSettings]] = {
    "outbox": OutboxSettings,
    "smtp": SMTPSettings,
    "mailgun": MailgunSettings,
    "sendgrid": SendGridSettings,
    "postmark": PostmarkSettings,
    "ses": SESSettings,
    "resend": ResendSettings,
    "brevo": BrevoSettings,
}
