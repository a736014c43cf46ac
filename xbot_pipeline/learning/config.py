"""Learning configuration: how much to plan, how rewards are scored, how fast old evidence fades.

Operators override any field with ``XBOT_LEARNING_<FIELD>`` (e.g. ``XBOT_LEARNING_POSTS_PER_DAY=8``);
``xbot_pipeline.settings`` reads and validates them (``settings.learning``), and callers pass the config in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from xbot_pipeline.content.gates import GateConfig

# seed_rule = the original's rule, which is Beta-Bernoulli Thompson sampling (an alias of bernoulli_thompson)
POLICIES = ("thompson", "uniform", "seed_rule", "ucb1", "bernoulli_thompson")
HORIZONS = {"1h": 3600.0, "6h": 6 * 3600.0, "24h": 24 * 3600.0, "48h": 48 * 3600.0}


@dataclass(frozen=True)
class LearningConfig:
    # planning
    posts_per_day: int = 6  # singles + threads per account per UTC day
    horizon_hours: float = 24.0  # a UTC day is planned (whole) once it starts within this horizon
    lead_minutes: float = 10.0  # never plan a slot that starts sooner than this
    slot_jitter_minutes: float = 20.0  # posts go out at a random minute in [0, jitter) of their hour
    policy: str = "thompson"  # thompson | uniform | ucb1 | bernoulli_thompson (= seed_rule), see bandit.py
    mc_draws: int = 2000  # Monte Carlo draws for the propensity of a Thompson choice
    max_drafts: int = 6  # drafts tried per slot before the slot is left for the next run
    use_llm: bool = True  # add the LLM generator as an arm when XBOT_LLM_* is configured
    # rewards and posteriors
    reward_horizon: str = "24h"
    reward_scale: float = 0.10  # reward = min(1, engagement rate / scale)
    success_rate: float = 0.03  # the seed's success line (kept as post_rewards.success)
    half_life_days: float = 30.0  # old evidence counts half after this long
    evidence_weight: float = 4.0  # Bernoulli trials one reward counts as (reward variance ~0.05 vs ~0.23)
    hour_neighbour_share: float = 0.5  # share of an hour's evidence given to the hours on either side
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    freshness_hours: float = 3.0  # bandit_posteriors older than this fail the freshness check
    # unused: they belonged to an epsilon-greedy, decaying rule the original never had (the original's rule
    # is Beta-Bernoulli Thompson, see bandit.py); kept until the settings object drops them
    seed_epsilon: float = 0.1
    seed_decay: float = 0.95
    # metrics
    metrics_late_hours: float = 24.0  # a horizon missed by more than this is given up
    metrics_chunk: int = 5  # posts per browser-lease hold (posting can take the browser in between)
    metrics_horizons: str = "1h,6h,24h,48h"  # horizons read (comma-separated, of HORIZONS); rewards use 24h
    gates: GateConfig = field(default_factory=GateConfig)

    def with_changes(self, **changes: Any) -> LearningConfig:
        return replace(self, **changes)

    def read_horizons(self) -> tuple[str, ...]:
        """The metrics horizons to read, in HORIZONS order (unknown names are ignored)."""
        wanted = {h.strip() for h in self.metrics_horizons.split(",")}
        return tuple(h for h in HORIZONS if h in wanted)
