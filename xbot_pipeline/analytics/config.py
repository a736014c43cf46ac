"""Health thresholds: the seed's numbers as defaults, each overridable by an ``XBOT_HEALTH_*`` variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class HealthThresholds:
    min_health: float = 70.0  # overall score below this: ERROR check, alert
    resolve_health: float = 75.0  # hysteresis: the low-health alert resolves only at or above this
    min_recovery_rate: float = 80.0  # percent
    resolve_recovery_rate: float = 85.0
    min_posting_success: float = 90.0  # percent
    min_job_health: float = 90.0  # percent
    max_error_rate: float = 5.0  # errors per hour over 24 h
    stuck_posting_minutes: float = 15.0  # a post in 'posting' longer than this is stuck
    recovery_window_minutes: float = 30.0  # after this an 'unknown' post counts as failed, NULL ids fail
    snapshot_max_age_minutes: float = 90.0
    session_failures_to_pause: int = 3  # session root causes on one account within the action window
    root_cause_spike_count: int = 5  # one root cause on one account within the action window
    action_window_minutes: float = 60.0
    breaker_open_minutes: float = 30.0
    spike_window_minutes: float = 15.0
    spike_factor: float = 3.0  # k x baseline
    spike_min_count: int = 5
    alert_repeat_minutes: float = 240.0
    top_error_min_count: int = 10  # seed: recommend when the top error has >= 10 occurrences


def thresholds_from_env(env: Mapping[str, str] | None = None) -> HealthThresholds:
    """Read ``XBOT_HEALTH_<FIELD>`` (upper case) for every field; malformed values raise ValueError."""
    env = os.environ if env is None else env
    values: dict[str, float | int] = {}
    for f in fields(HealthThresholds):
        raw = env.get(f"XBOT_HEALTH_{f.name.upper()}", "").strip()
        if not raw:
            continue
        try:
            values[f.name] = int(raw) if f.type in ("int", int) else float(raw)
        except ValueError:
            raise ValueError(f"XBOT_HEALTH_{f.name.upper()} must be a number, got {raw!r}") from None
    return HealthThresholds(**values)  # type: ignore[arg-type]
