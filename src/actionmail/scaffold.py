"""`actionmail new`: start a day's newsletter file from the ``new.yaml`` template."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from actionmail.config import find_root, load_project
from actionmail.errors import UsageError
from actionmail.fields import slugify
from actionmail.render import templates
from actionmail.yesterday import Figures

SCHEMA_FILE = "schema/newsletter.json"


def new_newsletter(directory: Path, date: dt.date, title: str = "", yesterday: Figures | None = None) -> Path:
    """Write ``DIRECTORY/DATE-SLUG.yaml`` from the template; never overwrite an existing file. ``yesterday``: what
    members reported of the previous issue (:func:`actionmail.yesterday.figures`), for the template to write."""
    name = "-".join(part for part in (date.isoformat(), slugify(title) or "action") if part)
    path = directory / f"{name}.yaml"
    if path.exists():
        raise UsageError(f"{path} already exists: edit it, or pass a different --title")
    project = load_project(directory if directory.exists() else Path.cwd())
    search_path = tuple(p for p in (project.template_dir, templates.builtin_templates()) if p.is_dir())
    env = templates.environment(search_path, project.settings.organization.language)
    # Editors validate and complete the file against the schema when it names one (see `actionmail schema`).
    schema = project.root / SCHEMA_FILE
    relative = os.path.relpath(schema, directory.resolve()) if schema.is_file() else None
    text = env.get_template("new.yaml").render(
        date=date, title=title, has_project=find_root(Path.cwd()) is not None, schema=relative, yesterday=yesterday
    )
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
