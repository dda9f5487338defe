#!/usr/bin/env bash
# Whole-process timing, in one hyperfine run: `actionmail render` (YAML → HTML, the whole pipeline) against the
# official mjml CLI doing only the MJML → HTML step, on the MJML our render generated. See docs/performance.md.
# Needs the venv and the pinned mjml (.ci/run installs both). Usage: bench/render_vs_mjml.sh [RESULTS.md]
set -euo pipefail
cd "$(dirname "$0")/.."

seed=newsletters/2019-08-01-no-police-facial-recognition.yaml
mjml=tests/mjml/node_modules/.bin/mjml
results=${1:-/tmp/render_vs_mjml.md}

.venv/bin/actionmail render "$seed" -o /tmp/x.html --mjml /tmp/seed.mjml

# Beside them, in the same run, the floors: a bare interpreter, `--version`, and importing only the libraries the
# render path needs (no actionmail code): 3× the mjml CLI is out of reach where that alone takes longer.
libraries="import pydantic, pydantic.main, pydantic.networks, yaml, jinja2, markdown_it, babel.dates, phonenumbers, css_inline, mjml, click, tomllib"
hyperfine --shell=none --warmup 5 --runs 40 --export-markdown "$results" \
  --command-name "actionmail render" ".venv/bin/actionmail render $seed -o /tmp/x.html" \
  --command-name "mjml CLI (official, MJML → HTML only)" "$mjml /tmp/seed.mjml -o /tmp/seed-mjml.html" \
  --command-name "python -c pass" ".venv/bin/python -c pass" \
  --command-name "actionmail --version" ".venv/bin/actionmail --version" \
  --command-name "the render path's libraries, imported" ".venv/bin/python -c '$libraries'"

cat "$results"
