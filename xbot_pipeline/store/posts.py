"""Queries on ``posts``: the queue's rows and their atomic state changes.

Every state change is a guarded UPDATE (``WHERE status IN (...)``) whose rowcount says whether this
process won; that works the same on SQLite and Postgres and needs no lock held across a publish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.media import insert_media
from xbot_pipeline.store.schema import accounts, posts

CLAIMABLE = ("queued", "retry_pending", "blocked")
TERMINAL = ("posted", "failed", "failed_permanent", "cancelled", "skipped", "rejected")
# Never went out and never will: neither a duplicate of a new post nor a reason to refuse one.
DEAD = ("failed", "failed_permanent", "cancelled", "skipped", "rejected")


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


def posts_on_x_since(store: Store, account_ids: list[str], since: datetime) -> list[dict[str, Any]]:
    """Rows of ``account_ids`` touched since ``since`` that may have put posts on X, for X's 24-hour caps
    (every thread part is one post there): ``account_id``, ``kind``, ``status``, ``parts``, ``text``,
    ``tweet_ids`` and ``at`` (``posted_at``, else ``claimed_at``, else ``updated_at``)."""
    if not account_ids:
        return []
    p = posts.c
    when = sa.func.coalesce(p.posted_at, p.claimed_at, p.updated_at)
    query = sa.select(p.account_id, p.kind, p.status, p.parts, p.text, p.tweet_ids, when.label("at")).where(
        p.account_id.in_(account_ids),
        p.status.not_in(("queued", "cancelled", "skipped")) | p.tweet_ids.is_not(None),
        when >= since,
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def duplicate_of(
    store: Store,
    account_id: str,
    content_hash: str,
    since: datetime,
    *,
    conn: sa.Connection | None = None,
    exclude_id: int | None = None,
) -> int | None:
    """The id of a live or pending post with the same content hash created or posted since ``since``
    (other than ``exclude_id``: a post under review is not a duplicate of itself)."""
    p = posts.c
    query = (
        sa.select(p.id)
        .where(
            p.account_id == account_id,
            p.content_hash == content_hash,
            p.status.not_in(DEAD),
            sa.func.coalesce(p.posted_at, p.created_at) >= since,
        )
        .limit(1)
    )
    if exclude_id is not None:
        query = query.where(p.id != exclude_id)
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


class UnknownAccount(LookupError):
    """The post names an account the store does not have."""


class DuplicatePost(ValueError):
    """A live or pending post with the same content exists; ``post_id`` is its id."""

    def __init__(self, post_id: int) -> None:
        super().__init__(f"duplicate of post {post_id}")
        self.post_id = post_id


def insert_queued(
    store: Store,
    account_id: str,
    content_hash: str,
    now: datetime,
    *,
    duplicate_since: datetime,
    media: list[dict[str, Any]] | None = None,
    status: str = "queued",
    **values: Any,
) -> dict[str, Any]:
    """Queue one post in one transaction and return its row; raises ``UnknownAccount`` or ``DuplicatePost``
    (see ``duplicate_of``) and then writes nothing. ``values`` are the other ``posts`` columns; ``media``
    its ``post_media`` rows (written in the same transaction); ``status`` is ``queued`` or
    ``awaiting_review``."""
    with store.begin() as conn:
        if conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id)).first() is None:
            raise UnknownAccount(account_id)
        existing = duplicate_of(store, account_id, content_hash, duplicate_since, conn=conn)
        if existing is not None:
            raise DuplicatePost(existing)
        row = conn.execute(
            posts.insert()
            .values(
                account_id=account_id,
                content_hash=content_hash,
                status=status,
                created_at=now,
                updated_at=now,
                **values,
            )
            .returning(*posts.c)
        ).one()
        insert_media(conn, int(row.id), media or [])
    return dict(row._mapping)


# -- review window and evergreen posts (migration 0006) -----------------------------------------------
def awaiting_review(store: Store, account_id: str | None = None) -> list[dict[str, Any]]:
    """Posts waiting for the operator's review, oldest first."""
    query = (
        sa.select(posts).where(posts.c.status == "awaiting_review").order_by(posts.c.created_at, posts.c.id)
    )
    if account_id:
        query = query.where(posts.c.account_id == account_id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def oldest_awaiting_review(store: Store) -> dict[str, datetime]:
    """Per account, when its oldest post still waiting for review was created."""
    p = posts.c
    query = (
        sa.select(p.account_id, sa.func.min(p.created_at))
        .where(p.status == "awaiting_review")
        .group_by(p.account_id)
    )
    with store.connect() as conn:
        return {a: when for a, when in conn.execute(query)}


def update_text(
    store: Store,
    post_id: int,
    now: datetime,
    *,
    duplicate_since: datetime,
    content_hash: str,
    **values: Any,
) -> bool:
    """Replace the text of a post still awaiting review, in one transaction: ``DuplicatePost`` (nothing
    written) when another live or pending post has the new content; False when it is no longer waiting."""
    with store.begin() as conn:
        row = conn.execute(sa.select(posts.c.account_id).where(posts.c.id == post_id)).first()
        if row is None:
            return False
        existing = duplicate_of(
            store, row.account_id, content_hash, duplicate_since, conn=conn, exclude_id=post_id
        )
        if existing is not None:
            raise DuplicatePost(existing)
        result = conn.execute(
            posts.update()
            .where(posts.c.id == post_id, posts.c.status == "awaiting_review")
            .values(content_hash=content_hash, updated_at=now, **values)
        )
    return result.rowcount == 1


def approve_waiting(store: Store, created_before: datetime, now: datetime) -> list[dict[str, Any]]:
    """Move every post awaiting review since before ``created_before`` to ``queued`` (auto-approval);
    returns the rows that moved. A slot already past becomes ``now`` (the post goes out, not stale)."""
    p = posts.c
    moved: list[dict[str, Any]] = []
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(p.id, p.account_id, p.scheduled_at, p.created_at).where(
                p.status == "awaiting_review", p.created_at < created_before
            )
        ).all()
    for row in rows:
        reason = "approved automatically after waiting for review"
        if transition(
            store,
            row.id,
            ("awaiting_review",),
            "queued",
            now,
            status_reason=reason,
            scheduled_at=max(row.scheduled_at, now),
        ):
            moved.append(dict(row._mapping))
    return moved


def evergreen_posts(store: Store, account_id: str) -> list[dict[str, Any]]:
    """The account's evergreen originals that went out (the posts the planner may re-queue)."""
    p = posts.c
    query = (
        sa.select(posts)
        .where(
            p.account_id == account_id,
            p.evergreen.is_(True),
            p.evergreen_of.is_(None),
            p.status == "posted",
        )
        .order_by(p.posted_at, p.id)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def evergreen_copies(store: Store, original_id: int) -> list[dict[str, Any]]:
    """Every re-queued copy of an evergreen original, oldest first (any status)."""
    query = sa.select(posts).where(posts.c.evergreen_of == original_id).order_by(posts.c.id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def set_evergreen(store: Store, post_id: int, on: bool, now: datetime) -> bool:
    """Mark (or unmark) a post evergreen; False when it does not exist or is itself a copy."""
    with store.begin() as conn:
        result = conn.execute(
            posts.update()
            .where(posts.c.id == post_id, posts.c.evergreen_of.is_(None))
            .values(evergreen=on, updated_at=now)
        )
    return result.rowcount == 1
