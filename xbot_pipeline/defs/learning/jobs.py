"""``planning_job`` (hourly) and ``metrics_job`` (every 20 minutes), both on by default."""

import dagster as dg

from xbot_pipeline.defs.posting.jobs import _pool
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.learning import service


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


@dg.op(
    pool=_pool(),
    description="Read public metrics at 1 h, 6 h, 24 h, 48 h after posting (once each) and follower counts.",
)
def collect_post_metrics(context: dg.OpExecutionContext, xbot: XbotResource) -> dg.Output[dict]:
    report = service.collect_metrics(xbot.runtime)
    context.log.info(report.summary())
    return dg.Output(
        {"collected": report.collected, "missing": report.missing},
        metadata={
            "collected": report.total,
            **{f"collected_{h}": n for h, n in sorted(report.collected.items())},
            "missing": report.missing,
            "deferred": dg.MetadataValue.json(report.deferred),
            "followers": dg.MetadataValue.json(report.followers),
        },
    )


@dg.job(description="Keep the queue planned to the horizon (generator and hour chosen by the bandit).")
def planning_job() -> None:
    plan_posts()


@dg.job(description="Collect post metrics at fixed horizons, append-only; yields the browser to posting.")
def metrics_job() -> None:
    collect_post_metrics()


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
