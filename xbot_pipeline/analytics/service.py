"""The health work end to end on a store: read what is needed, compute, record. No Dagster here;
``defs/health`` wraps these functions as assets and checks."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from xbot_pipeline.analytics import accounts, analysis, errors, flow, health, issues
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.events import EventTracker
from xbot_pipeline.store import Store
from xbot_pipeline.store import health as q
from xbot_pipeline.store.accounts import list_accounts

log = logging.getLogger("xbot_pipeline.health")

JOB_EVENTS = ("job_run_succeeded", "job_run_failed")
ISSUES_NS, ISSUES_KEY = "health.issues", "book"


def error_window(store: Store, now: datetime) -> pl.DataFrame:
    """The last 24 h of error rows (one indexed range read)."""
    return q.read_errors(store, now - errors.WINDOW, now)


def compute_health(
    store: Store,
    now: datetime,
    thresholds: HealthThresholds,
    error_frame: pl.DataFrame | None = None,
    *,
    totals: tuple[int, int] | None = None,
    posting_runs: flow.PostingRuns | None = None,
) -> health.HealthReport:
    """The health report; ``totals`` = (errors, recovered) in 24 h when already known (no re-read);
    ``posting_runs`` from the Dagster instance for the posting_flowing rules (due posts alone without)."""
    if totals is None:
        frame = errors.in_window(error_window(store, now) if error_frame is None else error_frame, now)
        totals = (frame.height, int(frame["recovered"].sum()) if frame.height else 0)
    n_errors, n_recovered = totals
    recovery_rate = round(n_recovered * 100.0 / n_errors, 2) if n_errors else 100.0
    posts = q.read_post_outcomes(store, now - timedelta(hours=24))
    posting = health.posting_success(posts, now, timedelta(minutes=thresholds.recovery_window_minutes))
    runs = q.count_event_types(store, now - timedelta(hours=24), now, JOB_EVENTS)
    return health.health_report(
        errors_24h=n_errors,
        recovery_rate=recovery_rate,
        posting=posting,
        job_runs=(runs["job_run_succeeded"], runs["job_run_failed"]),
        thresholds=thresholds,
        now=now,
        recovered=n_recovered,
        flow=flow.posting_flow(q.due_posts_waiting(store, now), posting_runs, now, thresholds),
    )


def account_health_frame(
    store: Store, now: datetime, thresholds: HealthThresholds, error_frame: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Health by account, worst first (``analytics.accounts``): every account, the 24 h window."""
    window = error_window(store, now) if error_frame is None else error_frame
    posts = q.read_post_outcomes(store, now - timedelta(hours=24))
    runs = q.count_event_types(store, now - timedelta(hours=24), now, JOB_EVENTS)
    jobs = health.job_health(runs["job_run_succeeded"], runs["job_run_failed"])
    ids = [a["id"] for a in list_accounts(store)]
    return accounts.account_health(window, posts, ids, now, thresholds, job_health=jobs)


def record_health_report(
    tracker: EventTracker, report: health.HealthReport, thresholds: HealthThresholds
) -> None:
    """The ``system_health_report`` event the seed's monitoring SQL reads (warning below the threshold)."""
    severity = "warning" if report.overall_health < thresholds.min_health else "info"
    tracker.track_event("system_health_report", report.event_data(), severity, component="health")


def update_issue_book(store: Store, now: datetime, window_errors: pl.DataFrame) -> pl.DataFrame:
    """Fold errors newer than the book's high-water mark into the persisted issue book."""
    book = q.kv_get(store, ISSUES_NS, ISSUES_KEY, {"hwm": 0, "issues": {}})
    if int(book.get("hwm", 0)) == 0 and not window_errors.is_empty():
        new = window_errors  # first run: start from the 24 h window, never the whole table
    else:
        new = q.read_errors_after_id(store, int(book.get("hwm", 0)))
    book = issues.fold_errors(book, new, now)
    open_counts = (
        window_errors.with_columns(pl.col("fingerprint").fill_null("unfingerprinted"))
        .group_by("fingerprint")
        .agg(open=(~pl.col("recovered")).sum())
    )
    book = issues.apply_recoveries(book, dict(open_counts.iter_rows()), now)
    q.kv_put(store, ISSUES_NS, ISSUES_KEY, book)
    return issues.issues_frame(book)


