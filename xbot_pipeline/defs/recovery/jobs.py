"""``recovery_job``: every 5 minutes, settle what posting could not (ids, unknown/stuck posts, breakers)."""

import dagster as dg
from pydantic import Field

from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.posting.service import recovery_pass
from xbot_pipeline.recovery.config import RecoveryConfig

_DEFAULTS = RecoveryConfig()


class RecoveryRunConfig(dg.Config):
    """Waits an operator may shorten for one run from the launchpad (the defaults suit the schedule)."""

    settle_s: float = Field(
        default=_DEFAULTS.settle_s,
        description="Seconds after a post's last attempt before a timeline miss is trusted.",
    )
    stuck_after_s: float = Field(
        default=_DEFAULTS.stuck_after_s,
        description="A 'posting' row claimed longer ago than this is treated as stuck.",
    )


@dg.op(
    description="Fill missing ids, reconcile unknown/stuck posts, half-open breakers, free expired leases."
)
def recover_posts(
    context: dg.OpExecutionContext, config: RecoveryRunConfig, xbot: XbotResource
) -> dg.Output[dict]:
    report = recovery_pass(xbot.runtime, settle_s=config.settle_s, stuck_after_s=config.stuck_after_s)
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
