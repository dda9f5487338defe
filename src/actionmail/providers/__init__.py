"""Mail providers: one module each, chosen by name with ``[send] provider`` or ``--provider``.

Modules are imported only when chosen, so a send through the outbox never loads an HTTP stack.
"""

from __future__ import annotations

import importlib

from actionmail.errors import UsageError
from actionmail.providers.base import Provider

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


def provider_class(name: str) -> type[Provider]:
    if name not in REGISTRY:
        raise UsageError(f"unknown provider '{name}': use one of {', '.join(REGISTRY)}")
    module, _, cls = REGISTRY[name].partition(":")
    provider: type[Provider] = getattr(importlib.import_module(module), cls)
    return provider
