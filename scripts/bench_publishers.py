"""Benchmark the publishers against the local X stand-in: per-post latency and memory.

Runs: API publisher; browser publisher warm (one browser reused, launches counted); browser cold (a
new browser per post, the baseline). Prints medians, p95 and ratios measured in this same run.

    .venv/bin/python scripts/bench_publishers.py [--posts 30] [--cold-posts 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from xbot_pipeline.publishing.api import ApiPublisher
from xbot_pipeline.publishing.base import Outcome, PostRequest
from xbot_pipeline.publishing.browser import BrowserPublisher
from xbot_pipeline.sandbox.server import DEMO_HANDLE, SandboxServer


def memory_mib(pids: set[int], field: str = "Rss") -> float:
    """Summed RSS or PSS (PSS splits shared pages fairly, so a multi-process browser is not overcounted)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def descendants(root: int) -> set[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(
                    Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except OSError:
                continue
    found, frontier = set(), {root}
    while frontier:
        children = {p for p, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(publish, n: int, label: str) -> list[float]:
    times = []
    for i in range(n):
        started = time.perf_counter()
        result = publish(PostRequest("single", [f"{label} benchmark post number {i} at {time.time_ns()}"]))
        times.append(time.perf_counter() - started)
        if result.outcome is not Outcome.POSTED:
            raise SystemExit(f"{label}: post {i} was {result.outcome}: {result.message}")
    return times


def report(label: str, times: list[float], extra: str = "") -> None:
    median = statistics.median(times)
    print(f"{label:<34} median {median:6.3f} s   p95 {p95(times):6.3f} s   n={len(times)} {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=30)
    parser.add_argument("--cold-posts", type=int, default=8)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="xbot-bench-"))
    me = os.getpid()
    with SandboxServer(tmp / "x.sqlite3") as server:
        session = server.write_storage_state(DEMO_HANDLE, tmp / "session.json")
        base_rss = memory_mib({me})
        with ApiPublisher(server.api_url, server.account().token) as api:
            api_times = run(api.publish, args.posts, "api")
        api_rss = memory_mib({me})
        report("api (httpx)", api_times, f"rss {api_rss:.0f} MiB (python + server thread)")

        with BrowserPublisher(server.web_url, session, DEMO_HANDLE) as warm:
            first = run(warm.publish, 1, "warm-first")
            warm_times = run(warm.publish, args.posts, "warm")
            browser_rss = memory_mib(descendants(me))
            browser_pss = memory_mib(descendants(me), "Pss")
            launches = warm.launches
        report(
            "browser warm (1 browser reused)", warm_times, f"launches {launches}; first post {first[0]:.2f} s"
        )
        print(
            f"{'':<34} Chromium + driver: pss {browser_pss:.0f} MiB (rss sum {browser_rss:.0f} MiB); "
            f"python rss {memory_mib({me}):.0f} MiB (base {base_rss:.0f})"
        )

        cold_times = []
        for i in range(args.cold_posts):
            with BrowserPublisher(server.web_url, session, DEMO_HANDLE) as cold:
                cold_times += run(cold.publish, 1, f"cold{i}")
        report("browser cold (launch per post)", cold_times, "(baseline)")
        warm_median, cold_median = statistics.median(warm_times), statistics.median(cold_times)
        print(
            f"\nwarm/cold median ratio {warm_median / cold_median:.2f}; "
            f"browser warm/api median ratio {warm_median / statistics.median(api_times):.1f}; "
            f"goal: warm median <= 0.5 s -> {'met' if warm_median <= 0.5 else 'NOT met'}; "
            f"launches per run = {launches} -> {'met' if launches == 1 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
