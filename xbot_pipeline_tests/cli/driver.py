"""Many `xbot` invocations from one interpreter: the CLI is imported once, then each case runs in a
forked child with its own argv (bytes, decoded as Python decodes a real argv), environment and stdout/
stderr files, through ``xbot_pipeline.cli.main`` exactly as the console script calls it.

A fresh ``python`` per case costs 1-2 s here (most of it importing Dagster); a fork costs milliseconds,
and the child is still a real process with real file descriptors and exit status.

Usage: ``python -m xbot_pipeline_tests.cli.driver CASES.json RESULTS.json``; each case is
``{"argv": [hex bytes...], "env": {NAME: hex bytes | null}, "cwd": path | null}``.
"""

from __future__ import annotations

import json
import os
import sys

from xbot_pipeline_tests.cli.fork import run_forked


def _run(case: dict) -> dict:
    def prepare() -> None:
        for name, value in case["env"].items():
            if value is None:
                os.environb.pop(name.encode(), None)
            else:
                os.environb[name.encode()] = bytes.fromhex(value)
        if case.get("cwd"):
            os.chdir(case["cwd"])
        sys.argv = ["xbot", *(os.fsdecode(bytes.fromhex(a)) for a in case["argv"])]

    return run_forked(prepare, "DRIVER")


def main() -> None:
    import xbot_pipeline.cli  # noqa: F401  (import once, before forking)

    with open(sys.argv[1]) as fh:
        cases = json.load(fh)
    results = [_run(case) for case in cases]
    with open(sys.argv[2], "w") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    main()
