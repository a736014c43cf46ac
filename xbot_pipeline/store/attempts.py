"""Queries on ``post_attempts``: the write-ahead record of every publish attempt.

The row is written (outcome 'pending') BEFORE the publisher is called, so a crash mid-publish leaves a
trace recovery can act on; the outcome is filled in afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import post_attempts, posts


def begin_attempt(
    store: Store, post: dict[str, Any], publisher: str, run_id: str | None, now: datetime
) -> tuple[int, int]:
    """Write the pending attempt and bump the post's attempt_count in one transaction.

    Returns (attempt id, attempt number).
    """
    with store.begin() as conn:
        current = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(post_attempts.c.attempt_no), 0)).where(
                post_attempts.c.post_id == post["id"]
            )
        ).scalar_one()
        attempt_no = int(current) + 1
        attempt_id = conn.execute(
            post_attempts.insert()
            .values(
                post_id=post["id"],
                account_id=post["account_id"],
                attempt_no=attempt_no,
                publisher=publisher,
                run_id=run_id,
                content_hash=post["content_hash"],
                started_at=now,
                outcome="pending",
            )
            .returning(post_attempts.c.id)
        ).scalar_one()
        conn.execute(
            posts.update().where(posts.c.id == post["id"]).values(attempt_count=attempt_no, updated_at=now)
        )
    return int(attempt_id), attempt_no


def finish_attempt(
    store: Store,
    attempt_id: int,
    outcome: str,
    now: datetime,
    *,
    tweet_id: str | None = None,
    error_type: str | None = None,
    root_cause: str | None = None,
    error_message: str | None = None,
    conn: sa.Connection | None = None,
) -> None:
    stmt = (
        post_attempts.update()
        .where(post_attempts.c.id == attempt_id)
        .values(
            outcome=outcome,
            finished_at=now,
            tweet_id=tweet_id,
            error_type=error_type,
            root_cause=root_cause,
            error_message=(error_message or "")[:2000] or None,
        )
    )
    if conn is not None:
        conn.execute(stmt)
        return
    with store.begin() as own:
        own.execute(stmt)


def resolve_open_attempts(
    store: Store,
    post_id: int,
    outcome: str,
    now: datetime,
    *,
    include: int | None = None,
    conn: sa.Connection | None = None,
    **values: Any,
) -> int:
    """Close the post's 'pending' / 'unknown' attempts (and attempt ``include``, whatever its outcome) once
    it is known what happened; ``values`` set other columns, the rest (error fields) stay as they are."""
    a = post_attempts.c
    which: sa.ColumnElement[bool] = a.outcome.in_(("pending", "unknown"))
    if include is not None:
        which = sa.or_(which, a.id == include)
    stmt = (
        post_attempts.update()
        .where(a.post_id == post_id, which)
        .values(outcome=outcome, finished_at=now, **values)
    )
    if conn is not None:
        return int(conn.execute(stmt).rowcount or 0)
    with store.begin() as own:
        return int(own.execute(stmt).rowcount or 0)


def attempts_for(store: Store, post_id: int) -> list[dict[str, Any]]:
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(post_attempts)
            .where(post_attempts.c.post_id == post_id)
            .order_by(post_attempts.c.attempt_no)
        )
        return [dict(r._mapping) for r in rows]


def fill_posted_attempt_id(store: Store, post_id: int, tweet_id: str) -> int:
    """Give the post's 'posted_no_id' attempts the id recovery found; returns how many rows changed."""
    with store.begin() as conn:
        result = conn.execute(
            post_attempts.update()
            .where(
                post_attempts.c.post_id == post_id,
                post_attempts.c.outcome == "posted_no_id",
                post_attempts.c.tweet_id.is_(None),
            )
            .values(tweet_id=tweet_id)
        )
    return int(result.rowcount or 0)
