"""Run one send in its own process, for tests that kill it: python -m tests.sender PROJECT NEWSLETTER BATCH
[WORKERS] [join] (join: take part in the send under way, as `send --join` does).

The provider is whatever the project's actionmail.toml says ([send] provider); its batches are BATCH recipients
(smaller than the provider allows, so a send makes many calls). One call at a time (per worker process, with
WORKERS), short backoffs, at the project's [send] rate. The send goes out today, in the organization's time zone,
as the command's does, or on the day ACTIONMAIL_TEST_SEND_DAY gives (2019-08-04): a test crosses midnight without
waiting for it.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from actionmail import audience, delivery, providers, variants


def edition_for_send(path: Path) -> variants.Edition:
    """The edition as `actionmail send` renders it (for the day it goes out), so that a send started here and one
    continued by the command are the same send."""
    edition = variants.load_edition(path)
    day = os.environ.get("ACTIONMAIL_TEST_SEND_DAY")
    return edition.going_out_on(dt.date.fromisoformat(day) if day else variants.send_day(edition.project))


def main(project_dir: str, newsletter: str, batch_size: str, workers: str = "1", join: str = "") -> None:
    os.chdir(project_dir)
    edition = edition_for_send(Path(newsletter))
    database = audience.database_location(edition.project)
    provider = providers.build(edition.project)
    provider.max_batch = int(batch_size)  # type: ignore[misc]
    with audience.Store.open(database) as store:
        ledger = delivery.Ledger(database)
        plan = delivery.prepare(edition, store, ledger, None)
        pace = delivery.Pace(
            concurrency=int(workers), rate=edition.project.settings.send.rate, backoff=0.01, max_wait=0.1
        )
        secret = os.environ["ACTIONMAIL_SECRET_KEY"].encode()
        if join:
            _, outcome, _ = delivery.join(plan, store, ledger, provider, pace, secret)
        else:
            _, outcome, _ = delivery.execute(plan, store, ledger, provider, pace, secret, workers=int(workers))
        ledger.close()
    if outcome.stopped is not None:
        print(f"stopped: {outcome.stopped}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
