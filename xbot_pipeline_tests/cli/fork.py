"""Run ``xbot`` in a forked child of an interpreter that imported the CLI once: the child is a real
process (its own file descriptors, environment and exit status) that calls ``xbot_pipeline.cli.main``
as the console script does, and costs milliseconds instead of the 1-2 s of a fresh interpreter.

``driver.py`` (a batch of cases known in advance) and ``forkserver.py`` (one command at a time) both
fork through ``run_forked``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable


def run_forked(prepare: Callable[[], None], label: str) -> dict:
    """Fork; the child redirects stdout/stderr to files, runs ``prepare`` (environment, cwd, argv), then
    the CLI; returns ``{"rc", "stdout", "stderr"}``. A failure of the harness itself exits 99 with
    ``<LABEL> FAILURE`` on stderr, so a test never mistakes it for the CLI's answer."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 (shared with the forked child, closed with the process)
    err = tempfile.TemporaryFile()  # noqa: SIM115
    pid = os.fork()
    if pid == 0:  # the child: becomes `xbot ARGV`
        code = 1
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            null = os.open(os.devnull, os.O_RDONLY)  # never the parent's stdin (the fork server's requests)
            os.dup2(null, 0)
            os.close(null)
            prepare()
            from xbot_pipeline.cli import main

            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:
            os.write(2, f"{label} FAILURE {type(exc).__name__}: {exc}\n".encode())
            code = 99
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    out.seek(0)
    err.seek(0)
    return {
        "rc": os.waitstatus_to_exitcode(status),
        "stdout": out.read().decode("utf-8", "replace"),
        "stderr": err.read().decode("utf-8", "replace"),
    }
