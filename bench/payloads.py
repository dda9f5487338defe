"""Benchmark: building provider payloads for 100,000 recipients of the seed's variants, without the network.

    .venv/bin/python bench/payloads.py --database /tmp/actionmail-bench/send-run-100000.db

Everything a send does per batch before the HTTP request leaves: read the batch's members (one query), their
merge values and unsubscribe tokens, the Batch, and the Mailgun module's whole form (recipient-variables JSON,
per-recipient List-Unsubscribe, multipart encoding by requests). The request itself is stopped at the adapter.
Goal: at least 100,000 recipients/s. The database is one bench/send_throughput.py built (100,000 members).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "newsletters" / "2019-08-01-no-police-facial-recognition.yaml"


class Stop(requests.adapters.BaseAdapter):
    """Prepares nothing itself: requests has already encoded the body when send() is reached."""

    sent = 0  # bytes of the bodies, all calls

    def send(self, request: requests.PreparedRequest, *args: object, **kwargs: object) -> requests.Response:
        Stop.sent += len(request.body or b"")
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"id": "<bench@mg.example.org>", "message": "Queued. Thank you."}'
        response.request = request
        return response

    def close(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", type=Path, default=Path("/tmp/actionmail-bench/send-members-100000.db"))
    args = parser.parse_args()
    from actionmail import audience, delivery, providers, variants
    from actionmail.delivery import engine

    work = Path("/tmp/actionmail-bench/payloads")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copy(args.database, work / "members.db")
    shutil.copy(ROOT / "officials.yaml", work)
    shutil.copy(SEED, work)
    (work / "actionmail.toml").write_text((ROOT / "actionmail.toml").read_text() + (
        '\n[audience]\ndatabase = "members.db"\n\n[providers.mailgun]\ndomain = "mg.example.org"\n'
        'base_url = "https://api.mailgun.net"\n'
    ))  # fmt: skip
    os.environ["ACTIONMAIL_MAILGUN_API_KEY"] = "bench-key-not-secret"
    os.chdir(work)
    edition = variants.load_edition(work / SEED.name)
    provider = providers.build(edition.project, "mailgun")
    provider.session.mount("https://", Stop())  # type: ignore[attr-defined]
    with audience.Store.open(work / "members.db") as store:
        ledger = delivery.Ledger(work / "members.db")
        plan = delivery.prepare(edition, store, ledger, None)
        send = ledger.create_send(plan.issue, plan.content_hash, None)
        delivery._enqueue(plan, store, ledger, send)
        env = delivery.envelope(edition.project, plan.issue, str(send.id))
        eng = engine.Engine(provider, ledger, send.id, delivery.Pace())
        start, cpu = time.perf_counter(), time.process_time()
        recipients = calls = 0
        for job in delivery.Batches(plan, store, ledger, provider, eng, send, env, b"k" * 32).all():
            provider.send(job.batch)
            recipients += len(job.batch.recipients)
            calls += 1
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        ledger.close()
    # CPU time beside the wall clock: on a shared machine the wall clock also counts waiting for a core.
    print(json.dumps({"recipients": recipients, "variants": len(plan.audience), "seconds": seconds,
                      "recipients_per_second": recipients / seconds, "cpu_seconds": cpu_seconds,
                      "recipients_per_cpu_second": recipients / cpu_seconds,
                      "body_bytes_per_call": Stop.sent // calls}))  # fmt: skip


if __name__ == "__main__":
    main()
