#!/usr/bin/env bash
# `actionmail check` on a directory of 30 newsletters (ten copies of each example, under other names), offline:
# the goal is under 2 seconds. Peers in the same hyperfine run: `check` of one file (what a process costs before
# the work grows with the files) and 30 × `actionmail render` in a loop (the pipeline each file goes through, one
# process each). See docs/performance.md. Usage: bench/check_many.sh [RESULTS.md]
# Where SpamAssassin is installed, `check` scores the newsletters with it too (seconds, not milliseconds): the
# 30 are timed with `--no-spam` and without it.
set -euo pipefail
cd "$(dirname "$0")/.."

results=${1:-/tmp/check_many.md}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp actionmail.toml officials.yaml "$work"
mkdir -p "$work/newsletters"
for example in newsletters/*.yaml; do
  name=$(basename "$example" .yaml)
  for copy in $(seq 1 10); do
    cp "$example" "$work/newsletters/$name-copy-$copy.yaml"
  done
done
count=$(ls "$work/newsletters" | wc -l)
one=$(ls "$work"/newsletters/*.yaml | head -1)
bin=$PWD/.venv/bin/actionmail
export XDG_CACHE_HOME="$work/cache"
"$bin" check --no-spam "$work/newsletters"  # fills the compiled-template cache, as any earlier run would have

hyperfine --warmup 2 --runs 10 --export-markdown "$results" \
  --command-name "check --no-spam: $count newsletters" "$bin check --no-spam $work/newsletters" \
  --command-name "check --no-spam: 1 newsletter" "$bin check --no-spam $one" \
  --command-name "check: $count newsletters, with SpamAssassin where installed" "$bin check $work/newsletters" \
  --command-name "render: $count × one process" "for f in $work/newsletters/*.yaml; do $bin render \$f -o /dev/null 2>/dev/null; done"

cat "$results"
