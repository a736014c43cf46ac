"""Find a queued post on the account's own timeline (X has no idempotency key: this is how we know).

A post is matched by normalized text (and, for replies and later thread parts, by what it answers when the
publisher reports it) among timeline posts created after the post was first claimed, minus a small slack.
Absence is only "certain" when the timeline read reached back past that time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from xbot_pipeline.content.normalize import normalize_text
from xbot_pipeline.publishing.base import Publisher, TimelinePost

CLOCK_SLACK = timedelta(minutes=5)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Timeline:
    posts: list[TimelinePost]
    complete_since: datetime | None  # absence is certain for anything created after this
    ok: bool = True


def read_timeline(publisher: Publisher, limit: int = 100) -> Timeline:
    """The account's recent posts, and how far back a miss is certain.

    An empty answer is only trusted when another read works (a failed read also looks empty); a full page
    (``limit`` items) is only complete back to its oldest item.
    """
    try:
        items = list(publisher.recent_posts(limit))
    except Exception:
        return Timeline([], None, ok=False)
    if not items:
        try:
            reachable = publisher.followers_count() is not None
        except Exception:
            reachable = False
        return Timeline([], EPOCH if reachable else None, ok=reachable)
    if len(items) >= limit:
        return Timeline(items, min(p.created_at for p in items))
    return Timeline(items, EPOCH)


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
        norm = normalize_text(text)
        hit = None
        for item in sorted(timeline.posts, key=lambda p: p.created_at):
            if item.tweet_id in taken or item.created_at < floor or normalize_text(item.text) != norm:
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
