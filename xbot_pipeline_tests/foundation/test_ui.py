"""`xbot ui` serves the code location on the embedded instance from one long-running code server, and
stops all of Dagster on SIGTERM quietly (exit 0, no "Aborted!", no warning, nothing left running)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from xbot_pipeline_tests.procutil import XBOT, start_xbot_in_background, stop_or_kill

QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  location { name } jobs { name } schedules { name scheduleState { status } } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children of children too), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def test_ui_serves_the_location_and_stops_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XBOT_", "DAGSTER_"))}
    env["XBOT_HOME"] = str(home)
    # SIGINT ignored, as CI starts it: `dagster dev` and its children inherit that
    out_file, err_file = tmp_path / "ui.out", tmp_path / "ui.err"  # files: a full pipe would block it
    with out_file.open("w") as out, err_file.open("w") as err:
        proc = start_xbot_in_background(
            "ui", "--port", str(port), env=env, cwd=tmp_path, stdout=out, stderr=err
        )
    children: set[int] = set()
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
        children = _descendants(proc.pid)
        commands = " ".join(Path(f"/proc/{pid}/cmdline").read_text() for pid in _alive(children))
        assert "code-server" in commands and "dagster_webserver" in commands and "_daemon" in commands
        assert " dev" not in commands.replace("\0", " ")
        assert data["location"]["name"] == "xbot_pipeline"
        assert {"posting_job", "recovery_job", "health_job"} <= {j["name"] for j in data["jobs"]}
        states = {s["name"]: s["scheduleState"]["status"] for s in data["schedules"]}
        assert states["posting_schedule"] == "RUNNING" and states["recovery_schedule"] == "RUNNING"
        assert (home / "dagster" / "dagster.yaml").exists()
    finally:
        stop_or_kill(proc, signal.SIGTERM, timeout=90)
    out, err = out_file.read_text(), err_file.read_text()
    assert proc.returncode == 0, err[-2000:]
    assert "Dagster stopped." in out
    for noise in ("Aborted!", "Traceback", "dg dev", "superseded"):
        assert noise not in out + err, noise
    assert children and _alive(children) == set(), "processes left running"


def test_ui_refuses_a_port_out_of_range_with_one_line(tmp_path: Path) -> None:
    for port in ("70000", "-1", "0"):
        done = subprocess.run(
            [*XBOT, "ui", "--port", port],
            env={**os.environ, "XBOT_HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode != 0
        assert done.stderr.strip().splitlines() == [
            f"xbot: error: --port must be between 1 and 65535, got {port}"
        ]
        assert not (tmp_path / "dagster").exists()  # refused before anything starts


def test_ui_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*XBOT, "ui", "--port", str(port)],
            env={**os.environ, "XBOT_HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"xbot: error: port {port} on 127.0.0.1 is already in use; pick another with --port"
    ]
