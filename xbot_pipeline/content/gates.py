"""Quality gates: what a draft must pass before it is queued. Each refusal names its gate and reason.

Order: thread shape, weighted length, banned phrases, near-duplicate. The near-duplicate gate compares
the draft with everything the account posted or queued in the window (30 days by default) by the Jaccard
similarity of their normalized word pairs (``|A ∩ B| / |A ∪ B|`` over word bigrams). Bigrams are strict:
the same sentences in another template score 0.6-0.8, a sentence with a short tail added ~0.65, two posts
that only share a template well under 0.3; the default threshold is 0.6.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from xbot_pipeline.content.generators import Draft
from xbot_pipeline.content.length import MAX_WEIGHTED_LENGTH, measure
from xbot_pipeline.content.normalize import normalize_text
from xbot_pipeline.content.text_errors import TextTooComplex

_WORD = re.compile(r"\w+", re.UNICODE)
_PART_NUMBER = re.compile(r"^\s*\d+/\d+\s*")

DEFAULT_BANNED = (
    "as an ai",
    "language model",
    "miracle cure",
    "cures cancer",
    "cure cancer",
    "guaranteed results",
    "doctors hate",
    "click here",
    "link in bio",
    "detox your",
    "lose weight fast",
    "100% proven",
    "big pharma",
)


@dataclass(frozen=True)
class GateConfig:
    max_weighted_length: int = MAX_WEIGHTED_LENGTH
    similarity_threshold: float = 0.6  # Jaccard of word bigrams at or above which a draft is a near-duplicate
    dedup_window_days: float = 30.0
    banned_phrases: tuple[str, ...] = DEFAULT_BANNED
    thread_min_parts: int = 2
    thread_max_parts: int = 8
    part_min_chars: int = 12


@dataclass(frozen=True)
class GateResult:
    passed: bool
    gate: str = ""
    reason: str = ""
    similar_post_id: int | None = None

    @classmethod
    def ok(cls) -> GateResult:
        return cls(True)


def shingles(normalized: str) -> frozenset[tuple[str, ...]]:
    """Word bigrams of a normalized text (single words for texts of fewer than three words)."""
    words = _WORD.findall(normalized)
    if len(words) < 3:
        return frozenset((w,) for w in words)
    return frozenset(itertools.pairwise(words))


def similarity(a: frozenset, b: frozenset) -> float:
    """Jaccard similarity of two shingle sets, in [0, 1]."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def draft_normalized(draft: Draft) -> str:
    """The draft as ``posts.normalized_text`` stores it (parts normalized, joined by newlines)."""
    return "\n".join(normalize_text(p) for p in draft.parts)


def check_shape(draft: Draft, config: GateConfig) -> GateResult:
    parts = draft.parts
    if draft.kind not in ("single", "thread"):
        return GateResult(False, "thread_shape", f"kind {draft.kind!r} is not single or thread")
    if any(not p.strip() for p in parts):
        return GateResult(False, "thread_shape", "a part is empty")
    if draft.kind == "single":
        return (
            GateResult.ok() if len(parts) == 1 else GateResult(False, "thread_shape", "a single has one part")
        )
    if not config.thread_min_parts <= len(parts) <= config.thread_max_parts:
        return GateResult(
            False,
            "thread_shape",
            f"a thread needs {config.thread_min_parts}-{config.thread_max_parts} parts, got {len(parts)}",
        )
    short = [
        i + 1 for i, p in enumerate(parts) if len(_PART_NUMBER.sub("", p).strip()) < config.part_min_chars
    ]
    if short:
        return GateResult(False, "thread_shape", f"thread part {short[0]} is too short to stand alone")
    bodies = [normalize_text(_PART_NUMBER.sub("", p)) for p in parts]
    if len(set(bodies)) < len(bodies):
        return GateResult(False, "thread_shape", "a thread repeats one of its parts")
    return GateResult.ok()


def check_length(draft: Draft, config: GateConfig) -> GateResult:
    for i, part in enumerate(draft.parts):
        label = "the text" if draft.kind == "single" else f"thread part {i + 1}"
        try:
            measured = measure(part, config.max_weighted_length)
        except TextTooComplex as exc:
            return GateResult(False, "length", f"{label} {exc}")
        n = measured.length if measured.exact else f"more than {config.max_weighted_length}"
        if measured.length > config.max_weighted_length:
            return GateResult(
                False,
                "length",
                f"{label} is {n} weighted characters; the limit is {config.max_weighted_length}",
            )
    return GateResult.ok()


def check_banned(draft: Draft, config: GateConfig) -> GateResult:
    text = " ".join(normalize_text(p) for p in draft.parts)
    for phrase in config.banned_phrases:
        if normalize_text(phrase) in text:
            return GateResult(False, "banned_phrase", f"contains the banned phrase {phrase!r}")
    return GateResult.ok()


def check_near_duplicate(draft: Draft, recent: Iterable[tuple[int, str]], config: GateConfig) -> GateResult:
    """``recent``: (post id, normalized text) of everything posted or queued in the window."""
    mine = shingles(draft_normalized(draft))
    parts = {normalize_text(p) for p in draft.parts}
    best, best_id = 0.0, None
    for post_id, text in recent:
        if len(parts) > 1 and parts & set((text or "").split("\n")):
            return GateResult(
                False,
                "near_duplicate",
                f"a thread part repeats a part of post {post_id} word for word (X refuses it)",
                post_id,
            )
        score = similarity(mine, shingles(text or ""))
        if score > best:
            best, best_id = score, post_id
        if best >= 1.0:
            break
    if best >= config.similarity_threshold:
        return GateResult(
            False,
            "near_duplicate",
            f"{best:.0%} similar to post {best_id} (threshold {config.similarity_threshold:.0%}, "
            f"{config.dedup_window_days:g} days)",
            best_id,
        )
    return GateResult.ok()


def check_draft(
    draft: Draft, recent: Iterable[tuple[int, str]], config: GateConfig | None = None
) -> GateResult:
    """Run every gate in order; the first refusal wins."""
    config = config or GateConfig()
    for gate in (check_shape, check_length, check_banned):
        result = gate(draft, config)
        if not result.passed:
            return result
    return check_near_duplicate(draft, recent, config)
