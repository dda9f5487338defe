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

hyperfine --shell=none --warmup 5 --runs 40 --export-markdown "$results" \
  --command-name "actionmail render" ".venv/bin/actionmail render $seed -o /tmp/x.html" \
  --command-name "mjml CLI (official, MJML → HTML only)" "$mjml /tmp/seed.mjml -o /tmp/seed-mjml.html"

cat "$results"
