"""Health assets: error frequency, recovery metrics, the health report, issues, analysis, snapshot."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import dagster as dg
import polars as pl

from xbot_pipeline.analytics import errors, service
from xbot_pipeline.analytics.accounts import failing_accounts
from xbot_pipeline.analytics.health import HealthReport
from xbot_pipeline.analytics.window import error_window_cached
from xbot_pipeline.defs.health.checks import (
    ACCOUNTS_CHECK,
    SNAPSHOT_CHECK,
    evaluate_report_checks,
    report_check_specs,
)
from xbot_pipeline.defs.health.flow import posting_runs
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.store import health as q
from xbot_pipeline.warehouse.snapshot import last_published
from xbot_pipeline.warehouse.sync import sync_snapshot

GROUP = "health"
ACCOUNT_COLUMNS = ["account_id", "health", "errors_24h", "recovery_rate", "posting_success_rate", "failing"]


def cached_window(xbot: XbotResource, now: datetime) -> pl.DataFrame:
    """The 24 h error window, read incrementally through a Parquet cache in XBOT_HOME."""
    cache = xbot.runtime.settings.home / "health" / "error_window.parquet"
    return error_window_cached(xbot.store, now, cache)


def _md_table(frame: pl.DataFrame, columns: list[str], limit: int = 10) -> str:
    if frame.is_empty():
        return "_no rows_"
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = "\n".join(
        "| " + " | ".join(str(row[c]) for c in columns) + " |"
        for row in frame.head(limit).iter_rows(named=True)
    )
    return head + body


@dg.multi_asset(
    group_name=GROUP,
    outs={
        "error_frequency": dg.AssetOut(
            kinds={"polars"},
            description="Errors of the last 24 h by component and error type. "
            "See docs/HEALTH.md#error-frequency-and-recovery-metrics",
        ),
        "recovery_metrics": dg.AssetOut(
            kinds={"polars"},
            description="Recovery rate and time to recover by error type and component. "
            "See docs/HEALTH.md#error-frequency-and-recovery-metrics",
        ),
    },
    can_subset=True,
)
def error_frequency_and_recovery(
    context: dg.AssetExecutionContext, xbot: XbotResource
) -> Iterator[dg.Output[pl.DataFrame]]:
    """Both assets from ONE indexed read of the 24 h error window (the read is most of the cost)."""
    now = xbot.store.clock.now()
    window = cached_window(xbot, now)
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    if "error_frequency" in selected:
        frame = errors.error_frequency(window, now)
        total = int(frame["count"].sum()) if frame.height else 0
        yield dg.Output(
            frame,
            output_name="error_frequency",
            metadata={
                "errors_24h": dg.MetadataValue.int(total),
                "error_rate_per_hour": dg.MetadataValue.float(round(total / 24.0, 2)),
                "groups": dg.MetadataValue.int(frame.height),
                "critical_groups": dg.MetadataValue.int(int(frame["critical"].sum()) if frame.height else 0),
                "report": dg.MetadataValue.md(
                    f"**{total} errors in 24 h**\n\n"
                    + _md_table(frame, ["component", "error_type", "count", "critical", "last_seen"])
                ),
            },
        )
    if "recovery_metrics" in selected:
        frame = errors.recovery_metrics(window, now)
        overall = errors.overall_recovery(window, now)
        meta: dict[str, dg.MetadataValue] = {
            "recovery_rate": dg.MetadataValue.float(float(overall["rate"] or 0.0)),  # never None
            "errors": dg.MetadataValue.int(int(overall["errors"] or 0)),
            "recovered": dg.MetadataValue.int(int(overall["recovered"] or 0)),
            "report": dg.MetadataValue.md(
                _md_table(
                    frame,
                    [
                        "component",
                        "error_type",
                        "errors",
                        "recovered",
                        "recovery_rate",
                        "median_recovery_s",
                        "p90_recovery_s",
                    ],
                )
            ),
        }
        for key in ("median_recovery_s", "p90_recovery_s"):
            value = overall[key]
            if value is not None:
                meta[key] = dg.MetadataValue.float(float(value))
        yield dg.Output(frame, output_name="recovery_metrics", metadata=meta)


@dg.asset(
    group_name=GROUP,
    kinds={"polars"},
    check_specs=report_check_specs(),
    description="The 0-100 health score (seed formula, defects fixed), also written as an event. "
    "See docs/HEALTH.md#formulas",
)
def system_health_report(
    context: dg.AssetExecutionContext, xbot: XbotResource, recovery_metrics: pl.DataFrame
) -> Iterator[dg.Output[HealthReport] | dg.AssetCheckResult]:
    thresholds = xbot.runtime.settings.health
    store = xbot.store
    now = store.clock.now()
    totals = (
        int(recovery_metrics["errors"].sum()) if recovery_metrics.height else 0,
        int(recovery_metrics["recovered"].sum()) if recovery_metrics.height else 0,
    )
    report = service.compute_health(
        store, now, thresholds, totals=totals, posting_runs=posting_runs(context.instance)
    )
    service.record_health_report(xbot.tracker, report, thresholds)
    _planned, actions = service.take_autonomous_actions(store, xbot.tracker, now, thresholds)
    issues = "\n".join(f"- {i}" for i in report.critical_issues) or "- none"
    yield dg.Output(
        report,
        metadata={
            "overall_health": dg.MetadataValue.int(report.overall_health),
            "error_rate": dg.MetadataValue.float(report.error_rate),
            "recovery_rate": dg.MetadataValue.float(report.recovery_rate),
            "posting_success_rate": dg.MetadataValue.float(report.posting_success_rate),
            "job_health": dg.MetadataValue.float(report.job_health),
            "posting_flowing": dg.MetadataValue.bool(report.posting_flowing),
            "critical_issues": dg.MetadataValue.int(len(report.critical_issues)),
            "autonomous_actions": dg.MetadataValue.int(sum(1 for a in actions if a["executed"])),
            "report": dg.MetadataValue.md(
                f"**Health {report.overall_health}/100**\n\n| term | value |\n|---|---|\n"
                f"| error rate | {report.error_rate}/h ({report.errors_24h} errors) |\n"
                f"| recovery | {report.recovery_rate}% |\n"
                f"| posting success | {report.posting_success_rate}% of {report.posts_attempted} |\n"
                f"| job health | {report.job_health}% of {report.job_runs} runs |\n"
                f"| posting flowing | {'yes' if report.posting_flowing else 'NO'} "
                f"({report.due_posts} due, {report.queued_posting_runs} runs queued) |\n\n"
                f"**Critical issues**\n{issues}"
            ),
        },
    )
    yield from evaluate_report_checks(report, store, thresholds)


@dg.asset(
    group_name=GROUP,
    kinds={"polars"},
    check_specs=[
        dg.AssetCheckSpec(
            ACCOUNTS_CHECK,
            asset="account_health",
            description="every account's health >= XBOT_HEALTH_MIN_HEALTH (70); names the accounts below",
        )
    ],
    description="The health score and its terms by account (a fleet), worst first. "
    "See docs/HEALTH.md#health-by-account-a-fleet",
)
def account_health(
    context: dg.AssetExecutionContext, xbot: XbotResource
) -> Iterator[dg.Output[pl.DataFrame] | dg.AssetCheckResult]:
    thresholds = xbot.runtime.settings.health
    now = xbot.store.clock.now()
    frame = service.account_health_frame(xbot.store, now, thresholds, cached_window(xbot, now))
    failing = failing_accounts(frame)
    below = failing_accounts(frame, "health")
    yield dg.Output(
        frame,
        metadata={
            "accounts": dg.MetadataValue.int(frame.height),
            "failing_accounts": dg.MetadataValue.int(len(failing)),
            "worst_health": dg.MetadataValue.int(int(frame["health"][0]) if frame.height else 100),
            "report": dg.MetadataValue.md(
                _md_table(
                    frame,
                    ACCOUNT_COLUMNS,
                    limit=20,
                )
            ),
        },
    )
    yield dg.AssetCheckResult(
        asset_key="account_health",
        check_name=ACCOUNTS_CHECK,
        passed=not below,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "accounts_below": dg.MetadataValue.int(len(below)),
            "accounts": dg.MetadataValue.text(", ".join(below[:50]) or "none"),
            "failing_any_term": dg.MetadataValue.text(", ".join(failing[:50]) or "none"),
        },
    )


@dg.asset(
    group_name=GROUP,
    kinds={"polars"},
    description="Errors grouped by fingerprint: new, ongoing, regressed, resolved. "
    "See docs/HEALTH.md#issues-fingerprints",
)
def error_issues(context: dg.AssetExecutionContext, xbot: XbotResource) -> pl.DataFrame:
    now = xbot.store.clock.now()
    frame = service.update_issue_book(xbot.store, now, cached_window(xbot, now))
    states = dict(frame.group_by("state").len().iter_rows()) if frame.height else {}
    context.add_output_metadata(
        {
            **{
                f"issues_{s}": dg.MetadataValue.int(int(states.get(s, 0)))
                for s in ("new", "ongoing", "regressed", "resolved")
            },
            "report": dg.MetadataValue.md(
                _md_table(frame, ["fingerprint", "component", "error_type", "count", "state", "last_seen"])
            ),
        }
    )
    return frame


@dg.asset(
    group_name=GROUP,
    kinds={"polars"},
    description="Patterns, root causes, recommendations and autonomous actions (every 6 h). "
    "See docs/HEALTH.md#error-analysis-and-autonomous-actions",
)
def error_analysis(
    context: dg.AssetExecutionContext,
    xbot: XbotResource,
    error_frequency: pl.DataFrame,
    recovery_metrics: pl.DataFrame,
) -> dict:
    store = xbot.store
    now = store.clock.now()
    latest = q.latest_event(store, "system_health_report")
    result = service.run_error_analysis(
        store,
        xbot.tracker,
        now,
        xbot.runtime.settings.health,
        frequency=error_frequency,
        recovery=recovery_metrics,
        report=(latest or {}).get("event_data"),
    )
    recs = (
        "\n".join(
            f"- **{r.component}**: {r.action} _(evidence: {r.evidence})_" for r in result.recommendations
        )
        or "- none"
    )
    context.add_output_metadata(
        {
            "recommendations": dg.MetadataValue.int(len(result.recommendations)),
            "actions_taken": dg.MetadataValue.int(sum(1 for a in result.actions_taken if a["executed"])),
            "failed_attempts": dg.MetadataValue.int(
                int(result.root_causes["failures"].sum()) if result.root_causes.height else 0
            ),
            "report": dg.MetadataValue.md(
                "**Top root causes**\n\n"
                + _md_table(result.root_causes, ["root_cause", "failures", "share", "top_account"])
                + f"\n\n**Recommendations**\n{recs}"
            ),
        }
    )
    return {
        "patterns": result.patterns,
        "root_causes": result.root_causes.to_dicts(),
        "recommendations": [r.as_dict() for r in result.recommendations],
        "actions_taken": result.actions_taken,
    }


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb"},
    pool="warehouse",
    description="The analysts' DuckDB snapshot (atomic publish; readers never block it). "
    "See docs/HEALTH.md#the-duckdb-snapshot-analysts",
)
def warehouse_snapshot(
    context: dg.AssetExecutionContext,
    xbot: XbotResource,
    error_frequency: pl.DataFrame,
    recovery_metrics: pl.DataFrame,
    system_health_report: HealthReport,
    error_issues: pl.DataFrame,
    account_health: pl.DataFrame,
) -> None:
    store = xbot.store
    now = store.clock.now()
    report_row = (
        pl.DataFrame(
            [{**system_health_report.as_row(), "critical_issues": list(system_health_report.critical_issues)}]
        )
        .with_columns(
            created_at=pl.lit(now).cast(pl.Datetime("us", "UTC")), run_id=pl.lit(context.run.run_id)
        )
        .with_columns(pl.col("critical_issues").cast(pl.List(pl.String)))
    )
    result = sync_snapshot(
        store,
        xbot.runtime.settings.warehouse_path,
        now,
        replace={
            "error_frequency": error_frequency,
            "recovery_metrics": recovery_metrics,
            "error_issues": error_issues,
            "account_health": account_health,
        },
        append={"system_health_reports": report_row},
    )
    context.add_output_metadata(
        {
            "path": dg.MetadataValue.path(str(result.path)),
            "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
            **{f"rows_{k}": dg.MetadataValue.int(v) for k, v in result.tables.items()},
        }
    )


@dg.asset_check(
    asset=warehouse_snapshot, name=SNAPSHOT_CHECK, description="The snapshot was published recently."
)
def snapshot_fresh(xbot: XbotResource) -> dg.AssetCheckResult:
    thresholds = xbot.runtime.settings.health
    published = last_published(xbot.runtime.settings.warehouse_path)
    now = xbot.store.clock.now()
    age_min = None if published is None else (now - published).total_seconds() / 60
    return dg.AssetCheckResult(
        passed=age_min is not None and age_min <= thresholds.snapshot_max_age_minutes,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "age_minutes": dg.MetadataValue.float(round(age_min, 2) if age_min is not None else -1.0),
            "max_age_minutes": dg.MetadataValue.float(thresholds.snapshot_max_age_minutes),
        },
    )


HEALTH_ASSETS = [
    error_frequency_and_recovery,
    system_health_report,
    error_issues,
    account_health,
    warehouse_snapshot,
]
ANALYSIS_ASSETS = [error_frequency_and_recovery, error_analysis]
RECENT = timedelta(hours=24)
