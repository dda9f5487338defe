"""Benchmark: what the accessibility and spam checks add to `actionmail check` of 30 newsletters.

    .venv/bin/python bench/check_a11y_spam.py

The 30 newsletters are the three examples, ten copies each (different file names), in a temporary copy of the
example project. Each is rendered in all its variants once (`check.make_draft`: 8 for the seed, 8 for the
others), then, in the same process, timed separately:

- ``render``: making the 30 drafts (validate and render every variant) — the peer, what `check` costs anyway;
- ``accessibility``: the static accessibility check over every variant of the 30;
- ``spam``: SpamAssassin scoring the 30 messages as `check` does (split over the cores), against one run for all,
  and — the naive way — one run per message (measured on 3 messages, scaled to 30; one of them is also the cost
  of checking one newsletter).

Prints one JSON object. Run by hand; the numbers and the command are in docs/spam-and-accessibility.md.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from actionmail import check, delivery
from actionmail.check import accessibility, spam

ROOT = Path(__file__).resolve().parents[1]
COPIES = 10


def timed(fn: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()  # type: ignore[operator]
    return time.perf_counter() - start, result


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        project = Path(directory)
        shutil.copy(ROOT / "actionmail.toml", project)
        shutil.copy(ROOT / "officials.yaml", project)
        (project / "newsletters").mkdir()
        files = []
        for example in sorted((ROOT / "newsletters").glob("*.yaml")):
            for copy in range(COPIES):
                target = project / "newsletters" / f"{example.stem}-{copy}.yaml"
                shutil.copy(example, target)
                files.append(target)
        check.load(files[0])  # import and compile the templates before timing

        def drafts() -> list[check.Draft]:
            out = []
            for path in files:
                loaded, newsletter = check.load(path)
                out.append(check.make_draft(path, loaded, newsletter))
            return out

        render_s, made = timed(drafts)
        assert isinstance(made, list)
        for draft in made:
            _ = draft.documents  # parsed once per draft and shared by the checks, as in `check`
        a11y_s, problems = timed(lambda: [p for d in made for p in accessibility.accessibility(d)])
        assert problems == [], problems
        messages = [delivery.sample_message(d.project, d.path.stem, d.rendered[0]).as_bytes() for d in made]
        result: dict[str, object] = {
            "newsletters": len(made),
            "variants": sum(len(d.rendered) for d in made),
            "cores": os.cpu_count(),
            "load_average_1min": os.getloadavg()[0],
            "render_s": round(render_s, 3),
            "accessibility_s": round(a11y_s, 3),
            "accessibility_ms_per_variant": round(1000 * a11y_s / sum(len(d.rendered) for d in made), 2),
        }
        if spam.command():
            spam.score(messages[:1])  # warm the file cache: the first run reads SpamAssassin's rules from disk
            # Alternated and repeated, best of two: the machine is shared, and whichever runs first pays more.
            auto, one = [], []
            for _ in range(2):
                one.append(timed(lambda: spam.score(messages, runs=1))[0])
                auto.append(timed(lambda: spam.score(messages))[0])
            each_s, _ = timed(lambda: [spam.score([m]) for m in messages[:3]])
            result |= {
                "spam_as_check_runs_it_s": round(min(auto), 2),
                "spam_one_run_s": round(min(one), 2),
                "spam_one_run_per_message_s_scaled": round(each_s / 3 * len(messages), 2),
                "spam_one_newsletter_s": round(each_s / 3, 2),
            }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
