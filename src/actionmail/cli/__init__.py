"""The command line: each command parses its options, calls one library function, and prints.

Each command lives in a module of this package and is imported only when it runs (:class:`LazyGroup`, as mkdocs
and llm load theirs): `actionmail --version` imports click and nothing else (not even pathlib), and `render`
nothing of the send, the checks, the preview or the web stack. :data:`COMMANDS` names them all; `--help` imports
each for its summary.

This package is the one place that turns an :class:`~actionmail.errors.ActionmailError` into output and an exit
code (:func:`reports_errors`).
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from actionmail import __version__

F = TypeVar("F", bound=Callable[..., Any])

# name → "module:attribute", in the order the pipeline runs them (write, check, render, preview, send, hear back).
COMMANDS = {
    "new": "actionmail.cli.project:new",
    "schema": "actionmail.cli.project:schema",
    "check": "actionmail.cli.check:check_command",
    "render": "actionmail.cli.render:render",
    "variants": "actionmail.cli.render:variants_command",
    "preview": "actionmail.cli.preview:preview_command",
    "subscribers": "actionmail.cli.subscribers:subscribers",
    "secret-key": "actionmail.cli.project:secret_key_command",
    "send": "actionmail.cli.sending:send",
    "status": "actionmail.cli.sending:status",
    "prune": "actionmail.cli.prune:prune",
    "db": "actionmail.cli.db:db_group",
    "sync": "actionmail.cli.sync:sync_command",
    "serve": "actionmail.cli.serve:serve_command",
    "web": "actionmail.cli.web:web_group",
}
# The commands that render newsletters: their compiled templates are kept between runs.
RENDERING = frozenset({"check", "render", "variants", "preview", "send", "web"})

SEGMENT_HELP = "Only members matching this, e.g. 'district=3 tag=volunteer', 'language=es', 'district=1|2'."


def format_option(json_help: str) -> Callable[[F], F]:
    """``--format text|json`` (the parameter ``output_format``); ``json_help`` says what json writes."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help=f"json: {json_help}",
    )


def reports_errors(command: F) -> F:
    from actionmail.errors import ActionmailError, InvalidInput  # when a command is defined: not for --version

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InvalidInput as e:
            for problem in e.problems:
                click.echo(str(problem), err=True)
            sys.exit(e.exit_code)
        except ActionmailError as e:
            click.echo(f"Error: {e}", err=True)
            sys.exit(e.exit_code)

    return wrapper  # type: ignore[return-value]


class LazyGroup(click.Group):
    """A group whose commands (:data:`COMMANDS`) are imported when first asked for, not when the group is."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - a mistake in COMMANDS
            raise TypeError(f"{COMMANDS[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="actionmail")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Turn each day's action, written as one YAML file, into a responsive, accessible email."""
    if ctx.invoked_subcommand in RENDERING:
        _cache_compiled_templates()


def _cache_compiled_templates() -> None:
    from pathlib import Path

    from actionmail.render import templates

    directory = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "actionmail" / "templates"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a read-only home: templates are compiled on each run, which is slower but correct
    if os.access(directory, os.W_OK):
        templates.cache_compiled_templates(directory)
