#!/usr/bin/env bash
# The send benchmark on SQLite and PostgreSQL, through 1, 2 and 4 workers, at 100,000 and a million recipients:
# one run each, in a row (docs/performance.md, "Sending from PostgreSQL"). Needs PostgreSQL installed
# (apt-get install postgresql): bench/send_throughput.py --postgres starts a throwaway cluster of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-/tmp/bench-pg}
for count in 100000 1000000; do
  for workers in 1 2 4; do
    for database in "" "--postgres"; do
      echo "== count=$count workers=$workers ${database:-sqlite}"
      .venv/bin/python bench/send_throughput.py --count "$count" --workers "$workers" --work "$work" $database | tail -1
    done
  done
done
