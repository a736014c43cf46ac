"""Posting configuration: every limit, ladder and wait the queue obeys (the seed's numbers as defaults).

Per-account overrides come from ``accounts.limits`` (a JSON object with the same keys as ``Limits``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

KIND_ORDER = {"reply": 0, "single": 1, "thread": 2}  # replies before singles before threads


@dataclass(frozen=True)
class Limits:
    """Per-account posting limits (seed defaults)."""

    per_hour: int = 2
    replies_per_hour: int = 4
    min_spacing_s: float = 20 * 60
    threads_per_hour: int = 1
    threads_per_day: int = 2
    per_run: int = 2

    def merged(self, overrides: dict[str, Any] | None) -> Limits:
        """These limits with the account's JSON overrides applied (unknown keys are ignored)."""
        names = {f.name: f.type for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, value in (overrides or {}).items():
            if key in names and value is not None:
                changes[key] = float(value) if key == "min_spacing_s" else int(value)
        return replace(self, **changes)


def parse_limit_overrides(pairs: list[str]) -> dict[str, float | int]:
    """``["per_hour=3", "min_spacing_s=600"]`` -> a validated overrides object for ``accounts.limits``.

    Raises ``ValueError`` naming the first bad pair: unknown names would be silently ignored by ``merged``.
    """
    names = [f.name for f in fields(Limits)]
    out: dict[str, float | int] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or key not in names:
            raise ValueError(f"{pair!r}: expected NAME=VALUE with NAME one of {', '.join(names)}")
        try:
            value: float | int = float(raw) if key == "min_spacing_s" else int(raw)
        except ValueError:
            raise ValueError(
                f"{pair!r}: {key} must be a {'number' if key == 'min_spacing_s' else 'whole number'}"
            ) from None
        if value < 0 or value != value:
            raise ValueError(f"{pair!r}: {key} must not be negative")
        out[key] = value
    return out


def _ladders() -> dict[str, tuple[float, ...]]:
    return {"single": (180, 600, 1200), "reply": (180, 600, 1200), "thread": (300, 900, 1800)}


def _stale() -> dict[str, float]:
    return {"single": 2 * 3600, "thread": 6 * 3600, "reply": 3600}


@dataclass(frozen=True)
class PostingConfig:
    limits: Limits = field(default_factory=Limits)
    grace_s: float = 5 * 60  # due = scheduled_at <= now + grace
    stale_after_s: dict[str, float] = field(default_factory=_stale)  # past schedule -> 'skipped'
    retry_ladder_s: dict[str, tuple[float, ...]] = field(default_factory=_ladders)  # len = max retries
    cooldown_s: float = 6 * 3600  # after X's 226 "looks automated"
    breaker_threshold: int = 5  # consecutive failures that open the breaker
    breaker_base_wait_s: float = 60
    breaker_max_wait_s: float = 8 * 60
    breaker_probe_timeout_s: float = 5 * 60  # a half-open probe with no outcome by then is presumed dead
    dedup_window_s: float = 7 * 24 * 3600
    max_thread_parts: int = 25
    reconcile_window_s: float = 24 * 3600  # how far back a duplicate answer is matched on the timeline
    lease_deadline_s: float = 180  # browser lease per publish
    conservative_per_run: int = 1  # when the rate-limit query itself fails
    journal_path: Path | None = None  # outcome journal (defaults to XBOT_HOME/posting/outcomes.jsonl)

    def max_retries(self, kind: str) -> int:
        return len(self.retry_ladder_s.get(kind, ()))

    def retry_delay_s(self, kind: str, retry_no: int) -> float:
        """Delay before retry ``retry_no`` (1-based); the ladder's last step repeats if asked beyond."""
        ladder = self.retry_ladder_s.get(kind) or (600,)
        return float(ladder[min(retry_no, len(ladder)) - 1])

    def with_limits(self, **changes: Any) -> PostingConfig:
        return replace(self, limits=replace(self.limits, **changes))


def fast_config(**changes: Any) -> PostingConfig:
    """A configuration for simulations and the fault campaign: no spacing, high limits, short ladders."""
    base = PostingConfig(
        limits=Limits(
            per_hour=100_000,
            replies_per_hour=100_000,
            min_spacing_s=0,
            threads_per_hour=100_000,
            threads_per_day=100_000,
            per_run=10,
        ),
        stale_after_s={"single": 10 * 24 * 3600, "thread": 10 * 24 * 3600, "reply": 10 * 24 * 3600},
        retry_ladder_s={"single": (0.5, 1, 2), "reply": (0.5, 1, 2), "thread": (0.5, 1, 2)},
        cooldown_s=1,
        breaker_base_wait_s=0.5,
        breaker_max_wait_s=2,
        breaker_probe_timeout_s=5,
    )
    return replace(base, **changes)
