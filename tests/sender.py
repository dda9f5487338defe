"""Run one send in its own process, for tests that kill it: python -m tests.sender PROJECT NEWSLETTER BATCH
[WORKERS] [join] (join: take part in the send under way, as `send --join` does).

The provider is whatever the project's actionmail.toml says ([send] provider); its batches are BATCH recipients
(smaller than the provider allows, so a send makes many calls). One call at a time (per worker process, with
WORKERS), short backoffs, at the project's [send] rate.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from actionmail import audience, delivery, providers, variants


def edition_for_send(path: Path) -> variants.Edition:
    """The edition as `actionmail send` renders it, so that a send started here and one continued by the command
    are the same send (the same content hash). Where the code renders a send as of the day it goes out (the check
    branch's Edition.going_out_on), so does this; until the branches meet, it follows whichever it runs with."""
    edition = variants.load_edition(path)
    going_out_on = getattr(edition, "going_out_on", None)
    if going_out_on is not None:
        edition = going_out_on(getattr(variants, "send_day")(edition.project, None))  # noqa: B009
    return edition


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
