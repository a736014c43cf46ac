"""Beta posteriors with discounting, and the choosers the planner can use.

- ``thompson``: draw θ ~ Beta(α, β) per candidate arm, take the largest; the propensity (probability of
  that choice) is estimated by Monte Carlo over the same posteriors. The posteriors are this project's:
  fractional rewards, evidence weight, neighbouring hours, half-life discounting.
- ``uniform``: every candidate equally likely.
- ``ucb1``: the standard UCB1 over plain counts of the same rewards (a baseline).
- ``bernoulli_thompson``: standard Beta-Bernoulli Thompson sampling on success = engagement rate above
  3 % (a baseline). This is also the original system's rule (Beta posteriors on that success line, one
  arm per generator and per hour, ``../shared/notes/seed-behaviour.md``), so ``seed_rule`` is its alias.

All randomness comes from the ``random.Random`` the caller passes, so a seed reproduces every choice.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

FAMILIES = ("generator", "hour")
HOUR_ARMS = tuple(f"{h:02d}" for h in range(24))


@dataclass
class Arm:
    family: str
    arm: str
    alpha: float
    beta: float
    n_eff: float = 0.0
    observations: int = 0

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def as_row(self) -> dict[str, object]:
        return {
            "family": self.family,
            "arm": self.arm,
            "alpha": self.alpha,
            "beta": self.beta,
            "n_eff": self.n_eff,
            "observations": self.observations,
        }


def decay_factor(elapsed_s: float, half_life_days: float) -> float:
    """How much of old evidence is kept after ``elapsed_s``: 0.5 per half-life."""
    if half_life_days <= 0 or elapsed_s <= 0:
        return 1.0
    return 0.5 ** (elapsed_s / (half_life_days * 86400.0))


class Posteriors:
    """The arms of one account, with a prior for arms never seen."""

    def __init__(self, arms: Sequence[Arm] = (), *, prior: tuple[float, float] = (1.0, 1.0)) -> None:
        self.prior = prior
        self.arms: dict[tuple[str, str], Arm] = {(a.family, a.arm): a for a in arms}

    @classmethod
    def from_rows(cls, rows: Sequence[dict], *, prior: tuple[float, float] = (1.0, 1.0)) -> Posteriors:
        arms = [
            Arm(
                r["family"],
                r["arm"],
                float(r["alpha"]),
                float(r["beta"]),
                float(r["n_eff"]),
                int(r["observations"]),
            )
            for r in rows
        ]
        return cls(arms, prior=prior)

    def get(self, family: str, arm: str) -> Arm:
        key = (family, arm)
        if key not in self.arms:
            self.arms[key] = Arm(family, arm, *self.prior)
        return self.arms[key]

    def ensure(self, family: str, names: Sequence[str]) -> None:
        for name in names:
            self.get(family, name)

    def decay(self, factor: float) -> None:
        """Pull every arm toward the prior: old evidence weighs ``factor`` of what it did."""
        pa, pb = self.prior
        for a in self.arms.values():
            a.alpha = pa + (a.alpha - pa) * factor
            a.beta = pb + (a.beta - pb) * factor
            a.n_eff *= factor

    def observe(
        self, family: str, arm: str, reward: float, weight: float = 1.0, *, count: bool = True
    ) -> None:
        """Add one reward in [0, 1] as ``weight`` Bernoulli trials (alpha += w r, beta += w (1 - r))."""
        r = min(1.0, max(0.0, float(reward)))
        a = self.get(family, arm)
        a.alpha += weight * r
        a.beta += weight * (1.0 - r)
        a.n_eff += weight
        a.observations += int(count)

    def observe_hour(self, hour: int, reward: float, weight: float, neighbour_share: float) -> None:
        """An hour's reward also informs the hours next to it (audience activity is smooth over the day)."""
        self.observe("hour", f"{hour % 24:02d}", reward, weight)
        if neighbour_share > 0:
            for h in (hour - 1, hour + 1):
                self.observe("hour", f"{h % 24:02d}", reward, weight * neighbour_share, count=False)

    def rows(self) -> list[dict[str, object]]:
        return [a.as_row() for a in sorted(self.arms.values(), key=lambda a: (a.family, a.arm))]

    def valid(self) -> bool:
        return all(
            a.alpha > 0 and a.beta > 0 and math.isfinite(a.alpha) and math.isfinite(a.beta)
            for a in self.arms.values()
        )


