"""`xbot sandbox`: faults, posts and reset on the state file; bad input exits non-zero with one line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from xbot_pipeline.sandbox.state import SandboxState
from xbot_pipeline_tests.cli.forkserver import Result, run_xbot
from xbot_pipeline_tests.procutil import start_xbot_in_background, stop_or_kill


def xbot(home: Path, *args: str) -> Result:
    env = {**os.environ, "XBOT_HOME": str(home), "COLUMNS": "200"}
    return run_xbot(env, "sandbox", *args, timeout_s=60)


def test_fault_posts_reset_and_bad_input(tmp_path: Path) -> None:
    added = xbot(tmp_path, "fault", "http_500", "--next", "2", "--account", "xbot_demo")
    assert added.returncode == 0, added.stderr
    state = SandboxState(tmp_path / "sandbox.sqlite3")
    [fault] = state.faults()
    assert (fault.kind, fault.remaining, fault.account) == ("http_500", 2, "xbot_demo")
    state.create_post(state.account("xbot_demo"), "listed by the CLI", None, "api")
    state.close()

    listed = xbot(tmp_path, "posts")
    assert listed.returncode == 0 and "listed by the CLI" in listed.stdout

    for bad in (
        ("fault", "meteor"),
        ("fault", "http_500", "--prob", "1.5"),
        ("fault", "hang", "--params", "[1]"),
        ("posts", "--account", "nobody"),
    ):
        result = xbot(tmp_path, *bad)
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("xbot: error:"), result.stderr

    assert xbot(tmp_path, "reset").returncode == 0
    state = SandboxState(tmp_path / "sandbox.sqlite3")
    assert state.posts() == [] and state.faults() == []
    state.close()


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_serve_prints_urls_and_credentials_and_stops_on_interrupt(tmp_path: Path, stop: str) -> None:
    """Started as a shell starts a background job (SIGINT ignored), it still stops on SIGINT or SIGTERM."""
    import signal
    import stat
    import time

    import httpx

    env = {**os.environ, "XBOT_HOME": str(tmp_path), "COLUMNS": "250"}
    session = tmp_path / "session.json"
    proc = start_xbot_in_background(
        "sandbox",
        "serve",
        "--port",
        "0",
        "--session-file",
        str(session),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("session file" in line for line in lines):
            lines.append(proc.stdout.readline())
        text = "".join(lines)
        url = text.split("X stand-in on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and "API token for @xbot_demo: sbx-" in text
        assert stat.S_IMODE(session.stat().st_mode) == 0o600
        assert httpx.get(url + "/home", follow_redirects=False).status_code == 302
    finally:
        stop_or_kill(proc, getattr(signal, stop), timeout=15)
