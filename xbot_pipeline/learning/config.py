"""Learning configuration: how much to plan, how rewards are scored, how fast old evidence fades.

Operators override any field with ``XBOT_LEARNING_<FIELD>`` (e.g. ``XBOT_LEARNING_POSTS_PER_DAY=8``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

from xbot_pipeline.content.gates import GateConfig

POLICIES = ("thompson", "uniform", "seed_rule")
HORIZONS = {"1h": 3600.0, "6h": 6 * 3600.0, "24h": 24 * 3600.0, "48h": 48 * 3600.0}


@dataclass(frozen=True)
class LearningConfig:
    # planning
    posts_per_day: int = 6  # singles + threads per account per UTC day
    horizon_hours: float = 24.0  # a UTC day is planned (whole) once it starts within this horizon
    lead_minutes: float = 10.0  # never plan a slot that starts sooner than this
    slot_jitter_minutes: float = 20.0  # posts go out at a random minute in [0, jitter) of their hour
    policy: str = "thompson"  # thompson | uniform | seed_rule (the original's rule, for comparison)
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
    # the original's rule
    seed_epsilon: float = 0.1
    seed_decay: float = 0.95
    # metrics
    metrics_late_hours: float = 24.0  # a horizon missed by more than this is given up
    metrics_chunk: int = 5  # posts per browser-lease hold (posting can take the browser in between)
    gates: GateConfig = field(default_factory=GateConfig)

    def with_changes(self, **changes: object) -> LearningConfig:
        return replace(self, **changes)


def learning_config_from_env(env: Mapping[str, str] | None = None) -> LearningConfig:
    """``LearningConfig`` with ``XBOT_LEARNING_*`` overrides; a malformed value raises ``ValueError``."""
    env = os.environ if env is None else env
    changes: dict[str, object] = {}
    for f in fields(LearningConfig):
        raw = env.get(f"XBOT_LEARNING_{f.name.upper()}")
        if raw is None or f.name == "gates":
            continue
        kind = type(getattr(LearningConfig(), f.name))
        try:
            value: object = raw.strip().lower() in ("1", "true", "yes") if kind is bool else kind(raw.strip())
        except ValueError:
            raise ValueError(
                f"XBOT_LEARNING_{f.name.upper()} must be a {kind.__name__}, got {raw!r}"
            ) from None
        changes[f.name] = value
    threshold = env.get("XBOT_LEARNING_SIMILARITY_THRESHOLD")
    config = LearningConfig(**changes)  # type: ignore[arg-type]
    if config.policy not in POLICIES:
        raise ValueError(f"XBOT_LEARNING_POLICY must be one of {', '.join(POLICIES)}, got {config.policy!r}")
    if threshold:
        config = replace(config, gates=replace(config.gates, similarity_threshold=float(threshold)))
    return config
