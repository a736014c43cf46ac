"""Queries for learning: gate rejections, plan decisions, post rewards and the persisted bandit arms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import (
    bandit_arms,
    content_rejections,
    plan_decisions,
    post_metrics,
    post_rewards,
    posts,
)

LIVE_OR_PENDING = ("awaiting_review", "queued", "posting", "posted", "retry_pending", "unknown", "blocked")


def recent_texts(store: Store, account_id: str, since: datetime) -> list[tuple[int, str]]:
    """(id, normalized text) of every post queued or posted for the account since ``since``, and of those
    the operator rejected in review (a near copy of a rejected draft is refused too)."""
    p = posts.c
    query = sa.select(p.id, p.normalized_text).where(
        p.account_id == account_id,
        p.status.in_((*LIVE_OR_PENDING, "rejected")),
        sa.func.coalesce(p.posted_at, p.created_at) >= since,
    )
    with store.connect() as conn:
        return [(int(r.id), r.normalized_text) for r in conn.execute(query)]


def planned_posts(store: Store, account_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Posts (queued, in flight or posted) whose slot falls in [start, end): they occupy the plan."""
    p = posts.c
    when = sa.func.coalesce(p.posted_at, p.scheduled_at)
    query = sa.select(p.id, p.kind, p.status, when.label("at")).where(
        p.account_id == account_id,
        p.status.in_(LIVE_OR_PENDING),
        p.kind != "reply",
        when >= start,
        when < end,
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def record_rejection(
    store: Store,
    account_id: str,
    generator: str,
    kind: str,
    text: str,
    gate: str,
    reason: str,
    now: datetime,
    similar_post_id: int | None = None,
) -> int:
    with store.begin() as conn:
        return int(
            conn.execute(
                content_rejections.insert()
                .values(
                    account_id=account_id,
                    generator=generator,
                    gate=gate,
                    reason=reason,
                    kind=kind,
                    text=text,
                    similar_post_id=similar_post_id,
                    created_at=now,
                )
                .returning(content_rejections.c.id)
            ).scalar_one()
        )


def rejections(store: Store, account_id: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(content_rejections).order_by(content_rejections.c.id)
    if account_id:
        query = query.where(content_rejections.c.account_id == account_id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def record_decision(store: Store, values: dict[str, Any]) -> None:
    with store.begin() as conn:
        conn.execute(plan_decisions.insert().values(**values))


def decisions(store: Store, account_id: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(plan_decisions).order_by(plan_decisions.c.post_id)
    if account_id:
        query = query.where(plan_decisions.c.account_id == account_id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


# -- rewards ------------------------------------------------------------------------------------------
def ensure_reward_row(store: Store, post: dict[str, Any], now: datetime) -> bool:
    """Register a published post for learning (idempotent); the hour arm comes from ``posted_at``."""
    posted_at = post.get("posted_at")
    if posted_at is None:
        return False
    values = {
        "post_id": post["id"],
        "account_id": post["account_id"],
        "generator": post.get("bandit_arm") or post.get("generator"),
        "hour": posted_at.hour,
        "posted_at": posted_at,
        "propensity": post.get("propensity"),
        "created_at": now,
        "updated_at": now,
    }
    with store.begin() as conn:
        exists = conn.execute(sa.select(post_rewards.c.post_id).where(post_rewards.c.post_id == post["id"]))
        if exists.first() is not None:
            return False
        try:
            with conn.begin_nested():
                conn.execute(post_rewards.insert().values(**values))
        except sa.exc.IntegrityError:
            return False
    return True


def reject_with_reward(
    store: Store, post_id: int, reason: str, now: datetime, reward: dict[str, Any] | None
) -> bool:
    """Reject a post awaiting review and, when ``reward`` is given (a planned post: its arms), record it as
    a measured reward row for the bandit, in one transaction. False when the post was not waiting."""
    with store.begin() as conn:
        moved = conn.execute(
            posts.update()
            .where(posts.c.id == post_id, posts.c.status == "awaiting_review")
            .values(status="rejected", status_reason=reason, updated_at=now)
        ).rowcount
        if moved != 1:
            return False
        if reward is not None:
            conn.execute(
                post_rewards.insert().values(post_id=post_id, created_at=now, updated_at=now, **reward)
            )
    return True


def posted_without_reward_row(store: Store, since: datetime) -> list[dict[str, Any]]:
    """Published posts (not replies, not evergreen copies) that learning has not registered yet: the
    hand-off's safety net."""
    p = posts.c
    query = (
        sa.select(posts)
        .outerjoin(post_rewards, post_rewards.c.post_id == p.id)
        .where(
            p.status == "posted",
            p.kind != "reply",
            p.origin != "evergreen",
            p.posted_at.is_not(None),
            p.posted_at >= since,
            post_rewards.c.post_id.is_(None),
        )
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def unmeasured_rewards(store: Store, horizon: str) -> list[dict[str, Any]]:
    """Reward rows still without a reward whose ``horizon`` metrics row exists."""
    r, m = post_rewards.c, post_metrics.c
    query = (
        sa.select(
            r.post_id,
            m.impressions,
            m.likes,
            m.reposts,
            m.replies,
            m.collected_at,
        )
        .join(post_metrics, sa.and_(m.post_id == r.post_id, m.horizon == horizon))
        .where(r.reward.is_(None))
    )
    with store.connect() as conn:
        return [dict(x._mapping) for x in conn.execute(query)]


def set_reward(store: Store, post_id: int, now: datetime, **values: Any) -> None:
    with store.begin() as conn:
        conn.execute(
            post_rewards.update()
            .where(post_rewards.c.post_id == post_id, post_rewards.c.reward.is_(None))
            .values(updated_at=now, **values)
        )


def reward_rows(store: Store, account_id: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(post_rewards).order_by(post_rewards.c.posted_at, post_rewards.c.post_id)
    if account_id:
        query = query.where(post_rewards.c.account_id == account_id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


# -- bandit arms --------------------------------------------------------------------------------------
def load_arms(store: Store, account_id: str) -> list[dict[str, Any]]:
    query = sa.select(bandit_arms).where(bandit_arms.c.account_id == account_id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def all_arms(store: Store) -> list[dict[str, Any]]:
    query = sa.select(bandit_arms).order_by(bandit_arms.c.account_id, bandit_arms.c.family, bandit_arms.c.arm)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def apply_update(
    store: Store, account_id: str, arms: list[dict[str, Any]], applied_post_ids: list[int], now: datetime
) -> bool:
    """Write the arms and mark the rewards applied, in one transaction; False (nothing written) when
    another process applied some of these rewards first."""
    try:
        with store.begin() as conn:
            if applied_post_ids:
                done = conn.execute(
                    post_rewards.update()
                    .where(post_rewards.c.post_id.in_(applied_post_ids), post_rewards.c.applied_at.is_(None))
                    .values(applied_at=now, updated_at=now)
                ).rowcount
                if done != len(applied_post_ids):
                    raise _Lost
            conn.execute(bandit_arms.delete().where(bandit_arms.c.account_id == account_id))
            if arms:
                rows = [{**a, "account_id": account_id, "updated_at": now} for a in arms]
                conn.execute(bandit_arms.insert(), rows)
    except _Lost:
        return False
    return True


class _Lost(Exception):
    """Another updater applied some of the same rewards: roll back, the caller retries later."""


def unapplied_rewards(store: Store, account_id: str) -> list[dict[str, Any]]:
    r = post_rewards.c
    query = (
        sa.select(post_rewards)
        .where(r.account_id == account_id, r.reward.is_not(None), r.applied_at.is_(None))
        .order_by(r.posted_at, r.post_id)
    )
    with store.connect() as conn:
        return [dict(x._mapping) for x in conn.execute(query)]


def reward_accounts(store: Store) -> list[str]:
    with store.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(post_rewards.c.account_id).distinct())]
