"""Queries on ``post_media``: the files queued with a post and the cached upload of each to X."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import post_media


def insert_media(conn: sa.Connection, post_id: int, rows: list[dict[str, Any]]) -> None:
    """Add the post's media rows inside the caller's transaction (the one that queues the post)."""
    if rows:
        conn.execute(post_media.insert(), [{**row, "post_id": post_id} for row in rows])


def media_for(store: Store, post_id: int) -> list[dict[str, Any]]:
    """The post's media, by part then position."""
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(post_media)
            .where(post_media.c.post_id == post_id)
            .order_by(post_media.c.part, post_media.c.position)
        )
        return [dict(r._mapping) for r in rows]


def media_counts(store: Store, post_ids: list[int] | None = None) -> dict[int, int]:
    """How many files each post carries (posts without media are left out)."""
    stmt = sa.select(post_media.c.post_id, sa.func.count()).group_by(post_media.c.post_id)
    if post_ids is not None:
        stmt = stmt.where(post_media.c.post_id.in_(post_ids))
    with store.connect() as conn:
        return {int(pid): int(n) for pid, n in conn.execute(stmt)}


def remember_upload(
    store: Store,
    post_id: int,
    part: int,
    position: int,
    media_id: str,
    expires_at: datetime,
    attempt_no: int | None,
) -> None:
    """Cache X's media id for one file so a retry reuses it while it is valid."""
    with store.begin() as conn:
        conn.execute(
            post_media.update()
            .where(
                post_media.c.post_id == post_id,
                post_media.c.part == part,
                post_media.c.position == position,
            )
            .values(media_id=media_id, media_expires_at=expires_at, media_attempt_no=attempt_no)
        )
