"""``enqueue``: validate a post, thread or reply and add it to the queue in one transaction.

Every rejection is a ``ValidationError`` with one clear sentence; nothing is written unless all checks
pass. Reply targets must be decimal post ids of 1–20 digits: X's real ids are 18–20 digit snowflakes, but
the local stand-in and older posts use shorter ones, so we check the form (digits only) and the 64-bit
range rather than the exact width.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from xbot_pipeline.clock import utc
from xbot_pipeline.content.length import (
    INVALID_CHARS,
    MAX_INPUT_CHARS,
    MAX_RAW_CHARS,
    MAX_WEIGHTED_LENGTH,
    measure,
)
from xbot_pipeline.content.media import MediaError, MediaFile, check_alt, check_set, read_media, store_file
from xbot_pipeline.content.normalize import content_hash, normalize_text
from xbot_pipeline.content.text_errors import TextTooComplex
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import get_account
from xbot_pipeline.store.posts import DuplicatePost, UnknownAccount, insert_queued
from xbot_pipeline.store.schema import POST_KINDS, POST_ORIGINS, REVIEW_MODES

MAX_POST_ID = 2**63 - 1
# How far from now a post may be scheduled: older than a week would only be skipped as stale, and beyond
# a year is a typo (and years past 9999 cannot be stored at all).
MAX_SCHEDULE_PAST = timedelta(days=7)
MAX_SCHEDULE_AHEAD = timedelta(days=366)
# Control characters (Unicode category Cc) other than newline and tab.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class ValidationError(ValueError):
    """The post cannot be queued; the message says why in one line."""


@dataclass(frozen=True)
class MediaSpec:
    """One file the operator attaches: to thread part ``part`` (from 1), with optional alt text."""

    path: str
    alt: str | None = None
    part: int = 1


@dataclass(frozen=True)
class CheckedMedia:
    part: int
    position: int
    file: MediaFile
    alt: str | None


def check_media(specs: list[MediaSpec], n_parts: int) -> list[CheckedMedia]:
    """Read and check every file (content type, size, count per part, alt text); ``ValidationError``."""
    checked: list[CheckedMedia] = []
    by_part: dict[int, list[MediaFile]] = {}
    for spec in specs:
        if not 1 <= spec.part <= n_parts:
            raise ValidationError(
                f"media for part {spec.part}, but the post has {n_parts} part{'s' if n_parts > 1 else ''}"
            )
        label = (
            f"media {spec.path[:200]!r}" if n_parts == 1 else f"part {spec.part} media {spec.path[:200]!r}"
        )
        try:
            media = read_media(spec.path, "media" if n_parts == 1 else f"part {spec.part} media")
            alt = check_alt(unicodedata.normalize("NFC", spec.alt) if spec.alt else spec.alt, label)
            files = by_part.setdefault(spec.part, [])
            files.append(media)
            check_set(files, "the post" if n_parts == 1 else f"thread part {spec.part}")
        except MediaError as exc:
            raise ValidationError(str(exc)) from None
        checked.append(CheckedMedia(spec.part, len(files) - 1, media, alt))
    return checked


def _check_text(text: str, label: str) -> str:
    """NFC text that X accepts, or ``ValidationError``. Linear in the input: the length bound comes first."""
    if not isinstance(text, str):
        raise ValidationError(f"{label} must be text")
    too_long = (
        f"; no post of {MAX_WEIGHTED_LENGTH} weighted characters has more than {MAX_RAW_CHARS} characters"
    )
    if len(text) > MAX_INPUT_CHARS:
        raise ValidationError(f"{label} is {len(text)} characters{too_long}")
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        raise ValidationError(f"{label} is empty or only whitespace")
    bad = _CONTROL.search(text) or INVALID_CHARS.search(text)
    if bad:
        kind = "control character" if _CONTROL.match(bad.group()) else "character X refuses"
        raise ValidationError(f"{label} contains a {kind} (U+{ord(bad.group()):04X})")
    if len(text) > MAX_RAW_CHARS:
        raise ValidationError(f"{label} is {len(text)} characters{too_long}")
    try:
        length = measure(text, MAX_WEIGHTED_LENGTH)
    except TextTooComplex as exc:
        raise ValidationError(f"{label} {exc}") from None
    if length.length > MAX_WEIGHTED_LENGTH:
        count = length.length if length.exact else f"more than {MAX_WEIGHTED_LENGTH}"
        raise ValidationError(f"{label} is {count} weighted characters; X allows {MAX_WEIGHTED_LENGTH}")
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


def check_schedule(scheduled_at: datetime | None, now: datetime) -> datetime:
    """The UTC time to post (``now`` when not given); ``ValidationError`` outside the sane window."""
    if scheduled_at is None:
        return now
    if not isinstance(scheduled_at, datetime):
        raise ValidationError(f"the schedule must be a time, got {type(scheduled_at).__name__}")
    try:
        when = utc(scheduled_at)
        early, late = now - MAX_SCHEDULE_PAST, now + MAX_SCHEDULE_AHEAD
    except (OverflowError, ValueError):
        raise ValidationError(f"the schedule {scheduled_at.isoformat()} is not a usable time") from None
    if not early <= when <= late:
        raise ValidationError(
            f"the schedule {when.isoformat()} is outside the window from {MAX_SCHEDULE_PAST.days} days ago "
            f"to {MAX_SCHEDULE_AHEAD.days} days ahead"
        )
    return when


def needs_review(mode: str, origin: str) -> bool:
    """Whether a post of ``origin`` waits for review on an account in review ``mode``: ``all`` holds every
    post, ``generated`` what the planner wrote (its generators, the LLM, evergreen variations)."""
    if mode not in REVIEW_MODES:
        raise ValidationError(f"review must be one of {', '.join(REVIEW_MODES)}, got {mode!r}")
    return mode == "all" or (mode == "generated" and origin != "operator")


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


def prepare(
    kind: str,
    parts: list[str] | str,
    reply_to: str | None,
    scheduled_at: datetime | None,
    now: datetime,
    config: PostingConfig,
) -> dict[str, Any]:
    """Every check ``enqueue`` makes that needs no store, and the ``posts`` values of the valid post
    (``content_hash``, ``kind``, ``text``, ``parts``, ``reply_to_tweet_id``, ``scheduled_at``,
    ``normalized_text``). ``xbot import`` runs this same function on every row."""
    cleaned, target = validate(kind, parts, reply_to, config)
    when = check_schedule(scheduled_at, now)
    return {
        "content_hash": content_hash(cleaned, target),
        "kind": kind,
        "text": cleaned[0],
        "parts": cleaned if kind == "thread" else None,
        "reply_to_tweet_id": target,
        "scheduled_at": when,
        "normalized_text": "\n".join(normalize_text(p) for p in cleaned),
    }


def duplicate_message(account_id: str, post_id: int, config: PostingConfig) -> str:
    """Why a post whose text is already queued or posted (post ``post_id``) is refused."""
    days = config.dedup_window_s / 86400
    return (
        f"the same text is already queued or posted for {account_id} in the last {days:g} days "
        f"(post {post_id})"
    )


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
    media: list[MediaSpec] | None = None,
    media_dir: Path | None = None,
    origin: str = "operator",
    evergreen: bool = False,
    evergreen_of: int | None = None,
) -> dict[str, Any]:
    """Validate and queue one post; returns the new row. Raises ``ValidationError`` (nothing written).

    ``media`` files are checked first, then copied content-addressed into ``media_dir`` and referenced
    from ``post_media`` in the transaction that queues the post (new copies are removed if it fails).
    ``origin`` says who wrote it (``operator``, ``planner``, ``evergreen``); with the account's review
    mode it decides whether the post is ``queued`` or waits in ``awaiting_review``."""
    config = config or PostingConfig()
    if origin not in POST_ORIGINS:
        raise ValidationError(f"origin must be one of {', '.join(POST_ORIGINS)}, got {origin!r}")
    if propensity is not None and not 0 < float(propensity) <= 1:  # NaN fails this too
        raise ValidationError(f"propensity must be in (0, 1], got {propensity}")
    now = store.clock.now()
    values = prepare(kind, parts, reply_to, scheduled_at, now, config)
    digest = values.pop("content_hash")
    checked = check_media(list(media or []), len(values["parts"] or [values["text"]]))
    if checked and media_dir is None:
        raise ValidationError("media need a media folder (XBOT_MEDIA_DIR or XBOT_HOME/media)")
    account = get_account(store, account_id)
    held = account is not None and needs_review(account.get("review") or "off", origin)
    created: list[Path] = []
    rows: list[dict[str, Any]] = []
    try:
        for item in checked:
            assert media_dir is not None
            try:
                path, new = store_file(media_dir, item.file)
            except OSError as exc:
                raise ValidationError(f"the media folder {media_dir} cannot take the file: {exc}") from None
            if new:
                created.append(path)
            rows.append(
                {
                    "part": item.part,
                    "position": item.position,
                    "sha256": item.file.sha256,
                    "mime": item.file.mime,
                    "alt_text": item.alt,
                    "size": item.file.size,
                    "path": str(path),
                }
            )
        return insert_queued(
            store,
            account_id,
            digest,
            now,
            duplicate_since=now - timedelta(seconds=config.dedup_window_s),
            status="awaiting_review" if held else "queued",
            origin=origin,
            evergreen=evergreen,
            evergreen_of=evergreen_of,
            generator=generator,
            bandit_arm=bandit_arm,
            timing_arm=timing_arm,
            propensity=propensity,
            media=rows,
            **values,
        )
    except UnknownAccount:
        _forget(created)
        raise ValidationError(f"unknown account {account_id!r}") from None
    except DuplicatePost as dup:
        _forget(created)
        raise ValidationError(duplicate_message(account_id, dup.post_id, config)) from None
    except BaseException:
        _forget(created)
        raise


def _forget(created: list[Path]) -> None:
    """A refused post leaves the media folder as it was: remove the copies this enqueue made."""
    for path in created:
        path.unlink(missing_ok=True)
