"""The publisher interface: one contract for the browser (Playwright) and API (httpx) publishers.

Every publish ends in exactly one definite ``Outcome``; the posting logic decides what each means for
the queue. Publishers never raise for X's answers (only for programming errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
class PostRequest:
    """What to publish. A thread is ``parts`` in order; a reply names ``reply_to`` (a post id)."""

    kind: str  # single | thread | reply
    parts: list[str]
    reply_to: str | None = None
    post_id: int | None = None  # our queue id, for logs only

    @property
    def text(self) -> str:
        return self.parts[0]


@dataclass(frozen=True)
class RateBudget:
    """X's rate-limit headers, kept so callers can slow down before a 429."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None


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


@dataclass(frozen=True)
class TimelinePost:
    tweet_id: str
    text: str
    created_at: datetime
    in_reply_to: str | None = None


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

    def recent_posts(self, limit: int = 50) -> list[TimelinePost]:
        """The account's own recent posts, newest first (for reconciliation)."""

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, PublicMetrics]:
        """Public metrics per id; ids that cannot be read are left out."""

    def followers_count(self) -> int | None:
        """The account's follower count, when the publisher can read it."""

    def close(self) -> None:
        """Release everything (browser processes, HTTP connections). Idempotent."""
