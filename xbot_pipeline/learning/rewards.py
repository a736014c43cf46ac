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
from typing import Any

from xbot_pipeline.events import EventTracker
from xbot_pipeline.learning.bandit import HOUR_ARMS, Posteriors, age_s, counts_observe, decay_factor
from xbot_pipeline.learning.config import LearningConfig
from xbot_pipeline.posting.review import ReviewError
from xbot_pipeline.store import Store
from xbot_pipeline.store import learning as q
from xbot_pipeline.store.health import kv_get, kv_put
from xbot_pipeline.store.posts import get_post

REJECTED_HORIZON = "review"  # post_rewards.horizon of a post the operator rejected in review
COUNTS_NS = "learning.counts"  # plain counts per arm for the baselines (ucb1, bernoulli_thompson)


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
        stats = baseline_counts(store, account_id)
        for row in pending:
            arm = row["generator"] or "unknown"
            hour = f"{int(row['hour']):02d}"
            posteriors.observe("generator", arm, row["reward"], config.evidence_weight)
            posteriors.observe_hour(
                int(row["hour"]), row["reward"], config.evidence_weight, config.hour_neighbour_share
            )
            counts_observe(stats["generator"], arm, row["reward"], bool(row["success"]))
            counts_observe(stats["hour"], hour, row["reward"], bool(row["success"]))
        if q.apply_update(store, account_id, posteriors.rows(), [r["post_id"] for r in pending], now):
            kv_put(store, COUNTS_NS, account_id, stats)
            report.applied[account_id] = len(pending)
        else:
            report.conflicts.append(account_id)
    return report


def baseline_counts(store: Store, account_id: str) -> dict[str, dict[str, list[float]]]:
    """``{family: {arm: [n, reward sum, successes]}}``: the state UCB1 and Beta-Bernoulli Thompson read."""
    return kv_get(store, COUNTS_NS, account_id, None) or {"generator": {}, "hour": {}}


def learning_update(
    store: Store, config: LearningConfig, now: datetime, *, generator_arms: Sequence[str] = ()
) -> tuple[int, int, UpdateReport]:
    """The whole learning step: catch missed hand-offs, measure rewards, update posteriors."""
    swept = sweep_handoffs(store, now)
    measured = measure_rewards(store, config, now)
    return swept, measured, update_posteriors(store, config, now, generator_arms=generator_arms)


def rejection_reward(post: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The reward row of a planned post the operator rejected: reward 0 (the floor of the reward scale)
    for its generator arm and the hour of its slot, measured now; None for posts the bandit did not
    choose (the operator's own, evergreen copies), which teach it nothing."""
    if post.get("origin") != "planner":
        return None
    hour = post["scheduled_at"].hour
    timing = str(post.get("timing_arm") or "")
    if timing.startswith("hour:") and timing[5:].isdigit():
        hour = int(timing[5:])
    return {
        "account_id": post["account_id"],
        "generator": post.get("bandit_arm") or post.get("generator"),
        "hour": hour,
        "posted_at": post["scheduled_at"],
        "propensity": post.get("propensity"),
        "horizon": REJECTED_HORIZON,
        "impressions": 0,
        "engagements": 0,
        "engagement_rate": 0.0,
        "reward": 0.0,
        "success": False,
        "measured_at": now,
    }


def reject_post(store: Store, tracker: EventTracker, post_id: int, reason: str | None) -> dict[str, Any]:
    """Reject a post awaiting review: status ``rejected`` with the reason and, for a planned post, a zero
    reward the next learning update folds into its generator and hour arms (one transaction).
    Raises ``ReviewError`` when the post is not waiting."""
    post = get_post(store, post_id)
    if post is None:
        raise ReviewError(f"post {post_id} does not exist")
    if post["status"] != "awaiting_review":
        raise ReviewError(f"post {post_id} is not awaiting review (it is {post['status']})")
    now = store.clock.now()
    why = f"rejected in review: {reason}" if reason else "rejected in review"
    reward = rejection_reward(post, now)
    if not q.reject_with_reward(store, post_id, why, now, reward):
        raise ReviewError(f"post {post_id} is no longer awaiting review")
    tracker.track_event(
        "post_rejected",
        {
            "post_id": post_id,
            "reason": reason or "",
            "origin": post.get("origin"),
            "rewarded": reward is not None,
        },
        component="review",
        account_id=post["account_id"],
        subject=f"post:{post_id}",
    )
    return {**post, "status": "rejected", "status_reason": why, "reward": reward}
