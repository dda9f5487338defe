"""Mail providers: one module each, chosen by name with ``[send] provider`` or ``--provider``.

Modules are imported only when chosen, so a send through the outbox never loads an HTTP stack. What each
provider's ``[providers.NAME]`` section may hold is the settings file's business (:mod:`actionmail.config.providers`,
which names the same providers as :data:`REGISTRY`): providers build on config, never the reverse.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping

from actionmail import load
from actionmail.config import SETTINGS_FILE, Project
from actionmail.errors import InvalidInput, UsageError
from actionmail.providers.base import Provider

__all__ = ["REGISTRY", "Provider", "build", "provider_class"]

# name → "module:Class"
REGISTRY = {
    "outbox": "actionmail.providers.outbox:Outbox",
    "smtp": "actionmail.providers.smtp:SMTP",
    "mailgun": "actionmail.providers.mailgun:Mailgun",
    "sendgrid": "actionmail.providers.sendgrid:SendGrid",
    "postmark": "actionmail.providers.postmark:Postmark",
    "ses": "actionmail.providers.ses:SES",
    "resend": "actionmail.providers.resend:Resend",
    "brevo": "actionmail.providers.brevo:Brevo",
}


# Providers whose library is installed only on request: name → (the package, the extra that installs it).
EXTRAS = {"ses": ("botocore", "ses")}


def provider_class(name: str) -> type[Provider]:
    if name not in REGISTRY:
        raise UsageError(f"unknown provider '{name}': use one of {', '.join(REGISTRY)}")
    module, _, cls = REGISTRY[name].partition(":")
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError as e:
        package, extra = EXTRAS.get(name, ("", ""))
        if not package or (e.name or "").partition(".")[0] != package:
            raise
        raise UsageError(
            f"the {name} provider needs {package}, which is not installed: pip install 'actionmail[{extra}]'"
        ) from None
    provider: type[Provider] = getattr(imported, cls)
    return provider


def build(project: Project, name: str | None = None, environ: Mapping[str, str] | None = None) -> Provider:
    """The provider ``name`` (default: ``[send] provider``) with its ``[providers.NAME]`` settings checked.

    Its secrets are read when it first sends, from ``environ`` (default: the process environment).
    """
    name = name or project.settings.send.provider
    cls = provider_class(name)
    data = project.settings.providers.get(name, {})
    settings_file = project.settings_file or project.root / SETTINGS_FILE
    context = {"root": project.root}
    lines = project.settings_lines
    try:
        settings = load.validate(cls.settings_model, data, lines, settings_file, context, ("providers", name))
    except InvalidInput as e:
        if data:
            raise
        # The section isn't there at all: say so, rather than "add 'domain:'" with nowhere to add it.
        raise InvalidInput(
            dataclasses.replace(
                p, fix=f"add a [providers.{name}] section to actionmail.toml with {p.key.rpartition('.')[2]} = …"
            )
            for p in e.problems
        ) from None
    return cls(settings, environ)
