"""Resume a partial thread: X refused one part (duplicate content) after earlier parts went out.

The operator edits the refused part; the thread goes back to the queue with its live parts' ids kept, so
posting continues the reply chain from the last live part (``publish_post``) and no part goes out twice.
"""

from __future__ import annotations

from typing import Any

from xbot_pipeline.content.normalize import content_hash, normalize_text
from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.enqueue import ValidationError, validate
from xbot_pipeline.posting.live import PARTIAL
from xbot_pipeline.store import Store
from xbot_pipeline.store.posts import get_post, transition


def resume_thread(
    store: Store,
    tracker: EventTracker,
    post_id: int,
    part: int,
    text: str,
    config: PostingConfig | None = None,
) -> dict[str, Any]:
    """Replace part ``part`` (1-based: the first part not live) of partial thread ``post_id`` with ``text``
    and queue the thread again; raises ``ValidationError`` (one line, nothing written) otherwise."""
    config = config or PostingConfig()
    post = get_post(store, post_id)
    if post is None:
        raise ValidationError(f"no post {post_id}")
    if post["kind"] != "thread":
        raise ValidationError(f"post {post_id} is a {post['kind']}, not a thread")
    live = [str(i) for i in (post.get("tweet_ids") or []) if i]
    if post["status"] != "failed_permanent" or not str(post.get("status_reason") or "").startswith(PARTIAL):
        raise ValidationError(f"post {post_id} is not a partial thread (status {post['status']})")
    first_missing = len(live) + 1
    if part != first_missing:
        raise ValidationError(
            f"post {post_id}: parts 1-{len(live)} are live; resume from part {first_missing}, not {part}"
        )
    parts = list(post.get("parts") or [post["text"]])
    parts[part - 1] = text
    cleaned, _ = validate("thread", parts, None, config)
    now = store.clock.now()
    moved = transition(
        store,
        post_id,
        ("failed_permanent",),
        "queued",
        now,
        parts=cleaned,
        text=cleaned[0],
        content_hash=content_hash(cleaned),
        normalized_text="\n".join(normalize_text(p) for p in cleaned),
        status_reason=f"resumed from part {part} by the operator",
        next_attempt_at=None,
        scheduled_at=now,
        claimed_at=None,
        claimed_by=None,
    )
    if not moved:
        raise ValidationError(f"post {post_id} changed meanwhile; look at it again")
    tracker.track_event(
        "thread_resumed",
        {"post_id": post_id, "part": part, "parts_live": len(live)},
        component="posting",
        account_id=post["account_id"],
        subject=f"post:{post_id}",
    )
    tracker.mark_recovered(subject=f"post:{post_id}")
    return get_post(store, post_id) or post
