"""Health jobs and their schedules (on by default)."""

from __future__ import annotations

import dagster as dg

health_job = dg.define_asset_job(
    "health_job",
    selection=dg.AssetSelection.assets(
        "error_frequency",
        "recovery_metrics",
        "system_health_report",
        "error_issues",
        "account_health",
        "warehouse_snapshot",
    ).without_checks()
    | dg.AssetSelection.checks_for_assets("system_health_report", "account_health", "warehouse_snapshot"),
    description="Every 30 minutes: error frequency, recovery, health report + checks, issues, snapshot.",
    tags={"dagster/max_runtime": "900"},  # seconds of work, plus up to ~100 s waiting for the DuckDB lock
)
error_analysis_job = dg.define_asset_job(
    "error_analysis_job",
    selection=dg.AssetSelection.assets("error_frequency", "recovery_metrics", "error_analysis"),
    description="Every 6 hours: patterns, root causes, recommendations, autonomous actions.",
    tags={"dagster/max_runtime": "1800"},
)
health_schedule = dg.ScheduleDefinition(
    name="health_schedule",
    job=health_job,
    cron_schedule="*/30 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
error_analysis_schedule = dg.ScheduleDefinition(
    name="error_analysis_schedule",
    job=error_analysis_job,
    cron_schedule="0 */6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
