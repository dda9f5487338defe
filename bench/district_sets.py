"""Measure: the variants of an email that uses two district sets, for the 1,000-member sample.

    .venv/bin/python bench/district_sets.py

In a new project directory (a copy of actionmail.toml and officials.yaml): `actionmail subscribers import` of
sample/members.csv (its District column is the council district, the default set); then each member's
congressional district from their zip code (south-east Seattle, 98108, 98118 and 98178, in the 9th, the rest of
Seattle's 981xx in the 7th, any other zip unknown: approximate, as the generator's zip codes by council district
are) imported as a second file with a `district.congress` column; then `actionmail variants` of a newsletter
that names the council's per-district group and the congress one. Prints the command's output, the number of
variants, the number of distinct (language, council, congress) values among the members, and the time taken
to count the variants and render each.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample" / "members.csv"
NEWSLETTER = """\
date: 2019-08-02
subject: Call your councilmember and your U.S. Representative
preheader: Two calls, five minutes.
headline: Two calls today
actions:
  - kind: call
    title: Call your councilmember and your U.S. Representative
    why: Tell them to oppose facial recognition.
    targets:
      - group: district-councilmember
      - group: us-representative
"""
SOUTH_EAST = ("98108", "98118", "98178")


def actionmail(project: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "actionmail", *args], cwd=project, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copy(ROOT / "actionmail.toml", project)
        shutil.copy(ROOT / "officials.yaml", project)
        (project / "newsletters").mkdir()
        (project / "newsletters" / "2019-08-02-two.yaml").write_text(NEWSLETTER, encoding="utf-8")
        actionmail(project, "subscribers", "import", str(SAMPLE))
        with SAMPLE.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        with (project / "cd.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["email", "district.congress"])
            for row in rows:
                if row["Zip Code"].startswith("981"):
                    writer.writerow([row["Email Address"], "9" if row["Zip Code"] in SOUTH_EAST else "7"])
        actionmail(project, "subscribers", "import", "cd.csv")
        output = actionmail(project, "variants", "newsletters/2019-08-02-two.yaml")
        print(output, end="")
        variants = len(output.splitlines()) - 2  # less the header and the total
        council = {str(d) for d in range(1, 8)}
        distinct = {
            (
                row["District"] if row["District"] in council else None,
                ("9" if row["Zip Code"] in SOUTH_EAST else "7") if row["Zip Code"].startswith("981") else None,
            )
            for row in rows
        }
        print(f"variants: {variants}; distinct (council, congress) among the {len(rows)} members: {len(distinct)}")

        sys.path.insert(0, str(ROOT / "src"))
        os.chdir(project)
        from actionmail.audience import Store
        from actionmail.variants import load_edition, plan_counts

        edition = load_edition(project / "newsletters" / "2019-08-02-two.yaml")
        start = time.perf_counter()
        with Store.open(project / "actionmail.db") as store:
            counts = plan_counts(edition, store.count_by_variant())
        counted = time.perf_counter() - start
        edition.render(next(iter(counts)))  # templates compiled
        start = time.perf_counter()
        for key in counts:
            edition.render(key)
        rendered = time.perf_counter() - start
        print(f"counted in {counted * 1000:.1f} ms; {len(counts)} variants rendered in {rendered * 1000:.0f} ms")
        os.chdir(ROOT)


if __name__ == "__main__":
    main()
