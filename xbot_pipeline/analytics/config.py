"""Health thresholds: the seed's numbers as defaults.

Operators override any field with ``XBOT_HEALTH_<FIELD>``; ``xbot_pipeline.settings`` reads and validates them
(``settings.health``), and callers pass the thresholds in.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    # posting_flowing: posting that is not happening (a stalled daemon, a held pool slot, a dead worker)
    max_due_age_minutes: float = 15.0  # a due post waiting longer than this
    max_queued_posting_runs: int = 2  # posting runs waiting in QUEUED at the same time
    max_minutes_without_posting_run: float = 20.0  # no successful posting run this long while posts are due
