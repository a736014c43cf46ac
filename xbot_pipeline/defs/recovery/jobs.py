"""``recovery_job``: every 5 minutes, settle what posting could not (ids, unknown/stuck posts, breakers)."""

import dagster as dg

from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.posting.service import recovery_pass


@dg.op(
    description="Fill missing ids, reconcile unknown/stuck posts, half-open breakers, free expired leases."
)
def recover_posts(context: dg.OpExecutionContext, xbot: XbotResource) -> dg.Output[dict]:
    report = recovery_pass(xbot.runtime)
    for line in report.lines:
        context.log.info(line)
    context.log.info(report.summary())
    summary = {
        "ids_filled": len(report.ids_filled),
        "found_live": len(report.reconciled_posted),
        "requeued": len(report.requeued),
        "failed": len(report.failed),
        "still_open": len(report.still_open),
    }
    return dg.Output(
        summary,
        metadata={
            **summary,
            "breakers_half_open": dg.MetadataValue.json(report.breakers_half_open),
            "leases_released": report.leases_released,
            "journal_replayed": report.journal_replayed,
            "lines": dg.MetadataValue.md(
                "\n".join(f"- {line}" for line in report.lines) or "nothing to recover"
            ),
        },
    )


@dg.job(
    description="Recover posts: missing ids, unknown outcomes and stuck rows (never requeues a live post)."
)
def recovery_job() -> None:
    recover_posts()


recovery_schedule = dg.ScheduleDefinition(
    name="recovery_schedule",
    job=recovery_job,
    cron_schedule="*/5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
