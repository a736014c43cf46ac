"""Alerts sensor. Open-source Dagster has no "check failed" alert, so this sensor reads the latest
evaluation of each of our checks from the instance, adds the store-side rules, and routes alerts.
All its memory is in the store (kv_state), so restarts neither lose nor repeat alerts."""

import logging

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from xbot_pipeline.alerts import FailedCheck, evaluate_alerts, sender_for
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.defs.health.checks import REPORT_CHECKS, SNAPSHOT_CHECK
from xbot_pipeline.defs.health.flow import live_posting_flow
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.defs.ticks import end_tick

log = logging.getLogger("xbot_pipeline.alerts")

FLOW_CHECK = "posting_flowing"  # evaluated live on every tick, not read from the last health run
WATCHED_CHECKS = [("system_health_report", name) for name in REPORT_CHECKS if name != FLOW_CHECK] + [
    ("warehouse_snapshot", SNAPSHOT_CHECK)
]


def posting_flow_check(
    xbot: XbotResource, instance: dg.DagsterInstance, thresholds: HealthThresholds
) -> FailedCheck:
    """posting_flowing now: a stalled posting daemon must alert within a tick, not at the next health run."""
    flow = live_posting_flow(xbot.store, instance, thresholds)
    return FailedCheck(
        name=FLOW_CHECK,
        asset="system_health_report",
        passed=flow.flowing,
        severity="ERROR",
        detail="; ".join(flow.problems),
    )


def latest_check_results(instance: dg.DagsterInstance) -> list[FailedCheck]:
    """The latest completed evaluation of every watched check (passed or failed, with severity)."""
    out: list[FailedCheck] = []
    for asset, name in WATCHED_CHECKS:
        key = dg.AssetCheckKey(dg.AssetKey(asset), name)
        try:
            records = instance.event_log_storage.get_asset_check_execution_history(
                key,
                limit=1,
                status={AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED},
            )
        except Exception:  # semi-internal API: never let it break alerting
            log.exception("could not read check history for %s", name)
            continue
        if not records:
            continue
        record = records[0]
        evaluation = (
            record.event.dagster_event.event_specific_data
            if record.event and record.event.dagster_event
            else None
        )
        severity = getattr(getattr(evaluation, "severity", None), "value", "ERROR")
        out.append(
            FailedCheck(
                name=name,
                asset=asset,
                passed=record.status == AssetCheckExecutionRecordStatus.SUCCEEDED,
                severity=str(severity),
                detail=f"(run {record.run_id[:8]})",
            )
        )
    return out


@dg.sensor(
    name="alerts_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Failing ERROR checks, low health/recovery, critical errors and error spikes become alerts. "
    "Each tick's summary (sent, suppressed, resolved) is its skip reason and cursor. "
    "See docs/HEALTH.md#alerts",
)
def alerts_sensor(context: dg.SensorEvaluationContext, xbot: XbotResource) -> dg.SkipReason:
    try:
        settings = xbot.runtime.settings
        thresholds = settings.health
        result = evaluate_alerts(
            xbot.store,
            xbot.tracker,
            sender_for(settings.alert_webhook_url),
            thresholds,
            checks=[
                *latest_check_results(context.instance),
                posting_flow_check(xbot, context.instance, thresholds),
            ],
            review_alert_minutes=settings.review_alert_min,
        )
    except Exception as exc:  # a sensor that raises stops alerting altogether: report and carry on
        log.exception("alert pass failed")
        return end_tick(context, f"alert pass failed: {type(exc).__name__} (details in the daemon log)")
    # all the sensor's memory is in the store: the cursor carries only the summary
    return end_tick(context, result.summary())
