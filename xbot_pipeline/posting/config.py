"""Posting configuration: every limit, ladder and wait the queue obeys (the seed's numbers as defaults).

Per-account overrides come from ``accounts.limits`` (a JSON object with the same keys as ``Limits``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

KIND_ORDER = {"reply": 0, "single": 1, "thread": 2}  # replies before singles before threads

WEEK_S = 7 * 24 * 3600
# The range every per-account limit override must fall in (inclusive; finite numbers only). X itself caps
# an account far below these: the bounds only keep values the store and the date arithmetic can hold, and
# typos such as per_hour=1e30 or min_spacing_s=inf, out. 0 is allowed (a count of 0 stops that kind).
LIMIT_RANGES: dict[str, tuple[int, int]] = {
    "per_hour": (0, 1000),
    "replies_per_hour": (0, 1000),
    "min_spacing_s": (0, WEEK_S),
    "threads_per_hour": (0, 1000),
    "threads_per_day": (0, 10_000),
    "per_run": (0, 1000),
}


class LimitError(ValueError):
    """A limit override is not a number in its range; the message is one line naming it."""


def check_limit(key: str, value: Any) -> float | int:
    """``value`` as the limit's type when it is within ``LIMIT_RANGES[key]``, else ``LimitError``."""
    if key not in LIMIT_RANGES:
        raise LimitError(f"unknown limit {key!r}; the limits are {', '.join(LIMIT_RANGES)}")
    low, high = LIMIT_RANGES[key]
    whole = key != "min_spacing_s"
    what = f"{'a whole number' if whole else 'a number of seconds'} from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LimitError(f"{key} must be {what}, got {value!r}")
    if isinstance(value, float) and (not math.isfinite(value) or (whole and not value.is_integer())):
        raise LimitError(f"{key} must be {what}, got {value!r}")
    if value < 0:  # the message existing callers rely on
        raise LimitError(f"{key} must not be negative ({what}), got {value!r}")
    if not low <= value <= high:
        raise LimitError(f"{key} must be {what}, got {value!r}")
    return int(value) if whole else float(value)


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
        """These limits with the account's JSON overrides applied (unknown keys are ignored).

        A stored value out of its range (written before the ranges existed, or by hand) raises
        ``LimitError``: the posting pass then tracks an error for the account and does not post for it,
        rather than post at a limit nobody set or crash later on an unusable number."""
        if overrides is not None and not isinstance(overrides, dict):
            raise LimitError(f"the stored limits must be a JSON object, got {type(overrides).__name__}")
        changes: dict[str, Any] = {}
        for key, value in (overrides or {}).items():
            if key in LIMIT_RANGES and value is not None:
                try:
                    changes[key] = check_limit(key, value)
                except LimitError as exc:
                    raise LimitError(f"stored limit {exc}; fix it with `xbot account-limits`") from None
        return replace(self, **changes)


def parse_limit_overrides(pairs: list[str]) -> dict[str, float | int]:
    """``["per_hour=3", "min_spacing_s=600"]`` -> a validated overrides object for ``accounts.limits``.

    Raises ``LimitError`` (a ``ValueError``) naming the first bad pair: an unknown name (``merged`` would
    silently ignore it), a value that is not a number, or one outside ``LIMIT_RANGES``.
    """
    names = [f.name for f in fields(Limits)]
    out: dict[str, float | int] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or key not in names:
            shown = pair if len(pair) <= 80 else pair[:77] + "..."
            raise LimitError(f"{shown!r}: expected NAME=VALUE with NAME one of {', '.join(names)}")
        low, high = LIMIT_RANGES[key]
        try:
            value: float | int = float(raw) if key == "min_spacing_s" else int(raw.strip())
        except ValueError:
            value = math.nan  # refused below with the range in the message
        if value != value or not low <= value <= high:
            shown = raw if len(raw) <= 40 else raw[:37] + "..."
            unit = "a whole number" if key != "min_spacing_s" else "a number of seconds"
            what = f"{unit} from {low} to {high}"
            if value < 0:  # the message existing callers rely on
                raise LimitError(f"{key} must not be negative ({what}), got {shown!r}")
            raise LimitError(f"{key} must be {what}, got {shown!r}")
        out[key] = value
    return out


def _ladders() -> dict[str, tuple[float, ...]]:
    return {"single": (180, 600, 1200), "reply": (180, 600, 1200), "thread": (300, 900, 1800)}


def _stale() -> dict[str, float]:
    return {"single": 2 * 3600, "thread": 6 * 3600, "reply": 3600}


# X's post caps per 24 hours (POST /2/tweets) by access tier: (per user, per app); None = no 24-hour cap
# (only the 15-minute window, which X's headers report). Source: X's rate-limit table,
# https://docs.x.com/x-api/fundamentals/rate-limits (the per-tier table until January 2026; since then one
# table for pay-per-use: 10,000 per app per 24 h and 100 per user per 15 min). See docs/POSTING.md.
X_TIERS: dict[str, tuple[int | None, int | None]] = {
    "free": (17, 17),
    "basic": (100, 1667),
    "pro": (None, 10_000),
    "pay_per_use": (None, 10_000),
    "custom": (None, None),  # only what XBOT_X_POSTS_PER_USER_24H / _PER_APP_24H set
}


@dataclass(frozen=True)
class XBudgetConfig:
    """The 24-hour post caps the posting pass plans within, for API accounts (see ``posting/x_budget``).

    ``app_key`` names the X app every API account posts through (they share its per-app cap);
    ``window_s`` is X's window (24 h; drills and tests shorten it, with the stand-in's)."""

    tier: str = "custom"
    per_user_24h: int | None = None
    per_app_24h: int | None = None
    app_key: str = "default"
    window_s: float = 24 * 3600

    @classmethod
    def for_tier(
        cls,
        tier: str,
        *,
        per_user_24h: int | None = None,
        per_app_24h: int | None = None,
        app_key: str = "default",
        window_s: float = 24 * 3600,
    ) -> XBudgetConfig:
        """The tier's caps, each replaced by the override when one is given."""
        if tier not in X_TIERS:
            raise ValueError(f"unknown X access tier {tier!r}; choose one of {', '.join(X_TIERS)}")
        user, app = X_TIERS[tier]
        return cls(
            tier=tier,
            per_user_24h=user if per_user_24h is None else per_user_24h,
            per_app_24h=app if per_app_24h is None else per_app_24h,
            app_key=app_key,
            window_s=window_s,
        )


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
    x_budget: XBudgetConfig = field(default_factory=XBudgetConfig)  # X's 24-hour caps (API accounts)
    auto_approve_after_min: float | None = None  # posts waiting for review longer are approved; None: off

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
