"""A long-lived `xbot` launcher for tests that interleave commands with assertions on the store.

``driver.py`` runs a list of cases known in advance; a test that must look at the store between commands
needs them one at a time. This process imports the CLI once, then reads one JSON request per line on stdin
(``{"argv": [...], "env": {...}, "cwd": ...}``), forks a child that becomes `xbot ARGV` with exactly that
environment (a real process, real exit status and file descriptors, ``xbot_pipeline.cli.main`` as the
console script calls it), and writes one JSON line with ``rc``, ``stdout`` and ``stderr``. A fresh
interpreter per command costs 1-2 s of CPU (importing Dagster); a fork costs milliseconds.

Usage from a test: ``run_xbot(env, *args)`` (one server per test process, started on first use), or
``XbotForkServer`` below as a context manager. Every wait is bounded.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import select
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from xbot_pipeline_tests.cli.fork import run_forked


def _run(request: dict) -> dict:
    def prepare() -> None:
        os.environ.clear()
        os.environ.update(request["env"])
        if request.get("cwd"):
            os.chdir(request["cwd"])
        sys.argv = ["xbot", *request["argv"]]
        app = importlib.import_module("xbot_pipeline.cli.app")  # the module (the package exports `app`)
        columns = os.environ.get("COLUMNS", "")
        if columns.isdigit():  # Rich read COLUMNS when the server imported the CLI: as a new process would
            app.console.width = app.err_console.width = int(columns)

    return run_forked(prepare, "FORKSERVER")


def main() -> None:
    import xbot_pipeline.cli  # noqa: F401  (import once, before forking)

    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(_run(json.loads(line))) + "\n")
            sys.stdout.flush()


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class XbotForkServer:
    """`xbot` commands through one fork server; ``run(env, *args)`` answers like ``subprocess.run``."""

    def __init__(self, timeout_s: float = 120.0) -> None:
        self.timeout_s = timeout_s
        root = Path(__file__).resolve().parents[2]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "xbot_pipeline_tests.cli.forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            text=True,
            start_new_session=True,  # its own group: a hung command is killed with the server
        )

    def run(
        self, env: dict[str, str], *args: str, cwd: str | None = None, timeout_s: float | None = None
    ) -> Result:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": list(args), "env": dict(env), "cwd": cwd}) + "\n")
        self.proc.stdin.flush()
        wait = self.timeout_s if timeout_s is None else timeout_s
        ready, _, _ = select.select([self.proc.stdout], [], [], wait)
        if not ready:
            self.kill()  # the server would answer the next request with this one's late result
            raise TimeoutError(f"xbot {' '.join(args)[:80]} did not finish in {wait:g} s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the xbot fork server exited")
        data = json.loads(line)
        from xbot_pipeline_tests.fixtures.traceback_scan import record_output

        record_output(f"xbot {' '.join(args)[:80]}", data["stdout"], data["stderr"])  # no traceback, ever
        return Result(data["rc"], data["stdout"], data["stderr"])

    def kill(self) -> None:
        """The server and every command it forked (its process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> XbotForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared: XbotForkServer | None = None


def run_xbot(env: dict[str, str], *args: str, cwd: str | None = None, timeout_s: float = 120.0) -> Result:
    """`xbot ARGS` with exactly ``env``, answered like ``subprocess.run(capture_output=True, text=True)``,
    through this test process's fork server (started on first use, replaced after it died or timed out)."""
    global _shared
    if _shared is None or _shared.proc.poll() is not None:
        _shared = XbotForkServer()
        atexit.register(_shared.close)
    return _shared.run(env, *args, cwd=cwd, timeout_s=timeout_s)


if __name__ == "__main__":
    main()
