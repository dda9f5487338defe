"""Benchmark: group a million members into the seed's variants, and render every variant.

    .venv/bin/python bench/variants.py --database /tmp/actionmail-bench/members-1000000.db

The database is the one bench/stream_members.py builds (1,000,000 generated members, seed 1). Each measurement
runs in a fresh Python process, and prints one JSON line:

- ``plan_streamed``: `variants.plan(edition, store.subscribers())`, the grouping a send does as it goes: every
  member streamed from SQLite as a Subscriber and given its variant key; time, members/s and peak RSS (budget:
  200 MB).
- ``plan_counts``: `variants.plan_counts(edition, store.count_by_language_and_district())`, what
  `actionmail variants` does: SQLite counts per (language, district), then each group gets its variant key.
- Peer, in the same run: a bare `GROUP BY language, district` in sqlite3, the least any grouping can cost.
- ``render``: rendering each variant of the seed once (8: districts 1–7 and district unknown), after the
  templates are compiled, against the official mjml CLI compiling the same 8 MJML files in one process
  (tests/mjml; `npm ci --prefix tests/mjml`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "newsletters" / "2019-08-01-no-police-facial-recognition.yaml"
MJML = ROOT / "tests" / "mjml" / "node_modules" / ".bin" / "mjml"


def child_plan(database: Path) -> dict[str, float]:
    import resource

    from actionmail.audience import Store
    from actionmail.variants import load_edition, plan

    edition = load_edition(SEED)
    start = time.perf_counter()
    with Store.open(database) as store:
        counts = plan(edition, store.subscribers())
    seconds = time.perf_counter() - start
    members = sum(counts.values())
    return {
        "members": members,
        "variants": len(counts),
        "seconds": seconds,
        "members_per_second": members / seconds,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child_plan_counts(database: Path) -> dict[str, float]:
    import resource

    from actionmail.audience import Store
    from actionmail.variants import load_edition, plan_counts

    edition = load_edition(SEED)
    start = time.perf_counter()
    with Store.open(database) as store:
        counts = plan_counts(edition, store.count_by_language_and_district())
    seconds = time.perf_counter() - start
    return {"members": sum(counts.values()), "variants": len(counts), "seconds": seconds,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip


def child_group_by(database: Path) -> dict[str, float]:
    import sqlite3

    start = time.perf_counter()
    db = sqlite3.connect(database)
    rows = db.execute(
        "SELECT language, district, count(*) FROM subscribers WHERE status = 'active' GROUP BY language, district"
    ).fetchall()
    return {"groups": len(rows), "seconds": time.perf_counter() - start}


def child_render(mjml_dir: Path) -> dict[str, float]:
    from actionmail.variants import VariantKey, load_edition

    edition = load_edition(SEED)
    keys = [VariantKey("en", str(d)) for d in range(1, 8)] + [VariantKey("en", None)]
    edition.render(keys[0])  # compile the templates and load the locale once, as a send does
    start = time.perf_counter()
    for key in keys:
        rendered = edition.render(key)
        (mjml_dir / f"{key.district or 'unknown'}.mjml").write_text(rendered.mjml)
    seconds = time.perf_counter() - start
    return {"variants": len(keys), "seconds": seconds, "ms_per_variant": seconds / len(keys) * 1000}


def run(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", type=Path, default=Path("/tmp/actionmail-bench/members-1000000.db"))
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, target = args.child
        jobs = {
            "plan": child_plan,
            "plan_counts": child_plan_counts,
            "group_by": child_group_by,
            "render": child_render,
        }
        job = jobs[kind]
        print(json.dumps(job(Path(target))))
        return
    if not args.database.exists():
        sys.exit(f"{args.database} is missing: run bench/stream_members.py --count 1000000 first")
    plan = run("plan", str(args.database))
    counted = run("plan_counts", str(args.database))
    group_by = run("group_by", str(args.database))
    print(json.dumps({"plan_streamed": plan, "plan_counts": counted, "sqlite_group_by": group_by,
                      "streamed_over_group_by": plan["seconds"] / group_by["seconds"],
                      "counts_over_group_by": counted["seconds"] / group_by["seconds"]}))  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        rendered = run("render", scratch)
        files = sorted(str(p) for p in Path(scratch).glob("*.mjml"))
        start = time.perf_counter()
        subprocess.run([str(MJML), *files, "-o", scratch + "/"], check=True, capture_output=True)
        mjml_seconds = time.perf_counter() - start
    print(json.dumps({"render": rendered, "mjml_cli_8_files_seconds": mjml_seconds,
                      "ratio": mjml_seconds / rendered["seconds"]}))  # fmt: skip


if __name__ == "__main__":
    main()
