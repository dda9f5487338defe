"""Deliverability: what inbox providers and the law ask of every message (see docs/checks.md for the sources).

A subject of a readable length, a preheader, the organization's postal address, a visible unsubscribe link and
the one-click unsubscribe headers, and a From address on the domain the mail is sent from. Several of these are
settings in ``actionmail.toml``; problems with those point there.
"""

from __future__ import annotations

import email.utils
import functools
from collections.abc import Iterator

from publicsuffixlist import PublicSuffixList

from actionmail import load as yaml_source
from actionmail.check.draft import Draft
from actionmail.errors import Problem, Severity, shown
from actionmail.merge import Merge
from actionmail.render import UNSUBSCRIBE_URL

# Gmail shows about 70–78 characters of a subject on a wide screen; under 10 says too little to be opened.
SUBJECT_MIN, SUBJECT_MAX = 10, 78
# Domains reserved for examples and tests (RFC 2606): mail from them is refused or lost.
_EXAMPLE_DOMAINS = ("example.org", "example.com", "example.net", "example", "localhost", "invalid", "test")


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    # The list bundled with the package (publicsuffixlist is re-released as the list changes); nothing is
    # fetched at run time.
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """The domain a registrant holds: one label under its public suffix (RFC 7489 section 3.2).

    news.example.org → example.org, mail.example.co.uk → example.co.uk, a.b.github.io → b.github.io. A domain
    that is itself a public suffix (or not under one) is its own.
    """
    domain = domain.lower().strip(".")
    return _public_suffixes().privatesuffix(domain) or domain


def aligned(from_domain: str, sending_domain: str) -> bool:
    """DMARC's relaxed alignment: the From domain and the domain that signs the mail (SPF/DKIM) have the same
    organizational domain — news.example.org and mg.example.org align, example.org and example.net don't."""
    return organizational_domain(from_domain) == organizational_domain(sending_domain)


def _settings_problem(
    draft: Draft, loc: yaml_source.Loc, what: str, fix: str, severity: Severity = Severity.ERROR
) -> Problem:
    project = draft.project
    file = shown(project.settings_file) if project.settings_file else "actionmail.toml"
    line = yaml_source.line_for(loc, project.settings_lines) if project.settings_lines else None
    return Problem(file, line, yaml_source.dotted(loc), what, fix, severity)


def subject(draft: Draft) -> Iterator[Problem]:
    """A subject of 10 to 78 characters (merge fields counted as their fallbacks)."""
    for version in draft.rendered[:1]:
        text = Merge.parse(version.subject, escape=False).fill({})
        if len(text) > SUBJECT_MAX:
            yield draft.problem(
                ("subject",),
                f"the subject is {len(text)} characters; inboxes cut it off after about {SUBJECT_MAX}",
                f"shorten it to {SUBJECT_MAX} or fewer, the action first",
                Severity.WARNING,
            )
        elif len(text) < SUBJECT_MIN:
            yield draft.problem(
                ("subject",),
                f"the subject is only {len(text)} characters: too short to say what to do",
                f"say the action in {SUBJECT_MIN} to {SUBJECT_MAX} characters",
                Severity.WARNING,
            )


def preheader(draft: Draft) -> Iterator[Problem]:
    """The preheader is in the HTML (an organization's own template could leave it out)."""
    for version, document in zip(draft.rendered, draft.documents, strict=True):
        body = document.find("body")
        seen = " ".join((body.text_content() if body is not None else "").split())
        if " ".join(version.preheader.split()) not in seen:
            yield draft.problem(
                ("preheader",),
                "the preheader is not in the HTML: inboxes will show the first text of the email instead",
                "put {{ n.preheader }} first in your templates/email.mjml, as the built-in template does",
            )
            return


