"""Rewards from the 24 h metrics, and the persisted posteriors they update.

reward = min(1, engagement rate / scale), engagement rate = (likes + reposts + replies) / impressions at
the reward horizon (the seed's definition); ``success`` keeps the seed's binary line (rate > 3 %).
Each reward is folded into the account's arms exactly once (``applied_at``), after the arms were pulled
toward the prior for the time since their last update (half-life discounting). The hour arm is the UTC
hour of ``posted_at``, never of when metrics were read (a seed defect).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from xbot_pipeline.learning.bandit import HOUR_ARMS, Posteriors, age_s, decay_factor, seed_rule_observe
from xbot_pipeline.learning.config import LearningConfig
from xbot_pipeline.store import Store
from xbot_pipeline.store import learning as q
from xbot_pipeline.store.health import kv_get, kv_put

SEED_RULE_NS = "learning.seed_rule"


def reward_of(engagement_rate: float, scale: float) -> float:
    return max(0.0, min(1.0, engagement_rate / scale)) if scale > 0 else 0.0


def sweep_handoffs(store: Store, now: datetime, within: timedelta = timedelta(days=7)) -> int:
    """Register published posts the hand-off missed (a failed hook, a recovered id): learning catches up."""
    added = 0
    for post in q.posted_without_reward_row(store, now - within):
        added += int(q.ensure_reward_row(store, post, now))
    return added


def measure_rewards(store: Store, config: LearningConfig, now: datetime) -> int:
    """Fill the reward of every registered post whose reward-horizon metrics are in."""
    done = 0
    for row in q.unmeasured_rewards(store, config.reward_horizon):
        impressions = int(row["impressions"] or 0)
        engagements = int(row["likes"] or 0) + int(row["reposts"] or 0) + int(row["replies"] or 0)
        rate = engagements / impressions if impressions > 0 else 0.0
        q.set_reward(
            store,
            row["post_id"],
            now,
            horizon=config.reward_horizon,
            impressions=impressions,
            engagements=engagements,
            engagement_rate=rate,
            reward=reward_of(rate, config.reward_scale),
            success=rate > config.success_rate,
            measured_at=row["collected_at"],
        )
        done += 1
    return done


def load_posteriors(
    store: Store, account_id: str, config: LearningConfig, now: datetime | None = None
) -> Posteriors:
    """The account's persisted arms; with ``now``, discounted to that time (a view, nothing written)."""
    rows = q.load_arms(store, account_id)
    post = Posteriors.from_rows(rows, prior=(config.prior_alpha, config.prior_beta))
    if now is not None and rows:
        last = max(r["updated_at"] for r in rows)
        post.decay(decay_factor(age_s(last, now), config.half_life_days))
    return post


@dataclass
class UpdateReport:
    applied: dict[str, int] = field(default_factory=dict)  # account -> rewards folded in
    conflicts: list[str] = field(default_factory=list)  # accounts another updater got first


def update_posteriors(
    store: Store, config: LearningConfig, now: datetime, *, generator_arms: Sequence[str] = ()
) -> UpdateReport:
    """Fold every measured, not yet applied reward into its account's arms (discounted, persisted)."""
    report = UpdateReport()
    for account_id in q.reward_accounts(store):
        pending = q.unapplied_rewards(store, account_id)
        posteriors = load_posteriors(store, account_id, config, now)
        posteriors.ensure("generator", generator_arms)
        posteriors.ensure("hour", HOUR_ARMS)
        stats = kv_get(store, SEED_RULE_NS, account_id, None) or {"generator": {}, "hour": {}}
        for row in pending:
            arm = row["generator"] or "unknown"
            hour = f"{int(row['hour']):02d}"
            posteriors.observe("generator", arm, row["reward"], config.evidence_weight)
            posteriors.observe_hour(
                int(row["hour"]), row["reward"], config.evidence_weight, config.hour_neighbour_share
            )
            seed_rule_observe(stats["generator"], arm, row["reward"], config.seed_decay)
            seed_rule_observe(stats["hour"], hour, row["reward"], config.seed_decay)
        if q.apply_update(store, account_id, posteriors.rows(), [r["post_id"] for r in pending], now):
            kv_put(store, SEED_RULE_NS, account_id, stats)
            report.applied[account_id] = len(pending)
        else:
            report.conflicts.append(account_id)
    return report


def seed_rule_stats(store: Store, account_id: str) -> dict[str, dict[str, list[float]]]:
    return kv_get(store, SEED_RULE_NS, account_id, None) or {"generator": {}, "hour": {}}


def learning_update(
    store: Store, config: LearningConfig, now: datetime, *, generator_arms: Sequence[str] = ()
) -> tuple[int, int, UpdateReport]:
    """The whole learning step: catch missed hand-offs, measure rewards, update posteriors."""
    swept = sweep_handoffs(store, now)
    measured = measure_rewards(store, config, now)
    return swept, measured, update_posteriors(store, config, now, generator_arms=generator_arms)
