"""Check names and their evaluation, shared by the assets (which emit them) and the alert sensor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dagster as dg

from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.analytics.health import HealthReport
from xbot_pipeline.store import Store
from xbot_pipeline.store import health as q

ERROR = dg.AssetCheckSeverity.ERROR
WARN = dg.AssetCheckSeverity.WARN

# name -> (severity, description)
REPORT_CHECKS: dict[str, tuple[dg.AssetCheckSeverity, str]] = {
    "health_score_ok": (ERROR, "overall health >= XBOT_HEALTH_MIN_HEALTH (70)"),
    "recovery_rate_ok": (WARN, "recovery rate >= XBOT_HEALTH_MIN_RECOVERY_RATE (80%)"),
    "posting_success_ok": (WARN, "posting success >= XBOT_HEALTH_MIN_POSTING_SUCCESS (90%)"),
    "error_rate_ok": (WARN, "error rate <= XBOT_HEALTH_MAX_ERROR_RATE (5/h)"),
    "no_stuck_posts": (
        ERROR,
        "no post in 'posting' longer than XBOT_HEALTH_STUCK_POSTING_MINUTES (15) since its claim",
    ),
    "posted_have_tweet_id": (WARN, "every posted row has its tweet_id once the recovery window has passed"),
    "posting_flowing": (
        ERROR,
        "posting happens: no due post waits over XBOT_HEALTH_MAX_DUE_AGE_MINUTES (15), fewer than "
        "XBOT_HEALTH_MAX_QUEUED_POSTING_RUNS (2) posting runs QUEUED, a successful posting run within "
        "XBOT_HEALTH_MAX_MINUTES_WITHOUT_POSTING_RUN (20) while posts are due",
    ),
}
SNAPSHOT_CHECK = "snapshot_fresh"
ACCOUNTS_CHECK = "accounts_healthy"


def report_check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset="system_health_report", description=desc)
        for name, (_sev, desc) in REPORT_CHECKS.items()
    ]


def _accounts(rows: list[dict[str, Any]]) -> str:
    """The accounts the rows belong to, most rows first (at most 50): which accounts a check is about."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row.get("account_id"))] = counts.get(str(row.get("account_id")), 0) + 1
    ranked = sorted(counts, key=lambda a: (-counts[a], a))
    return ", ".join(f"{a} ({counts[a]})" for a in ranked[:50]) or "none"


def evaluate_report_checks(
    report: HealthReport, store: Store, thresholds: HealthThresholds
) -> list[dg.AssetCheckResult]:
    now = store.clock.now()
    stuck = q.stuck_posts(store, now, timedelta(minutes=thresholds.stuck_posting_minutes))
    missing = q.posted_without_id(store, now, timedelta(minutes=thresholds.recovery_window_minutes))
    outcomes: dict[str, tuple[bool, dict[str, Any]]] = {
        "health_score_ok": (
            report.overall_health >= thresholds.min_health,
            {
                "value": dg.MetadataValue.int(report.overall_health),
                "threshold": dg.MetadataValue.float(thresholds.min_health),
            },
        ),
        "recovery_rate_ok": (
            report.recovery_rate >= thresholds.min_recovery_rate,
            {
                "value": dg.MetadataValue.float(report.recovery_rate),
                "threshold": dg.MetadataValue.float(thresholds.min_recovery_rate),
            },
        ),
        "posting_success_ok": (
            report.posting_success_rate >= thresholds.min_posting_success,
            {
                "value": dg.MetadataValue.float(report.posting_success_rate),
                "attempted": dg.MetadataValue.int(report.posts_attempted),
                "threshold": dg.MetadataValue.float(thresholds.min_posting_success),
            },
        ),
        "error_rate_ok": (
            report.error_rate <= thresholds.max_error_rate,
            {
                "value": dg.MetadataValue.float(report.error_rate),
                "threshold": dg.MetadataValue.float(thresholds.max_error_rate),
            },
        ),
        "no_stuck_posts": (
            not stuck,
            {
                "stuck": dg.MetadataValue.int(len(stuck)),
                "post_ids": dg.MetadataValue.text(",".join(str(p["id"]) for p in stuck[:50])),
                "accounts": dg.MetadataValue.text(_accounts(stuck)),
            },
        ),
        "posting_flowing": (
            report.posting_flowing,
            {
                "due_posts": dg.MetadataValue.int(report.due_posts),
                "oldest_due_minutes": dg.MetadataValue.float(report.oldest_due_minutes),
                "queued_posting_runs": dg.MetadataValue.int(report.queued_posting_runs),
                "minutes_since_posting_success": dg.MetadataValue.float(report.minutes_since_posting_success),
            },
        ),
        "posted_have_tweet_id": (
            not missing,
            {
                "missing": dg.MetadataValue.int(len(missing)),
                "post_ids": dg.MetadataValue.text(",".join(str(p["id"]) for p in missing[:50])),
                "accounts": dg.MetadataValue.text(_accounts(missing)),
            },
        ),
    }
    return [
        dg.AssetCheckResult(
            asset_key="system_health_report",
            check_name=name,
            passed=bool(passed),
            severity=REPORT_CHECKS[name][0],
            metadata=meta,
        )
        for name, (passed, meta) in outcomes.items()
    ]
