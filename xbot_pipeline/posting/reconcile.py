"""Find a queued post on the account's own timeline (X has no idempotency key: this is how we know).

A post is matched by normalized text (and, for replies and later thread parts, by what it answers when the
publisher reports it) among timeline posts created after the post was first claimed, minus a small slack.
Absence is only "certain" when the timeline read is proven complete back past that time (see
``read_timeline``); text is compared with ``post_text_key``, the one matcher posting uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.content.normalize import same_post_text
from xbot_pipeline.publishing.base import Publisher, TimelinePost, TimelinePosts

CLOCK_SLACK = timedelta(minutes=5)


@dataclass
class Timeline:
    posts: list[TimelinePost]
    complete_since: datetime | None  # absence is certain for anything created after this
    ok: bool = True


def read_timeline(publisher: Publisher, since: datetime | None = None, limit: int = 100) -> Timeline:
    """The account's recent posts back to ``since`` (the reader scrolls or paginates), and how far back a
    miss is certain: only back to the oldest post the read actually saw, or further when the reader
    proves it (``TimelinePosts.complete_since``: the API's last page, an empty profile). Never "complete
    since the epoch" because a read returned fewer than ``limit`` posts: a profile page renders a handful
    before scrolling, and that proves nothing about older posts.
    """
    try:
        items = list(raw := publisher.recent_posts(limit, since=since))
    except Exception:
        return Timeline([], None, ok=False)
    proven = raw.complete_since if isinstance(raw, TimelinePosts) else None
    oldest = min((p.created_at for p in items), default=None)
    candidates = [t for t in (proven, oldest) if t is not None]
    return Timeline(items, min(candidates) if candidates else None)


def parts_of(post: dict[str, Any]) -> list[str]:
    return list(post.get("parts") or [post["text"]])


def match_parts(
    post: dict[str, Any], timeline: Timeline, since: datetime, taken: set[str] | None = None
) -> list[str | None]:
    """One timeline id (or None) per part of ``post``, in order."""
    taken = taken or set()
    known = list(post.get("tweet_ids") or [])
    found: list[str | None] = []
    previous: str | None = post.get("reply_to_tweet_id") if post["kind"] == "reply" else None
    floor = since - CLOCK_SLACK
    for index, text in enumerate(parts_of(post)):
        if index < len(known) and known[index]:
            found.append(str(known[index]))
            previous = str(known[index])
            continue
        hit = None
        for item in sorted(timeline.posts, key=lambda p: p.created_at):
            if item.tweet_id in taken or item.created_at < floor or not same_post_text(text, item.text):
                continue
            if previous and item.in_reply_to and item.in_reply_to != previous:
                continue
            hit = item.tweet_id
            break
        found.append(hit)
        previous = hit or previous
    return found


def certainly_absent(timeline: Timeline, since: datetime) -> bool:
    """True when the timeline read covers everything created since ``since`` (so a miss is real)."""
    return (
        timeline.ok and timeline.complete_since is not None and timeline.complete_since <= since - CLOCK_SLACK
    )


def missing_parts_absent(timeline: Timeline, since: datetime, ids: list[str | None]) -> bool:
    """True when the parts ``match_parts`` did not find (None in ``ids``) are certainly not live.

    Either the read covers the post's whole window (``certainly_absent``), or the first missing part comes
    after a part seen on this timeline and the read is complete back to that part: a later part replies
    to the one before it, so X created it after that one (X's clock on both sides, no slack needed).
    """
    if certainly_absent(timeline, since):
        return True
    missing = next((i for i, tweet_id in enumerate(ids) if not tweet_id), None)
    if not timeline.ok or timeline.complete_since is None or not missing:
        return False
    anchor = next((p for p in timeline.posts if p.tweet_id == ids[missing - 1]), None)
    return anchor is not None and timeline.complete_since <= anchor.created_at
