"""Sending while serving: a real `actionmail send` (through the outbox, paced so that it lasts) runs while many
concurrent one-click POSTs hit the real `actionmail serve` on the same SQLite database. Every POST is answered 200
(none refused, no "database is locked"), every unsubscribe is recorded once, and the send's ledger accounts for
every member exactly once: sent before they unsubscribed, or skipped after."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from actionmail import tokens
from actionmail.audience import Store
from actionmail.cli import main
from tests import sql
from tests.conftest import ROOT, SEED
from tests.serve.conftest import KEY, LIST_ID, start, stop

UNSUBSCRIBING = 200


@pytest.fixture
def sample(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(tokens.SECRET_KEY_VARIABLE, KEY)
    shutil.copy(ROOT / "sample" / "members.csv", project / "members.csv")
    assert CliRunner().invoke(main, ["subscribers", "import", "members.csv"]).exit_code == 0
    shutil.copy(SEED, project / "newsletters" / SEED.name)
    return project


def test_one_click_posts_during_a_send_are_all_recorded_and_the_ledger_adds_up(sample: Path) -> None:
    with Store.open(sample / "actionmail.db") as store:
        everyone = {m.id: m.email for m in store.subscribers()}
    leaving = random.Random(8058).sample(sorted(everyone), UNSUBSCRIBING)
    urls = {i: f"/unsubscribe/{tokens.make(KEY.encode(), LIST_ID, i, everyone[i])}" for i in leaving}
    served = start(sample)
    try:
        env = {**os.environ, tokens.SECRET_KEY_VARIABLE: KEY, "PYTHONPATH": os.pathsep.join(sys.path)}
        send = subprocess.Popen(
            [sys.executable, "-m", "actionmail", "send", f"newsletters/{SEED.name}", "--yes", "--rate", "150/s"],
            cwd=sample,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        # Wait until the send is under way (its first messages are in the outbox), then unsubscribe 200 at once.
        outbox = sample / "outbox" / SEED.stem
        deadline = time.monotonic() + 120
        while not (outbox.is_dir() and any(outbox.iterdir())):
            assert send.poll() is None, send.communicate()[0].decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with requests.Session() as session, ThreadPoolExecutor(32) as pool:
            answers = list(
                pool.map(
                    lambda i: session.post(served.base + urls[i], data={"List-Unsubscribe": "One-Click"}, timeout=60),
                    leaving,
                )
            )
        sending_throughout = send.poll() is None
        output = send.communicate(timeout=300)[0].decode()
    finally:
        stop(served)
    assert [a.status_code for a in answers] == [200] * UNSUBSCRIBING
    assert sending_throughout, "the send ended before the POSTs did: nothing was concurrent"
    assert send.returncode == 0, output
    assert "locked" not in output and "locked" not in served.log
    with Store.open(sample / "actionmail.db") as store:
        for i in leaving:
            assert [(e.change, e.source) for e in store.history(everyone[i])] == [("unsubscribed", "one-click")]
        assert store.count() == len(everyone) - UNSUBSCRIBING
    db = sql.connect(sample / "actionmail.db")
    ledger = dict(db.execute("SELECT subscriber_id, state FROM deliveries").fetchall())
    db.close()
    sent = {int(path.stem) for path in outbox.glob("*.eml")}
    assert set(ledger) == set(everyone)  # every member once
    assert set(ledger.values()) <= {"accepted", "skipped"}
    skipped = {i for i, state in ledger.items() if state == "skipped"}
    assert skipped <= set(leaving)  # only those who unsubscribed were skipped…
    assert sent == set(everyone) - skipped  # …and everyone else got the email, once
    assert skipped, "no one unsubscribed before their batch went out: the test did not overlap the send"
    print(f"{len(skipped)} of {UNSUBSCRIBING} unsubscribed before their batch went out; send output: {output!r}")
