"""``planning_job`` (hourly) and ``metrics_job`` (every 20 minutes), both on by default.

``metrics_job`` reads through each account's publisher, so it is split like ``posting_job``
(``defs/pools.py``): the browser accounts' step runs in pool ``browser``.
"""

import dagster as dg

from xbot_pipeline.defs.pools import BROWSER_POOL, browser_account_ids, other_account_ids
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.learning.metrics import MetricsReport
from xbot_pipeline.passes import learning as service


@dg.op(description="Fill every active account's queue to the horizon: Thompson-chosen generator and hour.")
def plan_posts(context: dg.OpExecutionContext, xbot: XbotResource) -> dg.Output[dict]:
    report = service.plan(xbot.runtime)
    for line in report.lines:
        context.log.info(str(line))
    context.log.info(report.summary())
    return dg.Output(
        {"queued": report.queued, "rejections": report.rejections},
        metadata={
            "queued": report.queued,
            "unfilled": sum(1 for line in report.lines if line.action == "unfilled"),
            "rejections": sum(report.rejections.values()),
            "rejections_by_gate": dg.MetadataValue.json(report.rejections),
            "accounts": dg.MetadataValue.json(report.accounts),
            "plan": dg.MetadataValue.md(
                "\n".join(f"- {line}" for line in report.lines) or "queue already full"
            ),
        },
    )


def _collect(context: dg.OpExecutionContext, xbot: XbotResource, account_ids: list[str]) -> dg.Output[dict]:
    report = MetricsReport()  # nothing to read this way: no publisher built
    if account_ids:
        report = service.collect_metrics(xbot.runtime, account_ids=account_ids)
    context.log.info(report.summary())
    return dg.Output(
        {"collected": report.collected, "missing": report.missing},
        metadata={
            "account_ids": dg.MetadataValue.json(account_ids),
            "collected": report.total,
            **{f"collected_{h}": n for h, n in sorted(report.collected.items())},
            "missing": report.missing,
            "deferred": dg.MetadataValue.json(report.deferred),
            "followers": dg.MetadataValue.json(report.followers),
        },
    )


@dg.op(description="Read public metrics of the API accounts' posts at 1 h, 6 h, 24 h, 48 h (once each).")
def collect_post_metrics(context: dg.OpExecutionContext, xbot: XbotResource) -> dg.Output[dict]:
    return _collect(context, xbot, other_account_ids(xbot.store))


@dg.op(
    pool=BROWSER_POOL,
    ins={"after": dg.In(dg.Nothing)},
    description="Read public metrics of the browser accounts' posts (1, 6, 24, 48 h), in pool 'browser'.",
)
def collect_browser_post_metrics(context: dg.OpExecutionContext, xbot: XbotResource) -> dg.Output[dict]:
    return _collect(context, xbot, browser_account_ids(xbot.store))


@dg.job(
    description="Keep the queue planned to the horizon (generator and hour chosen by the bandit).",
    tags={"dagster/max_runtime": "900"},  # hourly; an LLM generator may be slow
)
def planning_job() -> None:
    plan_posts()


@dg.job(
    description="Collect post metrics at fixed horizons, append-only; yields the browser to posting.",
    tags={"dagster/max_runtime": "900"},  # every 20 min; one status page per due metric
)
def metrics_job() -> None:
    collect_browser_post_metrics(after=collect_post_metrics())


planning_schedule = dg.ScheduleDefinition(
    name="planning_schedule",
    job=planning_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
metrics_schedule = dg.ScheduleDefinition(
    name="metrics_schedule",
    job=metrics_job,
    cron_schedule="*/20 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
