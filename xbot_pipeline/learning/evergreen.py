"""Evergreen posts: the planner re-queues a post the operator marked evergreen once the last time it went
out is at least ``min_gap_days`` ago, as a copy that references the original (``posts.evergreen_of``).

X refuses a post whose text repeats one of the account's earlier posts (403 "duplicate content"), and our
own duplicate gate refuses an identical text in its window. So a copy never repeats the original's words
exactly: its first part goes through one of the configured variation templates (``{text}`` is the
original's first part), rotated by copy number, and a template whose result this lineage has already used,
or that makes the text too long, is skipped for the next one. With no usable variation nothing is queued
(an ``evergreen_not_varied`` warning says so). The copy still passes every enqueue gate, and the
near-duplicate gate against every post outside its own lineage.

Copies are not the bandit's choices, so they teach it nothing (the learning hand-off skips origin
``evergreen``); under review mode ``generated`` they wait for review, since the variation is machine-made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.content.gates import GateConfig, check_near_duplicate
from xbot_pipeline.content.generators import Draft
from xbot_pipeline.content.normalize import content_hash
from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.enqueue import ValidationError, enqueue
from xbot_pipeline.store import Store
from xbot_pipeline.store.posts import evergreen_copies, evergreen_posts

COMPONENT = "learning"
PENDING = ("awaiting_review", "queued", "posting", "retry_pending", "unknown", "blocked")
DEFAULT_VARIATIONS = (
    "{text}\n\n(From the archive.)",
    "Worth repeating: {text}",
    "{text}\n\n(Still true.)",
    "In case you missed it: {text}",
)


@dataclass(frozen=True)
class EvergreenConfig:
    min_gap_days: float = 30.0  # since the original or its last copy went out
    variations: tuple[str, ...] = DEFAULT_VARIATIONS  # each contains "{text}" once
    per_pass: int = 1  # copies queued per account per planning pass


def vary(parts: list[str], template: str) -> list[str]:
    """The parts with the first one put through ``template``."""
    return [template.replace("{text}", parts[0]), *parts[1:]]


def _last_out(original: dict[str, Any], copies: list[dict[str, Any]]) -> datetime:
    times = [original["posted_at"]] + [c["posted_at"] for c in copies if c.get("posted_at")]
    return max(t for t in times if t is not None)


def due_originals(store: Store, account_id: str, now: datetime, config: EvergreenConfig) -> list[dict]:
    """Evergreen originals whose gap has passed and that have no copy waiting or in flight, oldest first."""
    out = []
    for original in evergreen_posts(store, account_id):
        if original.get("posted_at") is None:
            continue
        copies = evergreen_copies(store, original["id"])
        if any(c["status"] in PENDING for c in copies):
            continue
        last = _last_out(original, copies)
        if now - last >= timedelta(days=config.min_gap_days):
            out.append({**original, "_copies": copies, "_last": last})
    out.sort(key=lambda o: o["_last"])
    return out


def requeue(
    store: Store,
    tracker: EventTracker,
    original: dict[str, Any],
    slot: datetime,
    recent: Iterable[tuple[int, str]],
    config: EvergreenConfig,
    posting_config: PostingConfig,
    gates: GateConfig,
) -> dict[str, Any] | None:
    """Queue one varied copy of ``original`` at ``slot``; None (and a warning event) when no variation
    passes the gates."""
    copies: list[dict[str, Any]] = original.get("_copies") or evergreen_copies(store, original["id"])
    parts = list(original.get("parts") or [original["text"]])
    reply_to = original.get("reply_to_tweet_id")
    used = {original["content_hash"], *(c["content_hash"] for c in copies)}
    lineage = {original["id"], *(c["id"] for c in copies)}
    others = [(i, t) for i, t in recent if i not in lineage]
    n = len(config.variations)
    refusals: list[str] = []
    for k in range(n):
        template = config.variations[(len(copies) + k) % n]
        varied = vary(parts, template)
        if content_hash(varied, reply_to) in used:
            refusals.append(f"variation {(len(copies) + k) % n + 1} already used")
            continue
        verdict = check_near_duplicate(Draft("evergreen", original["kind"], tuple(varied)), others, gates)
        if not verdict.passed:
            refusals.append(verdict.reason)
            continue
        try:
            post = enqueue(
                store,
                original["account_id"],
                original["kind"],
                varied,
                reply_to=reply_to,
                scheduled_at=slot,
                generator=original.get("generator"),
                config=posting_config,
                origin="evergreen",
                evergreen_of=original["id"],
            )
        except ValidationError as exc:
            refusals.append(str(exc))
            continue
        tracker.track_event(
            "evergreen_requeued",
            {"post_id": post["id"], "original": original["id"], "variation": (len(copies) + k) % n + 1},
            component=COMPONENT,
            account_id=original["account_id"],
            subject=f"post:{post['id']}",
        )
        return post
    tracker.track_event(
        "evergreen_not_varied",
        {"original": original["id"], "reasons": refusals[:5]},
        "warning",
        component=COMPONENT,
        account_id=original["account_id"],
        subject=f"post:{original['id']}",
    )
    return None
