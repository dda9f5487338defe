"""Run one send in its own process, for tests that kill it: python -m tests.sender PROJECT NEWSLETTER BATCH.

The provider is whatever the project's actionmail.toml says ([send] provider); its batches are BATCH recipients
(smaller than the provider allows, so a send makes many calls). One call at a time, short backoffs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from actionmail import audience, delivery, providers, variants


def main(project_dir: str, newsletter: str, batch_size: str) -> None:
    os.chdir(project_dir)
    edition = variants.load_edition(Path(newsletter))
    database = audience.database_path(edition.project)
    provider = providers.build(edition.project)
    provider.max_batch = int(batch_size)  # type: ignore[misc]
    with audience.Store.open(database) as store:
        ledger = delivery.Ledger(database)
        plan = delivery.prepare(edition, store, ledger, None)
        pace = delivery.Pace(concurrency=1, backoff=0.01, max_wait=0.1)
        delivery.execute(plan, store, ledger, provider, pace, os.environ["ACTIONMAIL_SECRET_KEY"].encode())
        ledger.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
