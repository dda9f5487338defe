"""uvicorn, as ``actionmail serve`` runs it: the application from :func:`actionmail.serve.app.from_environment`
in each worker process, with limits on connections, keep-alive and headers, and no access log of its own (the
application logs each request, with tokens and addresses cut short; uvicorn's would log them in full)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import uvicorn

from actionmail.serve.app import PROJECT_VARIABLE

# Per worker: connections and requests at once before uvicorn answers 503. uvicorn counts open connections, idle
# keep-alive ones included, so this is about clients, not work: after a send, mail providers post a webhook per
# event and mailbox providers one-click POSTs, from many servers, each holding its connection for KEEP_ALIVE_SECONDS.
# A hundred such clients were enough for 503s with requests arriving one at a time; a thousand idle connections
# cost an event loop little, and the requests themselves queue on SQLite's one writer either way.
LIMIT_CONCURRENCY = 1000
KEEP_ALIVE_SECONDS = 5
# Bytes of request line and headers h11 holds while they are incomplete, then 400. (uvicorn reads 64 KB at a time:
# headers that arrive at once are read up to that.)
MAX_HEADERS = 16 * 1024

LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "actionmail.serve": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def run(root: Path, host: str, port: int, *, workers: int, proxy_headers: bool, forwarded_allow_ips: str) -> None:
    """Serve until interrupted. ``root`` is the project's directory, which each worker loads the settings from."""
    os.environ[PROJECT_VARIABLE] = str(root)
    uvicorn.run(
        "actionmail.serve.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="h11",  # strict HTTP/1.1 parsing, the same on every machine (httptools is optional)
        loop="asyncio",
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        limit_concurrency=LIMIT_CONCURRENCY,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=10,
        h11_max_incomplete_event_size=MAX_HEADERS,
        server_header=False,
        access_log=False,
        log_config=LOG_CONFIG,
    )
