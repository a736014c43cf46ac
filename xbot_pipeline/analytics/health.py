"""The seed's 0-100 health score, with its defects fixed.

overall = round(0.3*errorHealth + 0.2*recoveryRate + 0.3*postingSuccess + 0.2*jobHealth), where
errorRate = errors in 24 h / 24 (per hour) and errorHealth = max(0, 100 - 10*errorRate); each term is 100
when it has no data. Fixed: posting success counts attempted posts only, and job health comes from the
real outcome of Dagster runs (``job_run_succeeded`` / ``job_run_failed`` events).

Rounding happens once, at the end: the four terms are exact fractions of the counts they come from (the
report's fields show them rounded to 2 decimals), and the overall score rounds half up like the seed's
JavaScript ``Math.round`` (``floor(x + 1/2)``; Python's ``round`` would round 92.5 to 92). Rounding the
terms first turned an exact 69.5 (4 errors, 50 % recovered, 1 of 3 posts posted) into 69.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import polars as pl

from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.analytics.flow import PostingFlow

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
    # posting_flowing (not a term of the score: the seed's formula is kept; its problems are critical
    # issues and an ERROR check). Never null, so the warehouse column types stay stable.
    posting_flowing: bool = True
    due_posts: int = 0
    oldest_due_minutes: float = 0.0
    queued_posting_runs: int = 0
    minutes_since_posting_success: float = -1.0  # -1: no successful posting run on record / no instance

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
            "postingFlowing": self.posting_flowing,
            "duePosts": self.due_posts,
            "oldestDueMinutes": self.oldest_due_minutes,
            "queuedPostingRuns": self.queued_posting_runs,
            "minutesSincePostingSuccess": self.minutes_since_posting_success,
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
    return round(float(_percent(posted, attempted)), 2), attempted, posted


def job_health(succeeded: int, failed: int) -> float:
    return round(float(_percent(succeeded, succeeded + failed)), 2)


def _percent(part: int, whole: int) -> Fraction:
    """Exactly ``part`` of ``whole`` in percent; 100 when there is no data (the seed's rule)."""
    return Fraction(100 * part, whole) if whole else Fraction(100)


def overall_score(error_health: Fraction, recovery: Fraction, posting: Fraction, jobs: Fraction) -> int:
    """The seed's weighted score, rounded once and half up (JavaScript ``Math.round``)."""
    score = (
        Fraction(3, 10) * error_health
        + Fraction(2, 10) * recovery
        + Fraction(3, 10) * posting
        + Fraction(2, 10) * jobs
    )
    return math.floor(score + Fraction(1, 2))


def health_report(
    *,
    errors_24h: int,
    recovery_rate: float,
    posting: tuple[float, int, int],
    job_runs: tuple[int, int],
    thresholds: HealthThresholds,
    now: datetime,
    recovered: int | None = None,
    flow: PostingFlow | None = None,
) -> HealthReport:
    """Combine the four terms; ``job_runs`` is (succeeded, failed) in the last 24 h.

    ``recovered``: how many of the ``errors_24h`` errors recovered, for an exact recovery term (without
    it, ``recovery_rate`` as given is used). ``flow``: the posting_flowing rules' result; each of its
    problems is a critical issue.
    """
    error_rate = round(errors_24h / 24.0, 2)
    exact_error_health = max(Fraction(0), 100 - Fraction(10 * errors_24h, 24))
    error_health = float(exact_error_health)
    exact_recovery = (
        _percent(recovered, errors_24h) if recovered is not None else Fraction(str(recovery_rate))
    )
    posting_rate, attempted, posted = posting
    succeeded, failed = job_runs
    jobs = job_health(succeeded, failed)
    overall = overall_score(
        exact_error_health,
        exact_recovery,
        _percent(posted, attempted),
        _percent(succeeded, succeeded + failed),
    )
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
    flowing = flow.flowing if flow else True
    issues.extend(flow.problems if flow else ())
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
        posting_flowing=flowing,
        due_posts=flow.due_posts if flow else 0,
        oldest_due_minutes=flow.oldest_due_minutes if flow else 0.0,
        queued_posting_runs=flow.queued_runs if flow else 0,
        minutes_since_posting_success=(
            flow.minutes_since_success if flow and flow.minutes_since_success is not None else -1.0
        ),
    )
