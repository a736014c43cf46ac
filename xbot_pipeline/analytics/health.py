"""The seed's 0-100 health score, with its defects fixed.

overall = round(0.3*errorHealth + 0.2*recoveryRate + 0.3*postingSuccess + 0.2*jobHealth), where
errorRate = errors in 24 h / 24 (per hour) and errorHealth = max(0, 100 - 10*errorRate); each term is 100
when it has no data. Fixed: posting success counts attempted posts only, and job health comes from the
real outcome of Dagster runs (``job_run_succeeded`` / ``job_run_failed`` events).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from xbot_pipeline.analytics.config import HealthThresholds

POSTING_FAILED = ("failed", "failed_permanent")


@dataclass(frozen=True)
class HealthReport:
    overall_health: int
    error_rate: float
    error_health: float
    recovery_rate: float
    posting_success_rate: float
    job_health: float
    errors_24h: int
    posts_attempted: int
    posts_posted: int
    job_runs: int
    job_failures: int
    critical_issues: list[str] = field(default_factory=list)
    generated_at: str = ""

    def event_data(self) -> dict[str, Any]:
        """The seed's camelCase payload of a ``system_health_report`` event (read by its SQL)."""
        return {
            "overallHealth": self.overall_health,
            "errorRate": self.error_rate,
            "errorHealth": self.error_health,
            "recoveryRate": self.recovery_rate,
            "postingSuccessRate": self.posting_success_rate,
            "jobHealth": self.job_health,
            "criticalIssues": list(self.critical_issues),
            "errors24h": self.errors_24h,
            "postsAttempted": self.posts_attempted,
            "postsPosted": self.posts_posted,
            "jobRuns": self.job_runs,
            "jobFailures": self.job_failures,
            "generatedAt": self.generated_at,
        }

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def posting_success(posts: pl.DataFrame, now: datetime, recovery_window: timedelta) -> tuple[float, int, int]:
    """(rate %, attempted, posted) over posts whose attempt ended in the last 24 h.

    Attempted = posted + failed + failed_permanent + 'unknown' older than the recovery window (younger
    unknowns are still being reconciled). queued/cancelled/skipped/blocked never reach this frame.
    """
    since = now - timedelta(hours=24)
    when = pl.coalesce(pl.col("posted_at"), pl.col("updated_at"))
    frame = posts.filter((when > since) & (when <= now))
    unknown_cutoff = now - recovery_window
    posted = frame.filter(pl.col("status") == "posted").height
    failed = frame.filter(pl.col("status").is_in(POSTING_FAILED)).height
    stale_unknown = frame.filter(
        (pl.col("status") == "unknown")
        & (pl.coalesce(pl.col("claimed_at"), pl.col("updated_at")) <= unknown_cutoff)
    ).height
    attempted = posted + failed + stale_unknown
    rate = round(posted * 100.0 / attempted, 2) if attempted else 100.0
    return rate, attempted, posted


def job_health(succeeded: int, failed: int) -> float:
    runs = succeeded + failed
    return round(succeeded * 100.0 / runs, 2) if runs else 100.0


def health_report(
    *,
    errors_24h: int,
    recovery_rate: float,
    posting: tuple[float, int, int],
    job_runs: tuple[int, int],
    thresholds: HealthThresholds,
    now: datetime,
) -> HealthReport:
    """Combine the four terms; ``job_runs`` is (succeeded, failed) in the last 24 h."""
    error_rate = round(errors_24h / 24.0, 2)
    error_health = max(0.0, 100.0 - 10.0 * errors_24h / 24.0)
    posting_rate, attempted, posted = posting
    succeeded, failed = job_runs
    jobs = job_health(succeeded, failed)
    # Math.round (half up) as in the seed, not Python's half-to-even
    overall = math.floor(0.3 * error_health + 0.2 * recovery_rate + 0.3 * posting_rate + 0.2 * jobs + 0.5)
    issues: list[str] = []
    if error_rate > thresholds.max_error_rate:
        issues.append(f"High error rate: {error_rate}/hour (threshold {thresholds.max_error_rate}/hour)")
    if recovery_rate < thresholds.min_recovery_rate:
        issues.append(f"Low recovery rate: {recovery_rate}% (threshold {thresholds.min_recovery_rate}%)")
    if posting_rate < thresholds.min_posting_success:
        issues.append(
            f"Low posting success: {posting_rate}% of {attempted} attempted posts "
            f"(threshold {thresholds.min_posting_success}%)"
        )
    if jobs < thresholds.min_job_health:
        issues.append(
            f"Low job health: {jobs}% of {succeeded + failed} runs succeeded "
            f"(threshold {thresholds.min_job_health}%)"
        )
    return HealthReport(
        overall_health=int(overall),
        error_rate=error_rate,
        error_health=round(error_health, 2),
        recovery_rate=round(recovery_rate, 2),
        posting_success_rate=posting_rate,
        job_health=jobs,
        errors_24h=errors_24h,
        posts_attempted=attempted,
        posts_posted=posted,
        job_runs=succeeded + failed,
        job_failures=failed,
        critical_issues=issues,
        generated_at=now.isoformat(),
    )
