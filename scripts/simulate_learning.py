#!/usr/bin/env python
"""Does the bandit learn? Simulated days against the stand-in's audience model, through the real jobs' code.

    .venv/bin/python scripts/simulate_learning.py                 # small: 10 days, 1 world (~1 min)
    .venv/bin/python scripts/simulate_learning.py --large         # 30 days, 5 worlds, docs/regret.png
    .venv/bin/python scripts/simulate_learning.py --days 60 --seeds 1 2 3 --plot /tmp/regret.png

Prints, per policy (thompson = this bandit, uniform, seed_rule = the original's epsilon-greedy UCB with
0.95 decay), the medians over worlds of posts, 24 h engagements, mean engagement rate, cumulative
regret (in expected engagement-rate points) and the offline (SNIPS) estimates against their truth.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xbot_pipeline.learning.simulation import POLICIES, compare  # noqa: E402

COLUMNS = ("posts", "engagements", "mean_rate", "mean_expected_rate", "regret", "rejections", "seconds")


def medians(rows: list[dict], policy: str) -> dict[str, float]:
    mine = [r for r in rows if r["policy"] == policy]
    keys = [k for k, v in mine[0].items() if isinstance(v, int | float) and k not in ("seed", "days")]
    return {k: statistics.median(r[k] for r in mine) for k in keys}


def plot(rows: list[dict], path: Path, days: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    labels = {"thompson": "this bandit (Thompson)", "uniform": "uniform random", "seed_rule": "original rule"}
    for policy in POLICIES:
        curves = [r["cumulative_regret"] for r in rows if r["policy"] == policy]
        n = min(len(c) for c in curves)
        median = [statistics.median(c[i] for c in curves) for i in range(n)]
        ax.plot(range(1, n + 1), median, label=labels[policy])
    ax.set_xlabel("posts (in order of planning)")
    ax.set_ylabel("cumulative regret (expected engagement rate)")
    worlds = len({r["seed"] for r in rows})
    ax.set_title(f"Cumulative regret over {days} simulated days (median of {worlds} worlds)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--posts-per-day", type=int, default=6)
    parser.add_argument("--large", action="store_true", help="30 days, worlds 1-5, plot to docs/regret.png")
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write every row (with regret curves) here")
    args = parser.parse_args()
    if args.large:
        args.days, args.seeds = 30, [1, 2, 3, 4, 5]
        args.plot = args.plot or ROOT / "docs" / "regret.png"
    started = time.perf_counter()
    rows = compare(days=args.days, seeds=args.seeds, posts_per_day=args.posts_per_day)
    print(
        f"{args.days} simulated days, {args.posts_per_day} posts/day, worlds {args.seeds} "
        f"({time.perf_counter() - started:.0f} s); medians over worlds"
    )
    print("| policy | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for policy in POLICIES:
        m = medians(rows, policy)
        print(f"| {policy} | " + " | ".join(f"{m[c]:.4g}" for c in COLUMNS) + " |")
    print("\noffline evaluation (SNIPS from each policy's own log) vs truth, content policies:")
    for policy in POLICIES:
        m = medians(rows, policy)
        print(
            f"  log={policy:9s} uniform: {m['ope_uniform_snips']:.3f} (truth {m['ope_uniform_truth']:.3f}, "
            f"ess {m['ope_uniform_ess']:.0f})  greedy: {m['ope_greedy_snips']:.3f} "
            f"(truth {m['ope_greedy_truth']:.3f}, ess {m['ope_greedy_ess']:.0f})"
        )
    if args.plot:
        plot(rows, args.plot, args.days)
        print(f"\nregret plot: {args.plot}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
