"""The sign-up's emails, one at a time, through the configured provider (``[send] provider``: the outbox unless
the organization chose another), the way ``send --to`` sends its test copy: the confirmation with its link and,
with ``[signup] welcome``, the newsletter sent last (:mod:`actionmail.serve.welcome`).

The confirmation is a message of our own to one person (:attr:`Envelope.transactional`): no List-Unsubscribe (the
person is no member yet), ``Auto-Submitted: auto-generated``. It carries nothing the form's visitor typed but the
address it goes to: a name field is anybody's text, and this email goes to whatever address was typed.

The provider is built on the first email (its module and HTTP stack imported then), once per process; its calls
block, so the service makes them in a worker thread.
"""

from __future__ import annotations

import email.utils
import threading
import uuid

from actionmail.config import Project
from actionmail.errors import ActionmailError
from actionmail.merge import Merge
from actionmail.providers.base import Batch, Envelope, Provider, Recipient, header_text
from actionmail.serve.pages import Pages

TAG = "signup"  # the provider's tag (the outbox's folder) for confirmations; their send id in webhooks too
SUBJECT = "Please confirm your subscription to %(list)s"


class NotSent(ActionmailError):
    """The provider did not take the email: the message says why (never the address)."""


class Mailer:
    def __init__(self, project: Project, pages: Pages) -> None:
        self.project = project
        self._pages = pages
        self._provider: Provider | None = None
        self._lock = threading.Lock()

    def provider(self) -> Provider:
        with self._lock:
            if self._provider is None:
                from actionmail import providers

                self._provider = providers.build(self.project)
            return self._provider

    def envelope(self, tag: str, send_id: str, *, transactional: bool) -> Envelope:
        settings = self.project.settings
        _, sender = email.utils.parseaddr(settings.email.from_)
        return Envelope(
            from_=header_text(settings.email.from_),
            reply_to=header_text(settings.email.reply_to) if settings.email.reply_to else None,
            list_id=header_text(
                f"{settings.organization.name} <{settings.email.list_id}.{sender.rpartition('@')[2] or 'localhost'}>"
            ),
            tag=tag,
            send_id=send_id,
            unsubscribe_mailto=None if transactional else settings.email.unsubscribe_mailto,
            transactional=transactional,
        )

    def confirmation(self, key: str, address: str, url: str, language: str | None, link_hours: int) -> str:
        """Send the confirmation email for sign-up ``key`` to ``address``; the provider's message id."""
        env, lang = self._pages.environment(language or self.project.settings.organization.language)
        settings = self.project.settings
        values = {
            "org": settings.organization,
            "colors": settings.colors,
            "list_name": settings.organization.name,
            "address": address,
            "url": url,
            "link_hours": link_hours,
            "lang": lang,
        }
        subject = env.from_string("{{ _(subject, list=list_name) }}").render(values, subject=SUBJECT)
        text = env.get_template("serve/signup-email.txt").render(values)
        html = env.get_template("serve/signup-email.html").render(values)
        return self.send_one(self.envelope(TAG, TAG, transactional=True), key, address, None, subject, html, text)

    def send_one(
        self,
        envelope: Envelope,
        key: str,
        address: str,
        name: str | None,
        subject: str | Merge,
        html: str | Merge,
        text: str | Merge,
        values: dict[str, str | None] | None = None,
    ) -> str:
        """One message to one person; the provider's message id, or :class:`NotSent`. Text given as ``str`` is
        sent as it is (no merge field in it is filled in: the confirmation's text has none, and a brace in an
        organization's name must stay a brace)."""
        recipient = Recipient(key, address, name, values or {})
        batch = Batch(uuid.uuid4().hex, envelope, _merge(subject), _merge(html), _merge(text), [recipient])
        result = self.provider().send(batch)
        if key not in result.accepted:
            raise NotSent(f"{self.provider().name} refused it: {result.rejected.get(key, 'no reason given')}")
        return result.accepted[key]


def _merge(text: str | Merge) -> Merge:
    return text if isinstance(text, Merge) else Merge((text,), (), escape=False)
