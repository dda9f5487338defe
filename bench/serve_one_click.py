"""Benchmark: one-click unsubscribes hitting `actionmail serve` while a big send runs on the same database.

    .venv/bin/python bench/serve_one_click.py --count 100000 --posts 1000

The send is bench/send_throughput.py's (the real `delivery.prepare` and `execute` through the Mailgun module, to
its lean stand-in with 50 ms a call). It runs once alone, then again on a fresh copy of the database while the
real `actionmail serve` (uvicorn, one worker) takes ``--posts`` one-click POSTs for distinct members, 64 at a
time, from the moment the send's first call reaches the stand-in. Prints each POST's status, their latency
(p50, p99, max), whether every one was recorded (status and history), and the send's seconds alone and with the
POSTs: its slowdown. Nothing here is a test; docs/performance.md has a run.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import send_throughput  # noqa: E402

from actionmail import tokens  # noqa: E402

KEY = "bench-serve-key-" + "x" * 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def project_for(run_db: Path, port: int, work: Path, count: int) -> Path:
    project = work / f"serve-project-{count}"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    shutil.copy(ROOT / "officials.yaml", project)
    shutil.copy(send_throughput.SEED, project)
    settings = (ROOT / "actionmail.toml").read_text() + (
        f'\n[audience]\ndatabase = "{run_db}"\n\n[send]\nprovider = "mailgun"\n\n'
        f'[providers.mailgun]\ndomain = "mg.example.org"\nbase_url = "http://127.0.0.1:{port}"\n'
    )
    (project / "actionmail.toml").write_text(settings)
    return project


def send(project: Path, concurrency: int) -> subprocess.Popen[str]:
    env = {**os.environ, "ACTIONMAIL_MAILGUN_API_KEY": send_throughput.API_KEY}
    child = [sys.executable, send_throughput.__file__, "--child", str(project), str(concurrency)]
    return subprocess.Popen(child, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--at-once", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--work", type=Path, default=send_throughput.WORK)
    args = parser.parse_args()
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    counter = multiprocessing.Array("q", 2)
    server = multiprocessing.Process(target=send_throughput.serve, args=(ports, 0.05, counter), daemon=True)
    server.start()
    mailgun = ports.get(timeout=10)

    # The send alone.
    project = project_for(send_throughput.database(args.count, args.work), mailgun, args.work, args.count)
    alone = send(project, args.concurrency)
    alone_result = json.loads(alone.communicate()[0])

    # The send again, on a fresh copy, with the service taking one-click POSTs.
    run_db = send_throughput.database(args.count, args.work)
    project = project_for(run_db, mailgun, args.work, args.count)
    db = sqlite3.connect(run_db)
    members = db.execute("SELECT id, email FROM subscribers WHERE status = 'active'").fetchall()
    db.close()
    leaving = random.Random(8058).sample(members, args.posts)
    port = free_port()
    env = {**os.environ, tokens.SECRET_KEY_VARIABLE: KEY}
    # Its log to a file: a pipe nobody reads fills up (64 KB, some 700 lines) and then blocks the server's writes.
    log_path = project / "serve.log"
    with log_path.open("w") as log:
        serving = subprocess.Popen([sys.executable, "-m", "actionmail", "serve", "--port", str(port)], cwd=project,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.05)
    calls_before = counter[1]
    sending = send(project, args.concurrency)
    while counter[1] == calls_before:  # until the send's first call arrives
        time.sleep(0.005)
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=args.at_once))

    def post(member: tuple[int, str]) -> tuple[int, float]:
        token = tokens.make(KEY.encode(), "daily-action", member[0], member[1])
        start = time.perf_counter()
        response = session.post(f"{base}/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}, timeout=120)
        return response.status_code, time.perf_counter() - start

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.at_once) as pool:
        answers = list(pool.map(post, leaving))
    posting_seconds = time.perf_counter() - started
    still_sending = sending.poll() is None
    with_result = json.loads(sending.communicate()[0])
    serving.send_signal(signal.SIGINT)
    serving.wait(timeout=30)
    server.terminate()
    db = sqlite3.connect(run_db)
    recorded = db.execute("SELECT count(*) FROM history WHERE source = 'one-click'").fetchone()[0]
    unsubscribed = db.execute("SELECT count(*) FROM subscribers WHERE status = 'unsubscribed'").fetchone()[0]
    skipped = db.execute("SELECT count(*) FROM deliveries WHERE state = 'skipped'").fetchone()[0]
    db.close()
    latencies = sorted(seconds for _, seconds in answers)
    statuses: dict[int, int] = {}
    for status, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    print(json.dumps({
        "count": args.count, "posts": args.posts, "at_once": args.at_once, "statuses": statuses,
        "recorded_in_history": recorded, "unsubscribed": unsubscribed, "skipped_by_the_send": skipped,
        "posts_done_while_sending": still_sending, "posting_seconds": round(posting_seconds, 2),
        "latency_ms": {"p50": round(1000 * statistics.median(latencies), 1),
                       "p99": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1),
                       "max": round(1000 * latencies[-1], 1)},
        "send_seconds_alone": round(alone_result["send_seconds"], 2),
        "send_seconds_with_posts": round(with_result["send_seconds"], 2),
        "slowdown": round(with_result["send_seconds"] / alone_result["send_seconds"], 2),
        "accepted_alone": alone_result["accepted"], "accepted_with_posts": with_result["accepted"],
        "locked_in_serve_log": "locked" in log_path.read_text(),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
