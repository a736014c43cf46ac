"""Is posting happening? Due posts waiting too long, posting runs piling up, no successful run lately.

The health score counts what was attempted; an outage in which nothing is attempted (a daemon that
stopped launching, a run holding the browser pool slot, a dead run worker) leaves it green. These rules
look at what should have happened instead. Plain data in, plain data out: the Dagster side
(``defs/health/flow.py``) reads the runs from the instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xbot_pipeline.analytics.config import HealthThresholds

POSTING_JOB = "posting_job"


@dataclass(frozen=True)
class PostingRuns:
    """What the Dagster instance knows about ``posting_job`` runs."""

    queued_since: tuple[datetime, ...] = ()  # creation time of each run waiting in QUEUED
    last_success: datetime | None = None  # end of the last successful run (None: none on record)


@dataclass(frozen=True)
class PostingFlow:
    due_posts: int
    oldest_due_minutes: float  # 0 when nothing is due
    queued_runs: int
    oldest_queued_minutes: float  # 0 when nothing is queued
    minutes_since_success: float | None  # None: no successful posting run on record (or no instance)
    problems: tuple[str, ...]

    @property
    def flowing(self) -> bool:
        return not self.problems


def _minutes(now: datetime, then: datetime) -> float:
    return round(max(0.0, (now - then).total_seconds() / 60.0), 1)


def posting_flow(
    due: list[dict[str, Any]], runs: PostingRuns | None, now: datetime, t: HealthThresholds
) -> PostingFlow:
    """``due``: rows with ``due_since`` (``store.health.due_posts_waiting``); ``runs``: None when the
    Dagster instance is not at hand (then only the due-post rule applies)."""
    oldest_due = max((_minutes(now, row["due_since"]) for row in due), default=0.0)
    queued = runs.queued_since if runs else ()
    oldest_queued = max((_minutes(now, at) for at in queued), default=0.0)
    since_success = _minutes(now, runs.last_success) if runs and runs.last_success else None
    problems: list[str] = []
    if due and oldest_due > t.max_due_age_minutes:
        problems.append(
            f"Posting stalled: {len(due)} due post(s), the oldest waiting {oldest_due:g} min "
            f"(threshold {t.max_due_age_minutes:g} min)"
        )
    if len(queued) >= t.max_queued_posting_runs or (queued and oldest_queued > t.max_due_age_minutes):
        problems.append(
            f"Posting runs piling up: {len(queued)} {POSTING_JOB} run(s) QUEUED, the oldest for "
            f"{oldest_queued:g} min (threshold {t.max_queued_posting_runs} runs "
            f"or {t.max_due_age_minutes:g} min)"
        )
    if due and since_success is not None and since_success > t.max_minutes_without_posting_run:
        problems.append(
            f"No successful {POSTING_JOB} run for {since_success:g} min while {len(due)} post(s) are due "
            f"(threshold {t.max_minutes_without_posting_run:g} min)"
        )
    return PostingFlow(len(due), oldest_due, len(queued), oldest_queued, since_success, tuple(problems))
