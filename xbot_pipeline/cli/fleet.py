"""`xbot worker`: a Celery worker of the fleet (docs/SCALING.md), for ``XBOT_EXECUTOR=celery``.

It replaces itself with ``celery -A xbot_pipeline.defs.fleet.worker worker`` listening on the queues
asked for (``browser`` only where Chromium is installed, ``api`` anywhere), one step at a time per
process slot, with the same broker and delivery rules as the executor (both read the XBOT_* settings).
"""

from __future__ import annotations

import os
import socket
import sys

import typer

from xbot_pipeline.cli.app import app, fail
from xbot_pipeline.settings import load_settings

APP_MODULE = "xbot_pipeline.defs.fleet.worker"


def worker_command(queues: list[str], concurrency: int, name: str, loglevel: str = "INFO") -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        APP_MODULE,
        "worker",
        "-Q",
        ",".join(queues),
        "-c",
        str(concurrency),
        "-n",
        f"{name}@{socket.gethostname()}",
        "--prefetch-multiplier=1",
        "--without-gossip",
        "--without-mingle",
        "-l",
        loglevel,
    ]


@app.command("worker")
def worker(
    queues: str = typer.Option("api", "--queues", "-q", help="comma-separated: browser, api"),
    concurrency: int = typer.Option(1, "--concurrency", "-c", help="steps this worker runs at once (1-64)"),
    name: str = typer.Option("xbot", "--name", "-n", help="worker name (the host name is appended)"),
) -> None:
    """Run a fleet worker (Celery) for posting/recovery steps; needs XBOT_EXECUTOR=celery on the runs."""
    from xbot_pipeline.defs.fleet.executor import QUEUES  # dagster-celery is only imported here

    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in wanted if q not in QUEUES]
    if not wanted or unknown:
        fail(f"--queues must name {' and/or '.join(QUEUES)}, got {queues!r}")
    if not 1 <= concurrency <= 64:
        fail(f"--concurrency must be from 1 to 64, got {concurrency}")
    if not name.replace("-", "").replace("_", "").isalnum():
        fail(f"--name must be letters, digits, '-' or '_', got {name!r}")
    load_settings()
    command = worker_command(wanted, concurrency, name)
    sys.stdout.flush()
    os.execv(command[0], command)
