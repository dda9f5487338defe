"""Benchmark: a whole send through Mailgun's API with 50 ms of latency per call, against its floor.

    .venv/bin/python bench/send_throughput.py --count 100000            # and 10000, 1000000

The floor is what latency alone costs: calls * latency / concurrency. The goal is within 1.5 times it, with peak
memory flat from 10k to 1M recipients. The send is the real one (`delivery.prepare` and `execute`: the ledger,
batches of up to 1,000 of one variant, tokens, the Mailgun module building its form with recipient-variables);
the server is a lean stand-in for Mailgun in its own process, which checks the auth, counts each call's `to`
addresses and their recipient-variables, waits the latency, and answers as Mailgun does — it does not expand
anything, so that the sender is what is measured.

Members come from bench/generate_members.py (seed 1), imported once per size into /tmp/actionmail-bench/.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = Path("/tmp/actionmail-bench")
SEED = ROOT / "newsletters" / "2019-08-01-no-police-facial-recognition.yaml"
API_KEY = "bench-key-not-secret"
ADDRESS = re.compile(r'[^\s<>,"]+@[^\s<>,"]+')


def serve(port_queue: multiprocessing.Queue, latency: float, counter: multiprocessing.Array) -> None:  # type: ignore[type-arg]
    expected = "Basic " + base64.b64encode(f"api:{API_KEY}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = self.headers.get("Authorization") == expected
            form = _form(self.headers["Content-Type"], body)
            variables = json.loads(form["recipient-variables"][0])
            # The addresses in `to` by a pattern, not email.utils.getaddresses: that took 9 ms of CPU a call, on
            # the same two cores as the sender, and its calls queued behind each other in this process, adding
            # up to 40 ms to the latency of a call that came in with three others. (The members' names here
            # have no '@'.)
            to = ADDRESS.findall(form["to"][0])
            ok = ok and len(to) <= 1000 and set(to) == set(variables)
            time.sleep(latency)
            with counter.get_lock():
                counter[0] += len(to)  # recipients
                counter[1] += 1  # calls
            payload = json.dumps({"id": "<bench@mg.example.org>", "message": "Queued. Thank you."}).encode()
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _form(content_type: str, body: bytes) -> dict[str, list[str]]:
    """The fields of a form body; multipart split by hand, since the email parser would be the bottleneck."""
    if not content_type.startswith("multipart/form-data"):
        return urllib.parse.parse_qs(body.decode())
    boundary = b"--" + content_type.split("boundary=")[1].strip('"').encode()
    fields: dict[str, list[str]] = {}
    for part in body.split(boundary)[1:-1]:
        head, _, value = part.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if name:
            fields.setdefault(name[1].decode(), []).append(value[:-2].decode())  # drop the CRLF before the boundary
    return fields


def database(count: int, work: Path) -> Path:
    """A subscriber database of ``count`` generated members, built once and copied for each run."""
    work.mkdir(exist_ok=True)
    built = work / f"send-members-{count}.db"
    if not built.exists():
        csv = work / f"members-{count}.csv"
        if not csv.exists():
            generate = [sys.executable, ROOT / "bench" / "generate_members.py", "--count", str(count), "--seed", "1"]
            subprocess.run([*generate, "--output", str(csv)], check=True)
        from actionmail.audience import Store

        with Store.open(built) as store:
            store.import_csv(csv, known_districts=[str(d) for d in range(1, 8)])
    run = work / f"send-run-{count}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{run}{suffix}").unlink(missing_ok=True)
    shutil.copy(built, run)
    return run


def postgres_copy(members: Path) -> tuple[Any, str]:
    """A throwaway PostgreSQL cluster, durable (fsync and synchronous commits on, as a real server), with a
    database holding everything in the SQLite file ``members`` (`db copy`'s code): the cluster, to stop, and the
    database's URL."""
    sys.path.insert(0, str(ROOT))
    from tests.postgres import Cluster, binaries

    from actionmail import database as db
    from actionmail.audience import schema
    from actionmail.database import copy as copying

    bindir = binaries()
    assert bindir is not None, "PostgreSQL is not installed: apt-get install postgresql"
    cluster = Cluster(bindir, durable=True).start()
    with cluster.admin() as admin:
        admin.execute("CREATE DATABASE bench")
    url = cluster.url("bench")
    target, source = db.connect(url), copying.open_source(members)
    try:
        schema.migrate(target)
        copying.copy(source, target)
        target.execute("ANALYZE")
    finally:
        target.close()
        source.close()
    return cluster, url


def child(project: Path, concurrency: int, workers: int) -> None:
    import resource

    from actionmail import audience, delivery, providers, variants

    os.chdir(project)
    edition = variants.load_edition(project / SEED.name)
    db = audience.database_location(edition.project)
    provider = providers.build(edition.project)
    start = time.perf_counter()
    with audience.Store.open(db) as store:
        ledger = delivery.Ledger(db)
        plan = delivery.prepare(edition, store, ledger, None)
        prepared = time.perf_counter()
        _, _, counts = delivery.execute(plan, store, ledger, provider, delivery.Pace(concurrency=concurrency),
                                        b"k" * 32, workers=workers)  # fmt: skip
        ledger.close()
    done = time.perf_counter()
    print(json.dumps({
        "accepted": counts[delivery.State.ACCEPTED], "failed": counts[delivery.State.FAILED],
        "prepare_seconds": prepared - start, "send_seconds": done - prepared,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # the largest worker process's (send --workers), each on top of the parent's
        "worker_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))  # fmt: skip


def peer(port: int, calls: int, concurrency: int) -> float:
    """Seconds for ``calls`` posts of one prebuilt 1,000-recipient form, ``concurrency`` at a time, to the same
    server: a sender that does nothing else. What this machine and the stand-in allow at the moment."""
    import concurrent.futures

    import requests

    variables = {f"member{i}@example.org": {"h0": f"https://example.org/unsubscribe/{i}.MAC", "t0": "…"}
                 for i in range(1000)}  # fmt: skip
    form = [
        ("from", (None, "Action <action@example.org>")),
        ("html", (None, "<p>" + "x" * 28_000 + "</p>")),
        ("text", (None, "y" * 5_000)),
        ("to", (None, ", ".join(f"Member {i} <member{i}@example.org>" for i in range(1000)))),
        ("recipient-variables", (None, json.dumps(variables))),
    ]
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=concurrency))
    url = f"http://127.0.0.1:{port}/v3/mg.example.org/messages"

    def post(_: int) -> None:
        session.post(url, files=form, auth=("api", API_KEY)).raise_for_status()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, range(calls)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    # Another directory for another version's databases: a run of the code at main against this bench (its
    # lean server), PYTHONPATH=/tmp/main/src, needs databases at main's schema version.
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--workers", type=int, default=1, help="send --workers (1: in-process)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="send from PostgreSQL: a throwaway cluster (durable: fsync on), the members copied in",
    )
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), int(args.child[1]), int(args.child[2]))
        return
    run_db = database(args.count, args.work)
    cluster = None
    env = {**os.environ, "ACTIONMAIL_MAILGUN_API_KEY": API_KEY}
    if args.postgres:
        cluster, env["ACTIONMAIL_DATABASE_URL"] = postgres_copy(run_db)
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    counter = multiprocessing.Array("q", 2)
    server = multiprocessing.Process(target=serve, args=(ports, args.latency, counter), daemon=True)
    server.start()
    port = ports.get(timeout=10)
    project = args.work / f"send-project-{args.count}"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir()
    shutil.copy(ROOT / "officials.yaml", project)
    shutil.copy(SEED, project)
    settings = (ROOT / "actionmail.toml").read_text() + (
        f'\n[audience]\ndatabase = "{run_db}"\n\n[send]\nprovider = "mailgun"\n\n'
        f'[providers.mailgun]\ndomain = "mg.example.org"\nbase_url = "http://127.0.0.1:{port}"\n'
    )
    (project / "actionmail.toml").write_text(settings)
    try:
        command = [sys.executable, __file__, "--child", str(project), str(args.concurrency), str(args.workers)]
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    finally:
        if cluster is not None:
            cluster.stop()
    result = json.loads(out.stdout)
    delivered, made = counter[:]
    calls = -(-args.count // 1000) + 8  # at most one short batch per variant
    floor = calls * args.latency / args.concurrency
    # The peer, right after the send: on a shared machine the floor is out of reach of any sender, and how far
    # depends on the moment. The send against the peer is what this code costs beyond posting.
    peer_seconds = peer(port, made, args.concurrency)
    server.terminate()
    result.update(count=args.count, workers=args.workers, database="postgresql" if args.postgres else "sqlite",
                  delivered_at_server=delivered, calls=made,
                  latency=args.latency, concurrency=args.concurrency, floor_seconds_at_most=floor,
                  ratio_to_floor=result["send_seconds"] / floor, peer_seconds=peer_seconds,
                  ratio_to_peer=result["send_seconds"] / peer_seconds)  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