def postal_address(draft: Draft) -> Iterator[Problem]:
    """The organization's postal address, in the settings and in both parts of every email (CAN-SPAM)."""
    address = draft.project.settings.organization.postal_address
    if not address:
        yield _settings_problem(
            draft,
            ("organization", "postal_address"),
            "no postal address: the law (CAN-SPAM) and mailbox providers want one in every message",
            'add postal_address = "street or PO box, city, state, zip" under [organization]',
        )
        return
    wanted = " ".join(address.split())
    for version, document in zip(draft.rendered, draft.documents, strict=True):
        if wanted not in " ".join(document.text_content().split()) or wanted not in " ".join(version.text.split()):
            yield draft.problem(
                None,
                "the postal address is not in the email",
                "put {{ org.postal_address }} in the footer of your templates (HTML and text)",
            )
            return


def unsubscribe(draft: Draft) -> Iterator[Problem]:
    """A visible unsubscribe link in both parts, and an HTTPS one-click URL for the List-Unsubscribe headers."""
    url = draft.project.settings.email.unsubscribe_url
    if not url.startswith("https://") or "{token}" not in url:
        yield _settings_problem(
            draft,
            ("email", "unsubscribe_url"),
            f"unsubscribe_url '{url}' must be an https:// address with {{token}} in it: Gmail and Yahoo require a "
            "one-click HTTPS unsubscribe link in the List-Unsubscribe header",
            'write it like "https://example.org/unsubscribe/{token}"',
        )
    for version, document in zip(draft.rendered, draft.documents, strict=True):
        missing = [part for part, there in (
            ("HTML", any((a.get("href") or "").strip() == UNSUBSCRIBE_URL for a in document.iter("a"))),
            ("text part", UNSUBSCRIBE_URL in version.text),
        ) if not there]  # fmt: skip
        if missing:
            yield draft.problem(
                None,
                f"the email has no unsubscribe link in its {' and '.join(missing)}",
                "put {{ unsubscribe_url }} in the footer of your templates, as the built-in ones do",
            )
            return


def sender(draft: Draft) -> Iterator[Problem]:
    """A real From address, on the domain the mail is sent from (``[check] sending_domain``)."""
    settings = draft.project.settings
    name, address = email.utils.parseaddr(settings.email.from_)
    domain = address.rpartition("@")[2].lower()
    if "@" not in address or not domain or "." not in domain:
        yield _settings_problem(
            draft,
            ("email", "from"),
            f"From '{settings.email.from_}' is not an email address",
            'write it like "Your organization <action@your-domain.org>"',
        )
        return
    if any(domain == d or domain.endswith("." + d) for d in _EXAMPLE_DOMAINS):
        yield _settings_problem(
            draft,
            ("email", "from"),
            f"From {address} is an example address: mail from it is refused",
            'set from = "Your organization <action@your-domain.org>" under [email]',
        )
    sending = (settings.check.sending_domain or "").lower().strip(".")
    if sending and not aligned(domain, sending):
        yield _settings_problem(
            draft,
            ("email", "from"),
            f"From {address} is not on the sending domain {sending}: DMARC will fail, and Gmail and Yahoo reject "
            "or junk such mail",
            f"send from an address @{sending}, or set [check] sending_domain to the domain that signs your mail",
        )
    if not name:
        yield _settings_problem(
            draft,
            ("email", "from"),
            f"From {address} has no name: inboxes show the bare address",
            f'write it as "{settings.organization.name} <{address}>"',
            Severity.WARNING,
        )


def logo(draft: Draft) -> Iterator[Problem]:
    """A logo without a height: many clients block images until the reader allows them, and without a height the
    logo takes no room until it loads (the email jumps when it does), and Outlook shows it at its file's size."""
    image = draft.project.settings.organization.logo
    if image is not None and image.height is None:
        yield _settings_problem(
            draft,
            ("organization", "logo"),
            "the logo has no height: it takes no room while images are blocked",
            f"add height = its height in pixels when {image.width} pixels wide, under [organization.logo]",
            Severity.WARNING,
        )
