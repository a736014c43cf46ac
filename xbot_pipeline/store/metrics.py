"""Queries for metrics collection: posts due a horizon, append-only metric rows, follower snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import follower_snapshots, post_metrics, posts


def posts_to_measure(store: Store, account_id: str, since: datetime) -> list[dict[str, Any]]:
    """Posted rows with an id, posted since ``since``, with the horizons already collected."""
    p = posts.c
    query = sa.select(p.id, p.account_id, p.tweet_id, p.posted_at).where(
        p.account_id == account_id,
        p.status == "posted",
        p.tweet_id.is_not(None),
        p.posted_at >= since,
    )
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query.order_by(p.posted_at))]
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        seen: dict[int, set[str]] = {}
        for pid, horizon in conn.execute(
            sa.select(post_metrics.c.post_id, post_metrics.c.horizon).where(post_metrics.c.post_id.in_(ids))
        ):
            seen.setdefault(int(pid), set()).add(horizon)
    for row in rows:
        row["collected"] = seen.get(row["id"], set())
    return rows


def insert_metric(store: Store, values: dict[str, Any]) -> bool:
    """Append one horizon's metrics; False when that horizon was collected already (append-only)."""
    with store.begin() as conn:
        if values["horizon"] != "adhoc":
            exists = conn.execute(
                sa.select(post_metrics.c.id).where(
                    post_metrics.c.post_id == values["post_id"], post_metrics.c.horizon == values["horizon"]
                )
            ).first()
            if exists is not None:
                return False
        try:
            with conn.begin_nested():
                conn.execute(post_metrics.insert().values(**values))
        except sa.exc.IntegrityError:  # a concurrent collector won the unique index
            return False
    return True


def metrics_of(store: Store, post_id: int) -> list[dict[str, Any]]:
    query = sa.select(post_metrics).where(post_metrics.c.post_id == post_id).order_by(post_metrics.c.id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def record_followers(store: Store, account_id: str, followers: int, now: datetime) -> None:
    with store.begin() as conn:
        conn.execute(
            follower_snapshots.insert().values(account_id=account_id, collected_at=now, followers=followers)
        )


def latest_followers(store: Store, account_id: str, within: timedelta, now: datetime) -> int | None:
    fs = follower_snapshots.c
    query = (
        sa.select(fs.followers)
        .where(fs.account_id == account_id, fs.collected_at >= now - within)
        .order_by(fs.collected_at.desc())
        .limit(1)
    )
    with store.connect() as conn:
        return conn.execute(query).scalar()
