"""Benchmark 3-part threads through the browser publisher: X's thread composer vs the reply chain.

Starts its own local X stand-in and one warm browser (as a posting run reuses one), then posts threads
through the thread composer (the usual layout) and as a reply chain (the stand-in's ``alt_layout``
fault removes the composer's ``addButton``, see docs/SANDBOX.md): with only ``/compose/post`` in the
other layout (``next_n=1``, the chain then runs on the usual markup) and with every page in it. The
three variants alternate thread by thread. Each result is checked (POSTED, 3 ids, composer vs chain as
intended). Prints medians, p95 and the chain/composer ratios measured in this same run.

    .venv/bin/python scripts/bench_threads.py [--threads 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_publishers import report  # same directory: the one per-line report format

from xbot_pipeline.publishing.base import Outcome, PostRequest
from xbot_pipeline.publishing.browser import BrowserPublisher
from xbot_pipeline.sandbox.server import DEMO_HANDLE, SandboxServer

PARTS = 3


VARIANTS = {  # label -> the alt_layout fault injected before each thread (None: the usual layout)
    "thread composer": None,
    "reply chain (alt /compose/post)": {"next_n": 1},
    "reply chain (alt every page)": {"prob": 1.0},
}


def post_thread(browser: BrowserPublisher, server: SandboxServer, label: str, i: int) -> float:
    """One thread of ``PARTS`` parts through ``label``'s path, checked; the seconds ``publish`` took."""
    fault = VARIANTS[label]
    if fault is not None:
        server.admin.inject("alt_layout", **fault)
    parts = [f"{p + 1}/ {label} thread {i} part {p + 1} at {time.time_ns()}" for p in range(PARTS)]
    started = time.perf_counter()
    result = browser.publish(PostRequest("thread", parts))
    elapsed = time.perf_counter() - started
    server.admin.clear_faults()
    if result.outcome is not Outcome.POSTED or len(result.tweet_ids) != PARTS:
        raise SystemExit(f"{label}: thread {i} was {result.outcome}: {result.message}")
    if ("reply chain" in result.message) != (fault is not None):
        raise SystemExit(f"{label}: thread {i} took the wrong path: {result.message}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=15, help="threads per variant")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="xbot-bench-threads-"))
    with SandboxServer(tmp / "x.sqlite3") as server:
        session = server.write_storage_state(DEMO_HANDLE, tmp / "session.json")
        with BrowserPublisher(server.web_url, session, DEMO_HANDLE) as browser:
            post_thread(browser, server, "thread composer", -1)  # warm-up: the launch is not a thread's cost
            times: dict[str, list[float]] = {label: [] for label in VARIANTS}
            for i in range(args.threads):  # the variants alternate, so all see the same machine load
                server.admin.reset()  # forget posts and rate counters (X's create limit would stop a run)
                for label in VARIANTS:
                    times[label].append(post_thread(browser, server, label, i))
            launches = browser.launches
        for label, values in times.items():
            report(f"{PARTS}-part {label}", values)
        base = statistics.median(times["thread composer"])
        ratios = ", ".join(
            f"{label} {statistics.median(times[label]) / base:.2f}" for label in list(VARIANTS)[1:]
        )
        print(f"\nmedian / thread composer median: {ratios}; browser launches {launches}")


if __name__ == "__main__":
    main()
