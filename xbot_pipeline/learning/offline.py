"""Offline evaluation: a new content policy's value estimated from logged decisions alone.

Each logged post carries the probability with which its generator was chosen (``p_generator``) from the
generators that could be chosen. For a target policy π, with weight w = π(g | choice set) / p_generator:
IPS = mean(w · r), self-normalized IPS (SNIPS) = Σ w r / Σ w. Hours stay as they were logged, so the
estimate answers "what if the content had been chosen by π". ``content_truth`` computes the same
quantity from the simulated world's expected rewards (``true_rewards`` per decision), to check the
estimators.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Target = Callable[[dict[str, Any]], dict[str, float]]  # decision -> {generator: probability}


def uniform_target(decision: dict[str, Any]) -> dict[str, float]:
    arms = decision["generators"]
    return {g: 1.0 / len(arms) for g in arms}


def greedy_target(means: dict[str, float]) -> Target:
    """Always the generator with the best posterior mean among those that could be chosen."""

    def target(decision: dict[str, Any]) -> dict[str, float]:
        best = max(decision["generators"], key=lambda g: means.get(g, 0.0))
        return {best: 1.0}

    return target


def estimate(decisions: Sequence[dict[str, Any]], target: Target) -> dict[str, float]:
    rows = [d for d in decisions if d.get("reward") is not None and d.get("p_generator")]
    if not rows:
        return {"n": 0, "ips": float("nan"), "snips": float("nan"), "ess": 0.0}
    weights = [target(d).get(d["generator"], 0.0) / d["p_generator"] for d in rows]
    total = sum(w * d["reward"] for w, d in zip(weights, rows, strict=True))
    wsum = sum(weights)
    ess = wsum**2 / sum(w * w for w in weights) if wsum else 0.0
    return {
        "n": len(rows),
        "ips": total / len(rows),
        "snips": total / wsum if wsum else float("nan"),
        "ess": ess,  # effective sample size: how many posts the estimate is really worth
    }


def content_truth(decisions: Sequence[dict[str, Any]], target: Target) -> float:
    """The target's true expected reward on the logged hours and times: each decision carries
    ``true_rewards`` (generator -> expected reward there and then, from the simulation's world)."""
    rows = [d for d in decisions if d.get("reward") is not None]
    values = [sum(p * d["true_rewards"][g] for g, p in target(d).items()) for d in rows]
    return sum(values) / len(values) if values else float("nan")
