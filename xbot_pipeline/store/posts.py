"""Queries on ``posts``: the queue's rows and their atomic state changes.

Every state change is a guarded UPDATE (``WHERE status IN (...)``) whose rowcount says whether this
process won; that works the same on SQLite and Postgres and needs no lock held across a publish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import posts

CLAIMABLE = ("queued", "retry_pending", "blocked")
TERMINAL = ("posted", "failed", "failed_permanent", "cancelled", "skipped")


def get_post(store: Store, post_id: int) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(sa.select(posts).where(posts.c.id == post_id)).first()
    return dict(row._mapping) if row else None


def list_posts(store: Store, account_id: str | None = None, statuses: tuple[str, ...] = ()) -> list[dict]:
    query = sa.select(posts).order_by(posts.c.id)
    if account_id:
        query = query.where(posts.c.account_id == account_id)
    if statuses:
        query = query.where(posts.c.status.in_(statuses))
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def due_posts(store: Store, account_id: str, now: datetime, due_before: datetime) -> list[dict[str, Any]]:
    """Claimable rows of one account whose slot (and retry time) has come, oldest first."""
    p = posts.c
    query = (
        sa.select(posts)
        .where(
            p.account_id == account_id,
            p.status.in_(CLAIMABLE),
            p.scheduled_at <= due_before,
            sa.or_(p.next_attempt_at.is_(None), p.next_attempt_at <= now),
        )
        .order_by(p.scheduled_at, p.id)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def stale_candidates(store: Store, account_id: str, older_than: datetime) -> list[dict[str, Any]]:
    """Waiting rows (never started, or waiting for a retry) scheduled before ``older_than``."""
    p = posts.c
    query = sa.select(p.id, p.kind, p.scheduled_at, p.tweet_ids).where(
        p.account_id == account_id, p.status.in_(CLAIMABLE), p.scheduled_at < older_than
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def claim(store: Store, post_id: int, claimed_by: str, now: datetime) -> bool:
    """Atomically take a post for publishing; False when another process got it first."""
    with store.begin() as conn:
        result = conn.execute(
            posts.update()
            .where(posts.c.id == post_id, posts.c.status.in_(CLAIMABLE))
            .values(status="posting", claimed_at=now, claimed_by=claimed_by, updated_at=now)
        )
    return result.rowcount == 1


def transition(
    store: Store,
    post_id: int,
    from_statuses: tuple[str, ...],
    to_status: str,
    now: datetime,
    *,
    conn: sa.Connection | None = None,
    **values: Any,
) -> bool:
    """Move a post from one of ``from_statuses`` to ``to_status`` (guarded); True when it moved."""
    stmt = (
        posts.update()
        .where(posts.c.id == post_id, posts.c.status.in_(from_statuses))
        .values(status=to_status, updated_at=now, **values)
    )
    if conn is not None:
        return conn.execute(stmt).rowcount == 1
    with store.begin() as own:
        return own.execute(stmt).rowcount == 1


def set_fields(store: Store, post_id: int, now: datetime, **values: Any) -> None:
    with store.begin() as conn:
        conn.execute(posts.update().where(posts.c.id == post_id).values(updated_at=now, **values))


def recent_publications(store: Store, account_id: str, since: datetime) -> list[dict[str, Any]]:
    """Posts that count against limits since ``since``: posted (with or without id), unknown, in flight.

    The time is ``posted_at`` when known, else ``claimed_at`` (an unknown outcome may be live).
    """
    p = posts.c
    when = sa.func.coalesce(p.posted_at, p.claimed_at)
    query = sa.select(p.id, p.kind, p.status, when.label("at")).where(
        p.account_id == account_id,
        p.status.in_(("posted", "unknown", "posting")),
        when >= since,
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def duplicate_of(
    store: Store, account_id: str, content_hash: str, since: datetime, *, conn: sa.Connection | None = None
) -> int | None:
    """The id of a live or pending post with the same content hash created or posted since ``since``."""
    p = posts.c
    query = (
        sa.select(p.id)
        .where(
            p.account_id == account_id,
            p.content_hash == content_hash,
            p.status.not_in(("failed", "failed_permanent", "cancelled", "skipped")),
            sa.func.coalesce(p.posted_at, p.created_at) >= since,
        )
        .limit(1)
    )
    if conn is not None:
        return conn.execute(query).scalar()
    with store.connect() as own:
        return own.execute(query).scalar()


def posts_missing_id(store: Store, posted_before: datetime | None = None) -> list[dict[str, Any]]:
    p = posts.c
    query = sa.select(posts).where(p.status == "posted", p.tweet_id.is_(None)).order_by(p.id)
    if posted_before is not None:
        query = query.where(p.posted_at <= posted_before)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def posts_to_reconcile(store: Store, stuck_before: datetime) -> list[dict[str, Any]]:
    """Rows whose fate is open: 'unknown', or 'posting' claimed before ``stuck_before``."""
    p = posts.c
    query = (
        sa.select(posts)
        .where(
            sa.or_(
                p.status == "unknown",
                sa.and_(p.status == "posting", sa.func.coalesce(p.claimed_at, p.updated_at) < stuck_before),
            )
        )
        .order_by(p.id)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def queue_counts(store: Store) -> dict[str, int]:
    with store.connect() as conn:
        rows = conn.execute(sa.select(posts.c.status, sa.func.count()).group_by(posts.c.status)).all()
    return {status: int(n) for status, n in rows}
