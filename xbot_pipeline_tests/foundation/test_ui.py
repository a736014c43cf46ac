"""`xbot ui` serves the code location on the embedded instance and stops all of Dagster on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from xbot_pipeline_tests.procutil import start_xbot_in_background, stop_or_kill

QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  location { name } jobs { name } schedules { name scheduleState { status } } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dagster_processes(home: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-af", "dagster"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if str(home) in line]


def test_ui_serves_the_location_and_stops_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XBOT_", "DAGSTER_"))}
    env["XBOT_HOME"] = str(home)
    # SIGINT ignored, as CI starts it: `dagster dev` and its children inherit that
    proc = start_xbot_in_background(
        "ui", "--port", str(port), env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        data = None
        while time.monotonic() < deadline and data is None:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=5)
                nodes = answer.json()["data"]["repositoriesOrError"]["nodes"]
                data = nodes[0] if nodes else None
            except (httpx.HTTPError, KeyError, TypeError, ValueError):
                pass
            if data is None:
                assert proc.poll() is None, "xbot ui exited early"
                time.sleep(1)
        assert data is not None, "the webserver never served the code location"
        assert data["location"]["name"] == "xbot_pipeline"
        assert {"posting_job", "recovery_job", "health_job"} <= {j["name"] for j in data["jobs"]}
        states = {s["name"]: s["scheduleState"]["status"] for s in data["schedules"]}
        assert states["posting_schedule"] == "RUNNING" and states["recovery_schedule"] == "RUNNING"
        assert (home / "dagster" / "dagster.yaml").exists()
    finally:
        stop_or_kill(proc, signal.SIGTERM, timeout=60)
    deadline = time.monotonic() + 30
    while _dagster_processes(home) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _dagster_processes(home) == []
