"""The review window: posts an account holds for its operator (``awaiting_review``) before they may go out.

A post waits when its account's review mode asks for it (``all``, or ``generated`` for what the planner
wrote: see ``enqueue.needs_review``). Posting only ever selects ``queued`` rows, so a waiting post cannot
be published; ``approve`` queues it, ``edit`` replaces its text through the same validator and duplicate
gate as ``xbot enqueue``, and rejection (``learning.rewards.reject_post``) also teaches the bandit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.content.gates import GateConfig, check_near_duplicate
from xbot_pipeline.content.generators import Draft
from xbot_pipeline.content.normalize import content_hash, normalize_text
from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.enqueue import ValidationError, duplicate_message, validate
from xbot_pipeline.store import Store
from xbot_pipeline.store.posts import (
    DuplicatePost,
    approve_waiting,
    duplicate_of,
    get_post,
    transition,
    update_text,
)

COMPONENT = "review"


class ReviewError(ValueError):
    """The review action cannot be done; the message says why in one line."""


@dataclass(frozen=True)
class GateReport:
    """What the enqueue gates say about a waiting post today (its text may have aged since it was queued)."""

    valid: str  # "pass" or the validator's sentence
    duplicate: str  # "pass" or "duplicate of post N"
    similar: str  # "pass" or the near-duplicate gate's sentence

    @property
    def passed(self) -> bool:
        return self.valid == self.duplicate == self.similar == "pass"


def parts_of(post: dict[str, Any]) -> list[str]:
    return list(post.get("parts") or [post["text"]])


def gate_report(
    store: Store,
    post: dict[str, Any],
    recent: Iterable[tuple[int, str]],
    config: PostingConfig,
    gates: GateConfig,
) -> GateReport:
    """Re-run the enqueue validation, the exact-duplicate gate and the near-duplicate gate on ``post``;
    ``recent`` is (id, normalized text) of the account's other recent posts."""
    try:
        validate(post["kind"], parts_of(post), post.get("reply_to_tweet_id"), config)
        valid = "pass"
    except ValidationError as exc:
        valid = str(exc)
    since = store.clock.now() - timedelta(seconds=config.dedup_window_s)
    dup = duplicate_of(store, post["account_id"], post["content_hash"], since, exclude_id=post["id"])
    duplicate = "pass" if dup is None else f"duplicate of post {dup}"
    lineage = {post["id"], post.get("evergreen_of")}
    others = [(i, t) for i, t in recent if i not in lineage]
    similar = "pass"
    if post["kind"] != "reply":
        verdict = check_near_duplicate(
            Draft(post.get("generator") or "operator", post["kind"], tuple(parts_of(post))), others, gates
        )
        similar = "pass" if verdict.passed else verdict.reason
    return GateReport(valid, duplicate, similar)


def _waiting(store: Store, post_id: int) -> dict[str, Any]:
    post = get_post(store, post_id)
    if post is None:
        raise ReviewError(f"post {post_id} does not exist")
    if post["status"] != "awaiting_review":
        raise ReviewError(f"post {post_id} is not awaiting review (it is {post['status']})")
    return post


def approve(store: Store, tracker: EventTracker, post_id: int) -> dict[str, Any]:
    """Queue a waiting post for its slot (now, if the slot passed while it waited)."""
    post = _waiting(store, post_id)
    now = store.clock.now()
    if not transition(
        store,
        post_id,
        ("awaiting_review",),
        "queued",
        now,
        status_reason="approved by the operator",
        scheduled_at=max(post["scheduled_at"], now),
    ):
        raise ReviewError(f"post {post_id} is no longer awaiting review")
    tracker.track_event(
        "post_approved",
        {"post_id": post_id, "origin": post.get("origin")},
        component=COMPONENT,
        account_id=post["account_id"],
        subject=f"post:{post_id}",
    )
    return {**post, "status": "queued"}


def edit(
    store: Store,
    tracker: EventTracker,
    post_id: int,
    texts: list[str],
    config: PostingConfig | None = None,
) -> dict[str, Any]:
    """Replace a waiting post's text (all parts of a thread), validated as ``xbot enqueue`` validates; a
    refused text raises ``ValidationError`` and changes nothing. The post stays awaiting review."""
    config = config or PostingConfig()
    post = _waiting(store, post_id)
    cleaned, target = validate(post["kind"], texts, post.get("reply_to_tweet_id"), config)
    now = store.clock.now()
    digest = content_hash(cleaned, target)
    try:
        moved = update_text(
            store,
            post_id,
            now,
            duplicate_since=now - timedelta(seconds=config.dedup_window_s),
            content_hash=digest,
            text=cleaned[0],
            parts=cleaned if post["kind"] == "thread" else None,
            normalized_text="\n".join(normalize_text(p) for p in cleaned),
        )
    except DuplicatePost as dup:
        raise ValidationError(duplicate_message(post["account_id"], dup.post_id, config)) from None
    if not moved:
        raise ReviewError(f"post {post_id} is no longer awaiting review")
    tracker.track_event(
        "post_edited_in_review",
        {"post_id": post_id},
        component=COMPONENT,
        account_id=post["account_id"],
        subject=f"post:{post_id}",
    )
    updated = get_post(store, post_id)
    assert updated is not None
    return updated


def auto_approve(store: Store, tracker: EventTracker, after_minutes: float | None) -> list[int]:
    """Approve every post that has waited longer than ``after_minutes`` (off when None); the posting pass
    runs this before it selects, so an approved post can go out in the same pass."""
    if after_minutes is None:
        return []
    now: datetime = store.clock.now()
    moved = approve_waiting(store, now - timedelta(minutes=after_minutes), now)
    for row in moved:
        tracker.track_event(
            "post_auto_approved",
            {
                "post_id": row["id"],
                "waited_minutes": round((now - row["created_at"]).total_seconds() / 60, 1),
            },
            component=COMPONENT,
            account_id=row["account_id"],
            subject=f"post:{row['id']}",
        )
    return [int(row["id"]) for row in moved]
