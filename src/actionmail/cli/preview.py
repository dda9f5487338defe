"""`actionmail preview`: the newsletters in a browser, as subscribers will see them, re-rendered on every save.

The preview package never imports a mail provider; this module gives it, as hooks, the send's own code for the
headers of a message and for "Send me a test" (the path `send --to` takes).
"""

from __future__ import annotations

import html
import logging
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import click

from actionmail import delivery, providers, variants
from actionmail.cli import reports_errors
from actionmail.cli.sending import _planned, send_test_copy
from actionmail.errors import UsageError, shown
from actionmail.httpguard import is_loopback
from actionmail.preview import Hooks, PreviewServer, Workspace
from actionmail.render import Rendered
from actionmail.variants import Edition, VariantKey


def headers(edition: Edition, key: VariantKey, rendered: Rendered, values: Mapping[str, str | None]) -> dict[str, str]:
    """The headers a send gives this variant's message: to the member shown, or to a stand-in."""
    plan = delivery.Plan(edition, edition.path.stem, "", {key: rendered}, {key: 1}, None, None, None)
    address = values.get("email")
    if not address:
        return delivery.sample_headers(plan, key, values)
    name = " ".join(part for part in (values.get("first_name"), values.get("last_name")) if part) or None
    return delivery.sample_headers(plan, key, values, address, name)


def send_test(edition: Edition, key: VariantKey, address: str, values: Mapping[str, str | None]) -> str:
    """One [TEST] copy through the configured provider, exactly as `actionmail send FILE --to ADDRESS` sends it."""
    provider = providers.build(edition.project)
    edition = edition.going_out_on(variants.send_day(edition.project))  # as `send --to` would send it today
    try:
        # As `send --to`: the checks don't stop a test copy, and the preview page shows what they found.
        with _planned(edition, None, None, blocking=False, show=False) as (_, _, plan):
            return send_test_copy(plan, provider, address, key, values)
    finally:
        provider.close()


def send_test_enabled(edition: Edition) -> bool:
    """Only with a provider that delivers mail: a test copy in the outbox is a file nobody receives."""
    return edition.project.settings.send.provider != "outbox"


HOOKS = Hooks(headers=headers, send_test=send_test, send_test_enabled=send_test_enabled)


def opener(url: str, directory: Path) -> Path:
    """A page only this user can read that sends the browser on to ``url``, for opening instead of ``url``: the
    secret in it would otherwise be on a command line (the browser's, xdg-open's), which any local user can list.
    Jupyter does the same."""
    page = directory / "open-preview.html"
    address = html.escape(url)
    page.touch(mode=0o600)
    page.write_text(
        f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={address}">'
        f'<title>actionmail preview</title><a href="{address}">Open the preview</a>\n',
        encoding="utf-8",
    )
    return page


@click.command("preview")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Serve on this address (others can then see it).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
@click.option("--no-open", is_flag=True, help="Don't open the page in a browser.")
@reports_errors
def preview_command(path: Path | None, host: str, port: int, no_open: bool) -> None:
    """Preview newsletters in a browser, re-rendered whenever a newsletter, template, officials.yaml or
    actionmail.toml is saved.

    PATH is a newsletter file or a directory of them (default: newsletters/). The page shows each one at phone
    and desktop widths, its plain text, HTML, MJML and headers, every variant, its size and `check`'s findings.
    It opens only at the address printed, with its secret ?token=… (a new one each run).
    """
    if path is None:
        path = Path("newsletters")
        if not path.is_dir():
            raise UsageError("no newsletters/ here: name a newsletter file or directory, e.g. actionmail preview FILE")
    workspace = Workspace([path], HOOKS)
    try:
        server = PreviewServer(workspace, host, port)
    except OSError as e:
        raise UsageError(f"cannot serve on {host}:{port} ({e.strerror}): choose another with --port") from None
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("actionmail.preview")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    if not is_loopback(host):
        click.echo(
            f"Warning: serving on {host}: the address below and its token cross the network unencrypted, and anyone "
            "who has them can see these newsletters and members' details, and send test copies if a provider is set",
            err=True,
        )
    count = len(workspace.entries)
    click.echo(f"Previewing {count} newsletter{'s' if count != 1 else ''} in {shown(path)} at {server.url}")
    click.echo("Saving a newsletter, a template, officials.yaml or actionmail.toml updates the page. Ctrl-C stops.")
    directory = Path(tempfile.mkdtemp(prefix="actionmail-preview-"))  # only this user's
    if not no_open:
        click.launch(opener(server.url, directory).as_uri())
    try:
        server.serve()
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)
    finally:
        logger.removeHandler(handler)
        shutil.rmtree(directory, ignore_errors=True)
