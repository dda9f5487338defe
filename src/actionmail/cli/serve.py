"""`actionmail serve`: the unsubscribe service, over the same actionmail.toml and subscriber database as the CLI.

The web stack (Starlette, uvicorn) is imported only when this command runs: `render` and `--version` don't load it.
"""

from __future__ import annotations

from pathlib import Path

import click

from actionmail.cli import reports_errors
from actionmail.config import load_project
from actionmail.httpguard import is_loopback


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Listen on this address (0.0.0.0: every one).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Processes serving at once.")
@click.option(
    "--proxy-headers",
    is_flag=True,
    help="Behind a reverse proxy: take the client's address and https from its X-Forwarded-For and "
    "X-Forwarded-Proto headers, from the addresses in --forwarded-allow-ips only.",
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    metavar="IPS",
    help="With --proxy-headers: the proxy's addresses (comma-separated; networks like 10.0.0.0/8 too).",
)
@reports_errors
def serve_command(host: str, port: int, workers: int, proxy_headers: bool, forwarded_allow_ips: str) -> None:
    """Answer the unsubscribe links the emails carry: one-click unsubscribe (RFC 8058) for mail apps, and a page
    with an Unsubscribe button (then Undo, for 30 days) for the link in each email's footer. The sign-up form
    ([signup] in actionmail.toml): each new address gets an email with a link to confirm, and joins only when it
    is followed. And the report links: "Let us know you called" and one-tap survey answers, each counted once per
    member (see `actionmail status`).

    It answers at the path of [email] unsubscribe_url in actionmail.toml; point that URL's host at this
    service (through a reverse proxy for HTTPS). GET /healthz is for monitors. Each change is in the member's
    history (actionmail subscribers show EMAIL). Ctrl-C stops.
    """
    from actionmail.serve import app, reports, server, signup

    project = load_project(Path.cwd())
    checked = app.service(project)  # everything checked before uvicorn starts: the URLs, the key, the database
    checked.members.close()
    signup_path = signup.check(checked)  # … and the sign-up's address and provider settings
    report = reports.prepare(checked)
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"Answering {project.settings.email.unsubscribe_url} at http://{shown}:{port}{checked.path.pattern}, "
        f"{report.url} at {report.pattern}, and /healthz. Ctrl-C stops."
    )
    if signup_path is not None:
        click.echo(
            f"Sign-up form ({signup_path.url}) at http://{shown}:{port}{signup_path.prefix}, confirmation emails "
            f"through {project.settings.send.provider}."
        )
    if not is_loopback(host) and not proxy_headers:
        click.echo(
            f"Note: serving on {host} without --proxy-headers: put it behind a reverse proxy that serves HTTPS "
            "(mail providers post one-click unsubscribes only to https:// addresses)",
            err=True,
        )
    server.run(
        project.root,
        host,
        port,
        workers=workers,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )
