#!/usr/bin/env python
"""Does the bandit learn, and against what? Simulated days through the real jobs' code, per world.

    .venv/bin/python scripts/simulate_learning.py                  # small: 10 days, legacy1 + g5
    .venv/bin/python scripts/simulate_learning.py --large          # the docs' tables: 21 days, held-out
                                                                   # worlds g5-g8, 3 repetitions, 2 jobs
    .venv/bin/python scripts/simulate_learning.py --tuning         # the same on the tuning worlds g1-g4
    .venv/bin/python scripts/simulate_learning.py --days 30 --worlds g9 g10 --reps 10 --jobs 2

Worlds: ``g<k>`` generated (learning/worlds.py: ``g1``-``g4`` tuning, ``g5``-``g8`` held out, ``g9``-``g12``
spare), ``legacy<s>`` the stand-in's original audience. Policies: thompson (ours), uniform, ucb1,
bernoulli_thompson (= the original's rule), thompson_hl7 / thompson_hl14 (ours with a shorter half-life).

Prints, per world and policy, engagements at 24 h, cumulative regret, how often the last week's posts
used the best generator and hour, posts and the most threads in a day (mean ± 95 % t-interval over
repetitions); ours against every other policy (paired ratios); and the offline (SNIPS) estimates against
the world's true value with their error.
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

from xbot_pipeline.learning import report  # noqa: E402
from xbot_pipeline.learning.simulation import POLICIES, VARIANTS, compare  # noqa: E402
from xbot_pipeline.learning.worlds import HELD_OUT, TUNING  # noqa: E402


def plot(rows: list[dict], path: Path, days: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    worlds = report.worlds_of(rows)
    fig, axes = plt.subplots(1, len(worlds), figsize=(4 * len(worlds), 3.6), dpi=100, squeeze=False)
    for ax, world in zip(axes[0], worlds, strict=True):
        for policy in report.policies_of(rows):
            curves = [r["cumulative_regret"] for r in rows if r["policy"] == policy and r["world"] == world]
            n = min(len(c) for c in curves)
            ax.plot(range(1, n + 1), [statistics.fmean(c[i] for c in curves) for i in range(n)],
                    label=report.LABELS.get(policy, policy))  # fmt: skip
        ax.set_title(f"{world}: {report.describe(world)}", fontsize=9)
        ax.set_xlabel("posts")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("cumulative regret (engagement rate)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Cumulative regret, {days} simulated days (mean over repetitions)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=None, help="simulated days (10; --large 21)")
    parser.add_argument("--worlds", nargs="+", default=None, help="world names (legacy1 g5)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per world (1; --large 3)")
    parser.add_argument("--policies", nargs="+", default=None, choices=sorted(VARIANTS))
    parser.add_argument("--jobs", type=int, default=None, help="simulations at once (1; --large 2)")
    parser.add_argument("--posts-per-day", type=int, default=6)
    parser.add_argument("--large", action="store_true", help="21 days, held-out worlds, 3 reps, 2 jobs, plot")
    parser.add_argument("--tuning", action="store_true", help="like --large on the tuning worlds, no plot")
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write every row here")
    parser.add_argument("--from-json", type=Path, default=None, help="print the tables of a saved --json")
    args = parser.parse_args()
    big = args.large or args.tuning
    defaults = {
        "days": 21 if big else 10,
        "worlds": list(HELD_OUT if args.large else TUNING) if big else ["legacy1", "g5"],
        "reps": 3 if big else 1,
        "policies": [*POLICIES, "thompson_hl7"] if big else list(POLICIES),
        "jobs": 2 if big else 1,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.large:
        args.plot = args.plot or ROOT / "docs" / "regret.png"
    started = time.perf_counter()
    if args.from_json:
        rows = json.loads(args.from_json.read_text())
        args.days, args.worlds, args.reps = (
            rows[0]["days"],
            report.worlds_of(rows),
            1 + max(r["rep"] for r in rows),
        )
    else:
        rows = compare(
            days=args.days,
            worlds=args.worlds,
            reps=args.reps,
            posts_per_day=args.posts_per_day,
            policies=args.policies,
            jobs=args.jobs,
        )
    elapsed = time.perf_counter() - started
    print(
        f"{args.days} simulated days, {args.posts_per_day} posts/day, worlds {' '.join(args.worlds)}, "
        f"{args.reps} repetition(s), {len(rows)} runs in {elapsed:.0f} s ({args.jobs} job(s)); "
        "mean ± 95 % t-interval over repetitions\n"
    )
    print("\n".join(report.per_world_table(rows)))
    print("\nours (thompson) / each policy, paired by repetition:\n")
    print("\n".join(report.ratio_table(rows)))
    print("\noffline evaluation: SNIPS from each run's own log vs the world's true value")
    print("(error = estimate - truth):\n")
    print("\n".join(report.ope_table(rows)))
    print("\n" + "\n".join(report.ope_error_summary(rows)))
    limits = {
        k: max(r[k] for r in rows)
        for k in ("max_threads_per_day", "max_posts_per_hour", "max_threads_per_hour")
    }
    print(f"\nposting limits seen: {limits}, shortest gap {min(r['min_spacing_min'] for r in rows):.0f} min")
    if args.plot:
        plot(rows, args.plot, args.days)
        print(f"\nregret plot: {args.plot}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
