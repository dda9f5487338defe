"""Benchmark: a whole `actionmail send` of N members through the smtp provider to a local aiosmtpd (STARTTLS, AUTH).

    .venv/bin/python bench/send_smtp.py 1000
    .venv/bin/python bench/send_smtp.py 1000 --rate 100000/s   # any further options go to `actionmail send`

SMTP sends one message a call, so this is the send where per-call costs in the ledger (such as the fsync of each
in-flight mark, docs/delivery.md) weigh most. Prints the send's wall time (checks and rendering included) and
how many messages the server took. Run it alternately against two versions of the code to compare them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.smtp import PASSWORD, USER, SMTPServer, make_certificates, start  # noqa: E402

from actionmail.cli import main  # noqa: E402

SEED = ROOT / "newsletters" / "2019-08-01-no-police-facial-recognition.yaml"


def run(count: int, options: list[str]) -> None:
    project = Path(tempfile.mkdtemp(prefix="actionmail-smtp-bench-"))
    for name in ("actionmail.toml", "officials.yaml"):
        shutil.copy(ROOT / name, project)
    (project / "newsletters").mkdir()
    shutil.copy(SEED, project / "newsletters")
    lines = (ROOT / "sample" / "members.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (project / "members.csv").write_text("".join(lines[: count + 1]), encoding="utf-8")
    os.chdir(project)
    os.environ.update(
        ACTIONMAIL_SECRET_KEY="bench-" + "k" * 32, ACTIONMAIL_SMTP_PASSWORD=PASSWORD, XDG_CACHE_HOME=str(project)
    )
    assert CliRunner().invoke(main, ["subscribers", "import", "members.csv"]).exit_code == 0
    certificates = make_certificates(project)
    handler = SMTPServer()
    controller = start(handler, certificates, implicit_tls=False)
    with open("actionmail.toml", "a", encoding="utf-8") as settings:
        settings.write(
            f'\n[providers.smtp]\nhost = "127.0.0.1"\nport = {controller.port}\nusername = "{USER}"\n'
            f'ca_file = "{certificates.ca}"\n'
        )
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["send", f"newsletters/{SEED.name}", "--yes", "--provider", "smtp", *options])
    elapsed = time.perf_counter() - started
    controller.stop()
    assert result.exit_code == 0, result.output
    print(f"{count} members: {elapsed:.2f} s, {len(handler.delivered)} messages taken")
    shutil.rmtree(project)


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, sys.argv[2:])
