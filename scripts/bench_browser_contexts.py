"""Memory per browser account: many accounts in ONE shared Chromium (a context each) against the baseline
of one Chromium per account, on the local X stand-in.

For each size N, N logged-in stand-in accounts each open their profile page (the publisher's
``followers_count`` read, which also proves the session is logged in) and stay open while the memory is
read: the total PSS of the Chromium process tree (every Chromium process this script started, summed
from /proc/<pid>/smaps_rollup; the Playwright driver is not included). Shared: one ``BrowserPool`` for
all N (the worker's set-up). Separate (the baseline, only small N to bound memory): each account its own
Chromium, as before the pool. Then, for the shared pool, the publishers are closed (pages closed,
contexts left open idle as between passes) and the PSS read again. USS (the tree's private pages) is
printed beside PSS: PSS also depends on other Chromiums running on the machine (shared library pages
are split among every process that maps them), USS does not. Each figure is the median over the
repeats; "/extra" is (M(N) - M(first N)) / (N - first N) of the same mode, and a least-squares slope
over all sizes is printed last (one Chromium's own overhead, e.g. its WebUI renderer, comes and goes
between readings, which moves the single-account figure by up to ~110 MiB PSS).

    .venv/bin/python scripts/bench_browser_contexts.py [--sizes 1,5,10,20,40] [--separate 1,5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from xbot_pipeline.publishing.browser import BrowserPublisher
from xbot_pipeline.publishing.browser.pool import BrowserPool
from xbot_pipeline.sandbox.server import SandboxServer

FOLLOWERS = 1000


def chromium_pids(root: int) -> set[int]:
    """Live Chromium processes descended from ``root`` (zombies and the driver left out)."""
    parents: dict[int, int] = {}
    commands: dict[int, bytes] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            commands[int(entry)] = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found: set[int] = set()
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor and ancestor != root and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == root and b"chrom" in commands[pid].lower():
            found.add(pid)
    return found


def memory_mib(pids: set[int]) -> tuple[float, float]:
    """Summed PSS and USS (Private_Clean + Private_Dirty) in MiB. PSS shares the pages a process shares
    with others, including other Chromiums on the machine; USS is what this tree alone holds."""
    pss = uss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                    uss += int(line.split()[1])
        except OSError:
            continue
    return pss / 1024, uss / 1024


def settled(settle_s: float, prefix: str) -> dict[str, float]:
    time.sleep(settle_s)
    pids = chromium_pids(os.getpid())
    pss, uss = memory_mib(pids)
    return {f"{prefix}pss": pss, f"{prefix}uss": uss, f"{prefix}procs": len(pids)}


def open_accounts(
    server: SandboxServer, files: list[tuple[str, Path]], make: Callable[[str, Path], BrowserPublisher]
) -> list[BrowserPublisher]:
    publishers = []
    for handle, path in files:
        pub = make(handle, path)
        publishers.append(pub)
        if pub.followers_count() != FOLLOWERS:  # the profile page loaded, logged in as this account
            raise SystemExit(f"{handle}: the profile page did not load logged in")
    return publishers


def measure_shared(server: SandboxServer, files: list[tuple[str, Path]], settle_s: float) -> dict[str, float]:
    pool = BrowserPool(None, max_contexts=len(files), idle_s=3600)
    try:
        pubs = open_accounts(
            server, files, lambda h, p: BrowserPublisher(server.web_url, p, h, pool=pool, op_timeout_s=60)
        )
        active = settled(settle_s, "")
        if pool.launches != 1:
            raise SystemExit(f"shared pool launched {pool.launches} browsers")
        for pub in pubs:
            pub.close()  # pages closed, contexts stay open (idle) in the pool
        if pool.open_contexts != len(files):
            raise SystemExit(f"{pool.open_contexts} contexts open after closing the publishers")
        return {**active, **settled(settle_s, "idle_")}
    finally:
        pool.close()


def measure_separate(
    server: SandboxServer, files: list[tuple[str, Path]], settle_s: float
) -> dict[str, float]:
    pubs: list[BrowserPublisher] = []
    try:
        pubs = open_accounts(
            server, files, lambda h, p: BrowserPublisher(server.web_url, p, h, op_timeout_s=60)
        )
        return settled(settle_s, "")
    finally:
        for pub in pubs:
            pub.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,10,20,40", help="accounts in one shared Chromium")
    parser.add_argument("--separate", default="1,5", help="accounts with a Chromium each (the baseline)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before reading the memory")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    separate = [int(n) for n in args.separate.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="xbot-bench-contexts-"))
    with SandboxServer(tmp / "x.sqlite3") as server:
        files = []
        for i in range(max(sizes + separate)):
            handle = f"bench_{i:03d}"
            server.state.add_account(
                handle, user_id=str(1_800_000_000_000_000_000 + i), password="pw", followers=FOLLOWERS
            )
            files.append((handle, server.write_storage_state(handle, tmp / "sessions" / f"{handle}.json")))
        shared: dict[int, list[dict[str, float]]] = {n: [] for n in sizes}
        apart: dict[int, list[dict[str, float]]] = {n: [] for n in separate}
        for r in range(args.repeats):
            for n in sizes:
                shared[n].append(measure_shared(server, files[:n], args.settle))
                print(f"repeat {r + 1}: shared   N={n:>3}  {shared[n][-1]}", flush=True)
            for n in separate:
                apart[n].append(measure_separate(server, files[:n], args.settle))
                print(f"repeat {r + 1}: separate N={n:>3}  {apart[n][-1]}", flush=True)

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    def slope(runs: dict[int, list[dict[str, float]]], key: str) -> float:
        xs = list(runs)
        ys = [median(runs[n], key) for n in xs]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)

    def per_extra(runs: dict[int, list[dict[str, float]]], n: int, first: int, key: str) -> str:
        if n <= first:
            return "-"
        return f"{(median(runs[n], key) - median(runs[first], key)) / (n - first):.1f}"

    print(
        f"\nmedians over {args.repeats} repeats; MiB summed over the Chromium process tree (driver excluded)"
    )
    print(
        f"{'mode':<25}{'N':>4}{'procs':>6}{'PSS':>7}{'/extra':>8}{'USS':>7}{'/extra':>8}"
        f"   idle: {'procs':>5}{'PSS':>7}{'/extra':>8}{'USS':>7}{'/extra':>8}"
    )
    for n in sizes:
        runs, first = shared, sizes[0]
        print(
            f"{'shared: a context each':<25}{n:>4}{median(runs[n], 'procs'):>6.0f}"
            f"{median(runs[n], 'pss'):>7.0f}{per_extra(runs, n, first, 'pss'):>8}"
            f"{median(runs[n], 'uss'):>7.0f}{per_extra(runs, n, first, 'uss'):>8}"
            f"         {median(runs[n], 'idle_procs'):>5.0f}"
            f"{median(runs[n], 'idle_pss'):>7.0f}{per_extra(runs, n, first, 'idle_pss'):>8}"
            f"{median(runs[n], 'idle_uss'):>7.0f}{per_extra(runs, n, first, 'idle_uss'):>8}"
        )
    for n in separate:
        runs, first = apart, separate[0]
        print(
            f"{'baseline: a Chromium each':<25}{n:>4}{median(runs[n], 'procs'):>6.0f}"
            f"{median(runs[n], 'pss'):>7.0f}{per_extra(runs, n, first, 'pss'):>8}"
            f"{median(runs[n], 'uss'):>7.0f}{per_extra(runs, n, first, 'uss'):>8}"
        )
    print("\nper extra account, least-squares slope over every size (less sensitive to the N=1 reading):")
    for label, runs in (("shared", shared), ("baseline", apart)):
        if len(runs) < 2:
            continue
        keys = ("pss", "uss", "idle_pss", "idle_uss") if runs is shared else ("pss", "uss")
        slopes = ", ".join(f"{key} {slope(runs, key):.1f} MiB" for key in keys)
        print(f"  {label:<9} {slopes}")
    if len(shared) >= 2 and len(apart) >= 2:
        ratio = slope(apart, "pss") / slope(shared, "pss")
        print(f"  a Chromium per account costs {ratio:.1f}x the PSS per extra account of a shared one")


if __name__ == "__main__":
    main()