@dataclass(frozen=True)
class Choice:
    arm: str
    propensity: float  # probability that the chooser picks ``arm`` from these candidates


def choose_thompson(
    posteriors: Posteriors, family: str, candidates: Sequence[str], rng: random.Random, mc_draws: int = 2000
) -> Choice:
    """Thompson sampling over ``candidates``; the propensity is a Monte Carlo estimate (never 0)."""
    if not candidates:
        raise ValueError("no candidate arms")
    gen = np.random.default_rng(rng.getrandbits(64))
    alphas = np.array([posteriors.get(family, c).alpha for c in candidates])
    betas = np.array([posteriors.get(family, c).beta for c in candidates])
    draw = gen.beta(alphas, betas)
    chosen = int(np.argmax(draw))
    if len(candidates) == 1:
        return Choice(candidates[0], 1.0)
    sims = gen.beta(alphas, betas, size=(mc_draws, len(candidates)))
    wins = int(np.count_nonzero(np.argmax(sims, axis=1) == chosen))
    return Choice(candidates[chosen], (wins + 1) / (mc_draws + 1))


def thompson_probabilities(
    posteriors: Posteriors, family: str, candidates: Sequence[str], rng: random.Random, mc_draws: int = 2000
) -> dict[str, float]:
    """P(each candidate is the Thompson choice), by Monte Carlo (for offline evaluation)."""
    gen = np.random.default_rng(rng.getrandbits(64))
    alphas = np.array([posteriors.get(family, c).alpha for c in candidates])
    betas = np.array([posteriors.get(family, c).beta for c in candidates])
    wins = np.bincount(
        np.argmax(gen.beta(alphas, betas, size=(mc_draws, len(candidates))), axis=1),
        minlength=len(candidates),
    )
    return {c: float(w) / mc_draws for c, w in zip(candidates, wins, strict=True)}


def choose_uniform(candidates: Sequence[str], rng: random.Random) -> Choice:
    if not candidates:
        raise ValueError("no candidate arms")
    return Choice(rng.choice(list(candidates)), 1.0 / len(candidates))


# -- the standard baselines (and the original's rule) -------------------------------------------------
# Their state is plain counts per arm, ``stats[arm] = [n, reward sum, successes]`` (never discounted):
# UCB1 reads n and the reward sum, Beta-Bernoulli Thompson reads n and the successes (reward rate above
# the seed's success line, 3 %).


def counts_observe(stats: dict[str, list[float]], arm: str, reward: float, success: bool) -> None:
    """One more pull of ``arm``: n += 1, sum += reward, successes += success."""
    n, total, wins = stats.get(arm) or [0.0, 0.0, 0.0]
    stats[arm] = [n + 1.0, total + float(reward), wins + float(bool(success))]


def ucb1_scores(stats: dict[str, list[float]], candidates: Sequence[str]) -> dict[str, float]:
    """UCB1 (Auer et al. 2002): mean + sqrt(2 ln N / n); an arm never pulled scores +inf."""
    total = sum(stats.get(c, [0.0])[0] for c in candidates)
    scores = {}
    for c in candidates:
        n, s = (stats.get(c) or [0.0, 0.0])[:2]
        scores[c] = math.inf if n < 1 else s / n + math.sqrt(2 * math.log(max(total, 1.0)) / n)
    return scores


def choose_ucb1(stats: dict[str, list[float]], candidates: Sequence[str], rng: random.Random) -> Choice:
    """The best UCB1 score, ties broken at random; the propensity is exact (1 / number of ties)."""
    if not candidates:
        raise ValueError("no candidate arms")
    scores = ucb1_scores(stats, candidates)
    top = max(scores.values())
    best = [c for c in candidates if scores[c] == top]
    return Choice(rng.choice(best), 1.0 / len(best))


def bernoulli_posteriors(
    stats: dict[str, dict[str, list[float]]], prior: tuple[float, float] = (1.0, 1.0)
) -> Posteriors:
    """Beta(prior + successes, prior + failures) per arm of every family (Beta-Bernoulli, success line)."""
    arms = [
        Arm(family, arm, prior[0] + wins, prior[1] + max(0.0, n - wins), n, int(n))
        for family, per_arm in stats.items()
        for arm, (n, _, wins) in per_arm.items()
    ]
    return Posteriors(arms, prior=prior)


def age_s(then: datetime | None, now: datetime) -> float:
    return 0.0 if then is None else max(0.0, (now - then).total_seconds())
