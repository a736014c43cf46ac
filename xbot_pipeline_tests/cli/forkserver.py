"""A long-lived `xbot` launcher for tests that interleave commands with assertions on the store.

``driver.py`` runs a list of cases known in advance; a test that must look at the store between commands
needs them one at a time. This process imports the CLI once, then reads one JSON request per line on stdin
(``{"argv": [...], "env": {...}, "cwd": ...}``), forks a child that becomes `xbot ARGV` with exactly that
environment (a real process, real exit status and file descriptors, ``xbot_pipeline.cli.main`` as the
console script calls it), and writes one JSON line with ``rc``, ``stdout`` and ``stderr``. A fresh
interpreter per command costs 1-2 s of CPU (importing Dagster); a fork costs milliseconds.

Usage from a test: ``XbotForkServer`` below (a context manager; every wait is bounded).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
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
        )

    def run(self, env: dict[str, str], *args: str, cwd: str | None = None) -> Result:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": list(args), "env": dict(env), "cwd": cwd}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout_s)
        if not ready:
            raise TimeoutError(f"xbot {' '.join(args)[:80]} did not finish in {self.timeout_s:g} s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the xbot fork server exited")
        data = json.loads(line)
        from xbot_pipeline_tests.fixtures.traceback_scan import record_output

        record_output(f"xbot {' '.join(args)[:80]}", data["stdout"], data["stderr"])  # no traceback, ever
        return Result(data["rc"], data["stdout"], data["stderr"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> XbotForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    main()
