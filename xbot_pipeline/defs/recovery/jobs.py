"""``recovery_job``: every 5 minutes, settle what posting could not (ids, unknown/stuck posts, breakers).

Like ``posting_job`` it fans out one step per shard of accounts (``plan_recovery_shards``), browser
accounts' shards in pool ``browser`` on Celery queue ``browser``, the rest on queue ``api``; each account
is reconciled under its account lease, so a worker never reconciles an account another one is posting for.
"""

import dagster as dg
import polars as pl
from pydantic import Field

from xbot_pipeline.defs.cron import cron
from xbot_pipeline.defs.fleet.browser import with_browser_pool
from xbot_pipeline.defs.fleet.executor import fleet_executor, queue_tags
from xbot_pipeline.defs.fleet.io import FLEET_IO, FleetIOManager
from xbot_pipeline.defs.fleet.plan import shard_planner
from xbot_pipeline.defs.pools import BROWSER_POOL
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.passes.from_settings import recovery_pass
from xbot_pipeline.recovery.config import RecoveryConfig

_DEFAULTS = RecoveryConfig()
RESULT_SCHEMA = {"post_id": pl.Int64, "result": pl.String}
RESULTS = ("ids_filled", "found_live", "requeued", "failed", "still_open")


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


def _recover(
    context: dg.OpExecutionContext, config: RecoveryRunConfig, xbot: XbotResource, account_ids: list[str]
) -> dg.Output[pl.DataFrame]:
    report = recovery_pass(
        xbot.runtime, account_ids=account_ids, settle_s=config.settle_s, stuck_after_s=config.stuck_after_s
    )
    for line in report.lines:
        context.log.info(line)
    context.log.info(report.summary())
    by_result = dict(
        zip(
            RESULTS,
            (report.ids_filled, report.reconciled_posted, report.requeued, report.failed, report.still_open),
            strict=True,
        )
    )
    summary = {name: len(ids) for name, ids in by_result.items()}
    frame = pl.DataFrame(
        [{"post_id": pid, "result": name} for name, ids in by_result.items() for pid in ids],
        schema=RESULT_SCHEMA,
    )
    return dg.Output(
        frame,
        metadata={
            **summary,
            "account_ids": dg.MetadataValue.json(account_ids),
            "breakers_half_open": dg.MetadataValue.json(report.breakers_half_open),
            "leases_released": report.leases_released,
            "journal_replayed": report.journal_replayed,
            "lines": dg.MetadataValue.md(
                "\n".join(f"- {line}" for line in report.lines) or "nothing to recover"
            ),
        },
    )


plan_recovery_shards = shard_planner("plan_recovery_shards")


@dg.op(
    out=dg.Out(pl.DataFrame, io_manager_key=FLEET_IO),
    tags=queue_tags("api"),
    description="Recovery (ids, unknown/stuck posts, breakers) for one shard of API accounts.",
)
def recover_posts(
    context: dg.OpExecutionContext, config: RecoveryRunConfig, xbot: XbotResource, accounts: list
) -> dg.Output[pl.DataFrame]:
    return _recover(context, config, xbot, list(accounts))


@dg.op(
    # Recovery reads timelines through each account's own publisher, Chromium for browser accounts: it
    # runs in the browser pool so it never drives a second browser beside a posting or metrics step.
    pool=BROWSER_POOL,
    out=dg.Out(pl.DataFrame, io_manager_key=FLEET_IO),
    tags=queue_tags("browser"),
    description="Recovery for one shard of browser accounts, in pool 'browser'.",
)
def recover_browser_posts(
    context: dg.OpExecutionContext, config: RecoveryRunConfig, xbot: XbotResource, accounts: list
) -> dg.Output[pl.DataFrame]:
    return with_browser_pool(_recover(context, config, xbot, list(accounts)))


@dg.op(
    out=dg.Out(dict, io_manager_key=FLEET_IO),
    tags=queue_tags("api"),
    description="Gather every shard's results: how many posts were filled, found, requeued, failed, open.",
)
def summarize_recovery(api: list[pl.DataFrame], browser: list[pl.DataFrame]) -> dg.Output[dict]:
    rows = pl.concat([pl.DataFrame(schema=RESULT_SCHEMA), *api, *browser])
    counts = {name: rows.filter(pl.col("result") == name).height for name in RESULTS}
    return dg.Output(
        {"counts": counts, "shards": len(api) + len(browser)},
        metadata={**counts, "shards": len(api) + len(browser)},
    )


@dg.job(
    description="Recover posts: missing ids, unknown outcomes and stuck rows (never requeues a live post).",
    tags={"dagster/max_runtime": "300"},  # a timeline read per account; due again every 5 min
    executor_def=fleet_executor(),
    resource_defs={"xbot": XbotResource(), FLEET_IO: FleetIOManager()},
)
def recovery_job() -> None:
    api, browser = plan_recovery_shards()
    summarize_recovery(
        api=api.map(recover_posts).collect(), browser=browser.map(recover_browser_posts).collect()
    )


recovery_schedule = dg.ScheduleDefinition(
    name="recovery_schedule",
    job=recovery_job,
    cron_schedule=cron("recovery"),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
