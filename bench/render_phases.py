"""Where the time of one `actionmail render` goes: wall-clock phases in a fresh process, no profiler.

Does what `actionmail render newsletters/2019-08-01-….yaml -o /tmp/x.html` does, step by step, importing the
libraries first so that each phase is charged once. See docs/performance.md.

    .venv/bin/python bench/render_phases.py
"""

# ruff: noqa: E402, F401, I001  (timed imports, in the order they are timed)
from __future__ import annotations

import time

start = time.perf_counter()
marks: list[tuple[str, float]] = []


def mark(label: str) -> None:
    marks.append((label, time.perf_counter()))


import pydantic
from pydantic import BaseModel, TypeAdapter
import pydantic.json_schema
import pydantic.networks

mark("import pydantic (with the parts it loads lazily, which actionmail uses)")
import babel.dates
import babel.support
import click
import css_inline
import jinja2
import markdown_it
import mjml
import phonenumbers
import yaml

mark("import jinja2, markdown-it, PyYAML, phonenumbers, Babel, click, mjml-python, css-inline")
import actionmail.cli

mark("import actionmail's own modules (building its pydantic models, compiling regexes)")
import datetime as dt
from pathlib import Path

from actionmail import check
from actionmail.render import render, sample_values, templates

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "newsletters" / "2019-08-01-no-police-facial-recognition.yaml"
project, newsletter = check.load(SEED)
mark("read and validate the newsletter, settings and officials (check.load)")
language = newsletter.language or project.settings.organization.language
search_path = tuple(p for p in (project.template_dir, templates.builtin_templates()) if p.is_dir())
env = templates.environment(search_path, language)
for name in ("email.mjml", "partials/blocks.mjml", "email.txt", "partials/blocks.txt"):
    env.get_template(name)
mark("Jinja2: read, parse and compile the 4 templates (cached in the environment afterwards)")
babel.dates.format_timedelta(dt.timedelta(days=5), granularity="day", add_direction=True, locale=language)
mark("Babel: load the locale data (first date formatted)")
html, text = render(newsletter, project, slug=check.slug(SEED)).personalize(sample_values(project))
mark("render: Jinja2 → MJML → mjml-python → css-inline, plain text (templates already compiled)")
Path("/tmp/x.html").write_text(html, encoding="utf-8")
mark("write /tmp/x.html")

previous = start
for label, at in marks:
    print(f"{(at - previous) * 1000:6.1f} ms  {label}")
    previous = at
print(f"{(previous - start) * 1000:6.1f} ms  total, after the interpreter has started")
