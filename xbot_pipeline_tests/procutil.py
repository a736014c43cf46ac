"""Long-running `xbot` commands as real subprocesses: started the way CI starts them, never leaked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

XBOT = [sys.executable, "-c", "from xbot_pipeline.cli import main; main()"]


def start_xbot_in_background(*args: str, **popen: Any) -> subprocess.Popen:
    """`xbot ARGS` as a shell starts a background job: SIGINT ignored (inherited by whatever it execs),
    in its own process group so that a failed stop can kill everything it started."""
    return subprocess.Popen(
        [*XBOT, *args],
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        **popen,
    )


def stop_or_kill(proc: subprocess.Popen, sig: int, timeout: float) -> None:
    """Send ``sig`` and wait; a process still running after ``timeout`` has its group killed, then the
    ``TimeoutExpired`` propagates (the test fails without leaving processes behind)."""
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