@dataclass
class AnalysisResult:
    patterns: dict[str, Any]
    root_causes: pl.DataFrame
    recommendations: list[analysis.Recommendation]
    actions_taken: list[dict[str, Any]]


def run_error_analysis(
    store: Store,
    tracker: EventTracker,
    now: datetime,
    thresholds: HealthThresholds,
    *,
    frequency: pl.DataFrame,
    recovery: pl.DataFrame,
    report: dict[str, Any] | None,
    error_frame: pl.DataFrame | None = None,
) -> AnalysisResult:
    """Analyse the last 24 h, take the safe autonomous actions, record the analysis as an event."""
    frame = errors.in_window(error_window(store, now) if error_frame is None else error_frame, now)
    attempts = q.read_attempts(store, now - timedelta(hours=24), now)
    root = analysis.failures_by_root_cause(attempts)
    planned, taken = take_autonomous_actions(store, tracker, now, thresholds, attempts=attempts)
    recs = analysis.recommendations(frequency, recovery, root, report, planned, thresholds)
    patterns = analysis.error_patterns(frame, now)
    tracker.track_event(
        "health_error_analysis",  # not error_*: analysis rows must never count as errors
        {
            "patterns": patterns,
            "rootCauses": root.to_dicts(),
            "recommendations": [r.as_dict() for r in recs],
            "actionsTaken": taken,
        },
        "info",
        component="health",
    )
    return AnalysisResult(patterns, root, recs, taken)


def take_autonomous_actions(
    store: Store,
    tracker: EventTracker,
    now: datetime,
    thresholds: HealthThresholds,
    *,
    attempts: pl.DataFrame | None = None,
) -> tuple[list[analysis.PlannedAction], list[dict[str, Any]]]:
    """Plan and execute the safe actions on the last action window of attempts (every health run)."""
    if attempts is None:
        attempts = q.read_attempts(store, now - timedelta(minutes=thresholds.action_window_minutes), now)
    paused = {a["id"] for a in list_accounts(store) if a["status"] != "active"}
    planned = analysis.plan_actions(
        attempts, now, thresholds, paused_accounts=paused, open_breakers=q.open_breaker_accounts(store, now)
    )
    return planned, [execute_action(store, tracker, a) for a in planned]


def execute_action(store: Store, tracker: EventTracker, action: analysis.PlannedAction) -> dict[str, Any]:
    """Carry out one planned action and record it as an ``autonomous_action`` event."""
    done = False
    detail = ""
    try:
        if action.kind == "pause_account":
            from xbot_pipeline.store.accounts import pause_account

            done = bool(pause_account(store, action.account_id, f"auto: {action.reason} ({action.evidence})"))
            detail = "account paused" if done else "account not found"
        elif action.kind == "open_breaker":
            done, detail = _force_open(store, tracker, action)
    except Exception as exc:  # an action must never break the analysis
        detail = f"failed: {type(exc).__name__}: {exc}"
        log.exception("autonomous action %s failed", action.kind)
    record = {**action.as_dict(), "executed": done, "detail": detail}
    tracker.track_event(
        "autonomous_action",
        record,
        "warning",
        component="health",
        account_id=action.account_id,
        subject=f"account:{action.account_id}",
    )
    return record


def _force_open(store: Store, tracker: EventTracker, action: analysis.PlannedAction) -> tuple[bool, str]:
    try:
        breaker = importlib.import_module("xbot_pipeline.posting.breaker")
        force_open = breaker.force_open
    except (ImportError, AttributeError):
        return False, "breaker module not available: recommendation only"
    until = (
        datetime.fromisoformat(action.until) if action.until else store.clock.now() + timedelta(minutes=30)
    )
    force_open(store, action.account_id, action.publisher or "api", until, f"auto: {action.reason}", tracker)
    return True, f"breaker forced open until {until.isoformat()}"
