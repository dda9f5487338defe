"""With ``[signup] welcome = true``: a new member's first email, right after the click, is the newsletter sent last.

"Sent last" is the ledger's latest finished send to everyone (no ``--segment``); its file is ``newsletters/<issue>
.yaml`` beside actionmail.toml, with its translations. The member gets their own variant (language, district),
with their own unsubscribe link, through the configured provider, as a copy outside the ledger (as ``send --to``
sends one): the send it copies was over before they joined, so no rerun of it can reach them twice.

Rendering imports the whole rendering stack (MJML, CSS inlining), so this module is imported only when a welcome
is sent; it runs in a worker thread after the confirmation page has been answered.
"""

from __future__ import annotations

from actionmail import audience, database, variants
from actionmail.audience import Store
from actionmail.audience.signups import Pending
from actionmail.serve.mailer import Mailer


def latest(location: database.Location) -> str | None:
    """The issue (newsletter file stem) of the latest finished send to everyone; None before the first."""
    db = database.connect(database.locate(location), read_only=True)
    try:
        row = db.execute(
            "SELECT issue FROM sends WHERE finished_at IS NOT NULL AND segment IS NULL "
            "ORDER BY finished_at DESC, id DESC LIMIT 1"
        ).fetchone()
    finally:
        db.close()
    return None if row is None else str(row[0])


def send(mailer: Mailer, pending: Pending, key: bytes) -> str:
    """Send the latest newsletter to the member ``pending`` made; what happened, for the log (never the address)."""
    project = mailer.project
    location = audience.database_location(project)
    issue = latest(location)
    if issue is None:
        return "no newsletter has been sent yet"
    path = next((p for p in (project.root / "newsletters").glob(f"{issue}.y*ml") if p.stem == issue), None)
    if path is None:
        return f"newsletters/{issue}.yaml is not there any more"
    with Store.open(location) as store:
        member = store.get(pending.email or "")
        if member is None or not store.sendable([member.id]):
            return "not sent: no longer an active member"
    edition = variants.load_edition(path)
    variant = edition.key_for(member)
    subject, html, text = edition.render(variant).merges
    values = variants.reader_values(member, project, key)
    envelope = mailer.envelope(issue, "welcome", transactional=False)
    message_id = mailer.send_one(
        envelope, f"welcome-{member.id}", member.email, member.name or None, subject, html, text, values
    )
    return f"sent {issue} ({edition.label(variant)}): {message_id}"
