"""``enqueue``: validate a post, thread or reply and add it to the queue in one transaction.

Every rejection is a ``ValidationError`` with one clear sentence; nothing is written unless all checks
pass. Reply targets must be decimal post ids of 1–20 digits: X's real ids are 18–20 digit snowflakes, but
the local stand-in and older posts use shorter ones, so we check the form (digits only) and the 64-bit
range rather than the exact width.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.clock import utc
from xbot_pipeline.content.length import MAX_WEIGHTED_LENGTH, weighted_length
from xbot_pipeline.content.normalize import content_hash, normalize_text
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.store import Store
from xbot_pipeline.store.posts import duplicate_of
from xbot_pipeline.store.schema import POST_KINDS, accounts, posts

MAX_POST_ID = 2**63 - 1
_ALLOWED_CONTROL = {"\n", "\t"}


class ValidationError(ValueError):
    """The post cannot be queued; the message says why in one line."""


def _check_text(text: str, label: str) -> str:
    if not isinstance(text, str):
        raise ValidationError(f"{label} must be text")
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        raise ValidationError(f"{label} is empty or only whitespace")
    bad = [c for c in text if unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROL]
    if bad:
        raise ValidationError(f"{label} contains a control character (U+{ord(bad[0]):04X})")
    length = weighted_length(text)
    if length > MAX_WEIGHTED_LENGTH:
        raise ValidationError(f"{label} is {length} weighted characters; X allows {MAX_WEIGHTED_LENGTH}")
    return text


def check_reply_target(reply_to: str | None) -> str:
    value = str(reply_to or "").strip()
    if not value:
        raise ValidationError("a reply needs --reply-to, the id of the post it answers")
    if (
        not (value.isascii() and value.isdigit())
        or len(value) > 20
        or int(value) > MAX_POST_ID
        or int(value) == 0
    ):
        raise ValidationError(f"reply target {value!r} is not a post id (1-20 decimal digits)")
    return value


def validate(
    kind: str, parts: list[str] | str, reply_to: str | None, config: PostingConfig
) -> tuple[list[str], str | None]:
    """Check kind, texts and reply target; returns the NFC parts and the cleaned reply target."""
    if kind not in POST_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(POST_KINDS)}, got {kind!r}")
    parts = [parts] if isinstance(parts, str) else list(parts)
    if kind == "thread":
        if len(parts) < 2:
            raise ValidationError(f"a thread needs at least 2 parts, got {len(parts)}")
        if len(parts) > config.max_thread_parts:
            raise ValidationError(f"a thread has at most {config.max_thread_parts} parts, got {len(parts)}")
        cleaned = [_check_text(p, f"thread part {i + 1}") for i, p in enumerate(parts)]
    else:
        if len(parts) != 1:
            raise ValidationError(f"a {kind} has exactly one text, got {len(parts)}")
        cleaned = [_check_text(parts[0], "the text")]
    if kind == "reply":
        reply_to = check_reply_target(reply_to)
    elif reply_to:
        raise ValidationError(f"only a reply takes a reply target (kind is {kind})")
    return cleaned, reply_to if kind == "reply" else None


def enqueue(
    store: Store,
    account_id: str,
    kind: str,
    parts: list[str] | str,
    *,
    reply_to: str | None = None,
    scheduled_at: datetime | None = None,
    generator: str | None = None,
    bandit_arm: str | None = None,
    timing_arm: str | None = None,
    propensity: float | None = None,
    config: PostingConfig | None = None,
) -> dict[str, Any]:
    """Validate and queue one post; returns the new row. Raises ``ValidationError`` (nothing written)."""
    config = config or PostingConfig()
    cleaned, target = validate(kind, parts, reply_to, config)
    if propensity is not None and not 0 < float(propensity) <= 1:
        raise ValidationError(f"propensity must be in (0, 1], got {propensity}")
    now = store.clock.now()
    when = utc(scheduled_at) if scheduled_at is not None else now
    digest = content_hash(cleaned, target)
    normalized = "\n".join(normalize_text(p) for p in cleaned)
    with store.begin() as conn:
        if conn.execute(accounts.select().where(accounts.c.id == account_id)).first() is None:
            raise ValidationError(f"unknown account {account_id!r}")
        since = now - timedelta(seconds=config.dedup_window_s)
        existing = duplicate_of(store, account_id, digest, since, conn=conn)
        if existing is not None:
            days = config.dedup_window_s / 86400
            raise ValidationError(
                f"the same text is already queued or posted for {account_id} in the last {days:g} days "
                f"(post {existing})"
            )
        row = conn.execute(
            posts.insert()
            .values(
                account_id=account_id,
                kind=kind,
                text=cleaned[0],
                parts=cleaned if kind == "thread" else None,
                reply_to_tweet_id=target,
                status="queued",
                scheduled_at=when,
                generator=generator,
                bandit_arm=bandit_arm,
                timing_arm=timing_arm,
                propensity=propensity,
                content_hash=digest,
                normalized_text=normalized,
                created_at=now,
                updated_at=now,
            )
            .returning(*posts.c)
        ).one()
    return dict(row._mapping)
