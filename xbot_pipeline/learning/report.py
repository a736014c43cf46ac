"""Tables of the learning simulation's results: per world, with 95 % confidence intervals over repetitions.

Every figure docs/LEARNING.md quotes comes from these functions through ``scripts/simulate_learning.py``.
The interval is Student's t over the repetitions of one world (each repetition: other planner draws and
other per-post audience noise); with one repetition there is no interval ("±?").
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from xbot_pipeline.learning.worlds import describe

# two-sided 95 % Student t quantiles by degrees of freedom (1..30); 1.96 beyond
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)  # fmt: skip
LABELS = {
    "thompson": "thompson (ours)",
    "thompson_hl7": "thompson, half-life 7 d",
    "thompson_hl14": "thompson, half-life 14 d",
    "uniform": "uniform",
    "ucb1": "UCB1",
    "bernoulli_thompson": "Beta-Bernoulli TS (= original rule)",
}


def ci95(values: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of the 95 % t-interval); the half-width is nan for fewer than 2 values."""
    values = [v for v in values if v == v]
    if not values:
        return math.nan, math.nan
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan
    df = len(values) - 1
    t = _T95[df - 1] if df <= len(_T95) else 1.96
    return mean, t * statistics.stdev(values) / math.sqrt(len(values))


def fmt(values: Sequence[float], digits: int = 0, scale: float = 1.0) -> str:
    mean, half = ci95([v * scale for v in values])
    if mean != mean:
        return "–"
    spec = f"{{:,.{digits}f}}"
    return spec.format(mean) + (" ±?" if half != half else " ± " + spec.format(half))


def _by(rows: Sequence[dict[str, Any]], world: str, policy: str) -> list[dict[str, Any]]:
    return sorted((r for r in rows if r["world"] == world and r["policy"] == policy), key=lambda r: r["rep"])


def worlds_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(r["world"] for r in rows))


def policies_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(r["policy"] for r in rows))


def per_world_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One line per (world, policy): engagements, regret, best arm in the last week, posts, threads."""
    out = [
        "| world | policy | engagements at 24 h | cumulative regret | best generator, last week | "
        "best hour, last week | posts | threads |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for world in worlds_of(rows):
        for policy in policies_of(rows):
            mine = _by(rows, world, policy)
            if not mine:
                continue
            flat = describe(world).startswith("flat")  # every hour is as good: no best hour
            best_hour = "n/a" if flat else fmt([r["best_hour_last_week"] for r in mine], 0, 100) + " %"
            out.append(
                f"| {world} ({describe(world)}) | {LABELS.get(policy, policy)} "
                f"| {fmt([r['engagements'] for r in mine])} | {fmt([r['regret'] for r in mine], 2)} "
                f"| {fmt([r['best_arm_last_week'] for r in mine], 0, 100)} % "
                f"| {best_hour} "
                f"| {fmt([r['posts'] for r in mine])} "
                f"| {max(r['max_threads_per_day'] for r in mine)}/day max |"
            )
    return out


def ratio_table(rows: Sequence[dict[str, Any]], ours: str = "thompson") -> list[str]:
    """Ours / each other policy, engagements and regret, paired by repetition (same noise seeds)."""
    others = [p for p in policies_of(rows) if p != ours]
    out = [
        "| world | " + " | ".join(f"engagements vs {LABELS.get(p, p)}" for p in others) + " |",
        "|---" * (len(others) + 1) + "|",
    ]
    for world in worlds_of(rows):
        mine = {r["rep"]: r for r in _by(rows, world, ours)}
        cells = []
        for p in others:
            pairs = [(mine[r["rep"]], r) for r in _by(rows, world, p) if r["rep"] in mine]
            cells.append(
                fmt([a["engagements"] / b["engagements"] for a, b in pairs if b["engagements"]], 2) + "x"
            )
        out.append(f"| {world} | " + " | ".join(cells) + " |")
    return out


def ope_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """SNIPS estimate vs the world's true value, per world and log, for the uniform and greedy targets."""
    out = [
        "| world | log of | uniform target: SNIPS / truth | error | ESS "
        "| greedy target: SNIPS / truth | error | ESS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for world in worlds_of(rows):
        for policy in policies_of(rows):
            mine = _by(rows, world, policy)
            if not mine:
                continue
            cells = []
            for target in ("uniform", "greedy"):
                est = [r[f"ope_{target}_snips"] for r in mine]
                truth = [r[f"ope_{target}_truth"] for r in mine]
                err = [e - t for e, t in zip(est, truth, strict=True) if e == e]
                cells += [
                    f"{fmt(est, 3)} / {fmt(truth, 3)}",
                    fmt(err, 3),
                    fmt([r[f"ope_{target}_ess"] for r in mine]),
                ]
            out.append(f"| {world} | {LABELS.get(policy, policy)} | " + " | ".join(cells) + " |")
    return out


def ope_error_summary(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Across every world and log: mean absolute and relative error of SNIPS, by target."""
    out = []
    for target in ("uniform", "greedy"):
        pairs = [
            (r[f"ope_{target}_snips"], r[f"ope_{target}_truth"], r[f"ope_{target}_ess"])
            for r in rows
            if r[f"ope_{target}_snips"] == r[f"ope_{target}_snips"]
        ]
        if not pairs:
            continue
        rel = [abs(e - t) / t for e, t, _ in pairs if t]
        big = [abs(e - t) / t for e, t, n in pairs if t and n >= 20]
        mae = statistics.fmean(abs(e - t) for e, t, _ in pairs)
        big_rel = 100 * statistics.fmean(big) if big else math.nan
        out.append(
            f"{target} target: {len(pairs)} logs, mean |error| {mae:.3f} "
            f"({100 * statistics.fmean(rel):.0f} % of the truth; "
            f"{big_rel:.0f} % over the {len(big)} logs with ESS >= 20)"
        )
    return out
