"""The publisher interface: one contract for the browser (Playwright) and API (httpx) publishers.

Every publish ends in exactly one definite ``Outcome``; the posting logic decides what each means for
the queue. Publishers never raise for X's answers (only for programming errors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    POSTED = "posted"  # live, id known
    POSTED_NO_ID = "posted_no_id"  # live (X confirmed it), id not captured: recovery fills it in
    REJECTED = "rejected"  # non-retryable (duplicate, 226 automation block, invalid text, session expired)
    RETRYABLE = "retryable"  # certainly not posted (e.g. 500 before creation, 429): may retry later
    UNKNOWN = "unknown"  # may or may not be live (timeout after submit, dropped connection): reconcile


class RootCause(StrEnum):
    NETWORK = "network"
    RATE_LIMIT = "rate_limit"
    AUTOMATION_BLOCK = "automation_block"
    SESSION = "session"
    PAGE_CHANGED = "page_changed"
    DUPLICATE = "duplicate"
    STORE = "store"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class MediaItem:
    """One file to attach: where it is, what it is, its alt text, and X's id for it when an earlier
    attempt uploaded it (reused while ``expires_at`` is far enough ahead)."""

    path: str
    mime: str
    sha256: str
    size: int
    alt_text: str | None = None
    part: int = 1  # the thread part it belongs to (from 1)
    position: int = 0
    media_id: str | None = None
    expires_at: datetime | None = None


# Called once per file right after X accepted it (id, expiry): the posting layer caches it for retries.
MediaUploaded = Callable[[MediaItem, str, datetime], None]


@dataclass(frozen=True)
class PostRequest:
    """What to publish. A thread is ``parts`` in order; a reply names ``reply_to`` (a post id).
    ``media[i]`` are the files of part ``i`` (empty: text only)."""

    kind: str  # single | thread | reply
    parts: list[str]
    reply_to: str | None = None
    post_id: int | None = None  # our queue id, for logs only
    media: tuple[tuple[MediaItem, ...], ...] = ()
    on_media_uploaded: MediaUploaded | None = field(default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        return self.parts[0]

    def media_of(self, index: int) -> tuple[MediaItem, ...]:
        """The files of part ``index`` (from 0)."""
        return self.media[index] if index < len(self.media) else ()


@dataclass(frozen=True)
class RateBudget:
    """X's rate-limit headers, kept so callers can slow down before a 429."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None


@dataclass(frozen=True)
class RateWindow:
    """One of X's rate-limit windows as an answer's headers state it (each value checked, else None)."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None

    @property
    def exhausted(self) -> bool:
        return self.remaining == 0 and self.reset_at is not None


@dataclass(frozen=True)
class RateLimits:
    """Every rate-limit window one answer of X reported: the endpoint's 15-minute window
    (``x-rate-limit-*``) and the 24-hour post caps per user (``x-user-limit-24hour-*``) and per app
    (``x-app-limit-24hour-*``). The posting pass keeps the 24-hour ones per account and per app."""

    window: RateWindow | None = None
    user_24h: RateWindow | None = None
    app_24h: RateWindow | None = None

    def exhausted_until(self) -> datetime | None:
        """The latest reset among the windows at 0 (None when none is spent): no post before it."""
        spent = [w.reset_at for w in (self.window, self.user_24h, self.app_24h) if w and w.exhausted]
        return max((r for r in spent if r is not None), default=None)


@dataclass(frozen=True)
class PublishResult:
    outcome: Outcome
    tweet_id: str | None = None  # the (first) post's id
    tweet_ids: list[str] = field(default_factory=list)  # every part posted, in order (threads)
    error_type: str | None = None  # short machine name: http_500, rate_limited, duplicate_content, ...
    root_cause: RootCause | None = None
    message: str = ""  # human-readable, already free of secrets
    retry_after: datetime | None = None  # earliest sensible retry (e.g. the rate-limit reset)
    rate_budget: RateBudget | None = None
    elapsed_s: float = 0.0
    rate_limits: RateLimits | None = None  # the headers of the last answer X gave this publish


def partial_thread_result(
    failure: PublishResult,
    ids: list[str],
    n_parts: int,
    *,
    elapsed_s: float,
    rate_budget: RateBudget | None = None,
) -> PublishResult:
    """The result of a thread whose part ``len(ids) + 1`` of ``n_parts`` failed after ``ids`` went out:
    the failure's outcome with the posted ids kept, so the posting layer continues from the last one."""
    budget = rate_budget or failure.rate_budget
    if not ids:
        return replace(failure, elapsed_s=elapsed_s, rate_budget=budget)
    return replace(
        failure,
        tweet_id=ids[0],
        tweet_ids=list(ids),
        message=f"part {len(ids) + 1} of {n_parts} failed after {len(ids)} went out: {failure.message}",
        elapsed_s=elapsed_s,
        rate_budget=budget,
    )


@dataclass(frozen=True)
class TimelinePost:
    tweet_id: str
    text: str
    created_at: datetime
    in_reply_to: str | None = None


class TimelinePosts(list[TimelinePost]):
    """An account's posts, newest first, and how far back the read is *proven* complete.

    ``complete_since``: every post created after it is in the list (None: the read proves nothing beyond
    what it holds). A reader only sets it when it knows: the API's last page (no ``next_token``), a
    profile page showing the account's empty state, a scroll that reached posts older than asked for.
    A plain list from a publisher proves completeness back to its oldest post only.
    """

    def __init__(self, posts: Iterable[TimelinePost] = (), complete_since: datetime | None = None) -> None:
        super().__init__(posts)
        self.complete_since = complete_since


@dataclass(frozen=True)
class PublicMetrics:
    tweet_id: str
    impressions: int = 0
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    bookmarks: int = 0


class Publisher(Protocol):
    name: str  # "browser" | "api"

    def publish(self, request: PostRequest) -> PublishResult:
        """Publish and return a definite outcome; never raises for X's answers."""

    def recent_posts(self, limit: int = 50, since: datetime | None = None) -> list[TimelinePost]:
        """The account's own recent posts, newest first (for reconciliation): up to ``limit``, reading on
        (scroll, pagination) until the posts cover ``since`` when given. May return ``TimelinePosts``."""

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, PublicMetrics]:
        """Public metrics per id; ids that cannot be read are left out."""

    def followers_count(self) -> int | None:
        """The account's follower count, when the publisher can read it."""

    def signed_in_handle(self) -> str | None:
        """The X handle the session or token belongs to, when the publisher can tell (else None)."""

    def close(self) -> None:
        """Release everything (browser processes, HTTP connections). Idempotent."""
