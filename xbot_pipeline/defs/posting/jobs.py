"""``posting_job``: one posting pass every 5 minutes (on by default); the run shows what happened.

``plan_posting_shards`` splits the accounts by the publisher each one uses (``defs/pools.py``) into shards
of ``XBOT_FLEET_SHARD_SIZE`` accounts, and each shard is a step of its own (dynamic outputs):
``post_due_items`` for API accounts (Celery queue ``api``), ``post_due_browser_items`` for browser
accounts (pool ``browser``, Celery queue ``browser``). ``summarize_posting`` gathers the shards' frames.
The same job runs on Dagster's own executor (the default) or on Celery workers (``XBOT_EXECUTOR=celery``,
docs/SCALING.md); an account is driven by one step at a time whatever runs where (the account lease).
"""

import dagster as dg
import polars as pl

from xbot_pipeline.defs.cron import cron
from xbot_pipeline.defs.fleet.browser import with_browser_pool
from xbot_pipeline.defs.fleet.executor import fleet_executor, queue_tags
from xbot_pipeline.defs.fleet.io import FLEET_IO, FleetIOManager
from xbot_pipeline.defs.fleet.plan import shard_planner
from xbot_pipeline.defs.pools import BROWSER_POOL
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.passes.from_settings import posting_pass
from xbot_pipeline.posting.run import PostingRunReport

LINE_SCHEMA = {
    "post_id": pl.Int64,
    "account_id": pl.String,
    "kind": pl.String,
    "action": pl.String,
    "detail": pl.String,
    "tweet_id": pl.String,
}


def _post(context: dg.OpExecutionContext, xbot: XbotResource, account_ids: list[str]) -> dg.Output:
    if not account_ids:  # nothing to publish this way: no journal replay, no publisher built
        report = PostingRunReport(context.run_id)
    else:  # every published post is handed to learning; a failing hook is tracked, never blocks posting
        report = posting_pass(xbot.runtime, run_id=context.run_id, account_ids=account_ids)
    for line in report.lines:
        context.log.info(str(line))
    for account, what in report.accounts.items():
        context.log.info(f"account {account}: {what}")
    counts = report.counts
    frame = pl.DataFrame(
        [
            {
                "post_id": line.post_id,
                "account_id": line.account_id,
                "kind": line.kind,
                "action": line.action.value,
                "detail": line.detail,
                "tweet_id": line.tweet_id,
            }
            for line in report.lines
        ],
        schema=LINE_SCHEMA,
    )
    return dg.Output(
        frame,
        metadata={
            "account_ids": dg.MetadataValue.json(account_ids),
            "posted": counts.get("posted", 0) + counts.get("reconciled", 0),
            "posted_without_id": counts.get("posted_no_id", 0),
            "retry": counts.get("retry", 0),
            "unknown": counts.get("unknown", 0),
            "failed": counts.get("failed", 0) + counts.get("failed_permanent", 0),
            "skipped": counts.get("skipped", 0),
            "deferred": counts.get("deferred", 0),
            "lines": dg.MetadataValue.md("\n".join(f"- {line}" for line in report.lines) or "nothing due"),
            "accounts": dg.MetadataValue.json(report.accounts),
            "breakers": dg.MetadataValue.json(report.breakers),
            "journal_replayed": report.journal_replayed,
        },
    )


plan_posting_shards = shard_planner("plan_posting_shards")


@dg.op(
    out=dg.Out(pl.DataFrame, io_manager_key=FLEET_IO),
    tags=queue_tags("api"),
    description="Publish the due queue items of one shard of API accounts (limits, breaker, retries).",
)
def post_due_items(context: dg.OpExecutionContext, xbot: XbotResource, accounts: list) -> dg.Output:
    return _post(context, xbot, list(accounts))


@dg.op(
    pool=BROWSER_POOL,
    out=dg.Out(pl.DataFrame, io_manager_key=FLEET_IO),
    tags=queue_tags("browser"),
    description="Publish the due queue items of one shard of browser accounts, in pool 'browser'.",
)
def post_due_browser_items(context: dg.OpExecutionContext, xbot: XbotResource, accounts: list) -> dg.Output:
    return with_browser_pool(_post(context, xbot, list(accounts)))


@dg.op(
    out=dg.Out(dict, io_manager_key=FLEET_IO),
    tags=queue_tags("api"),
    description="Gather every shard's post lines: totals by action, and which accounts did what.",
)
def summarize_posting(api: list[pl.DataFrame], browser: list[pl.DataFrame]) -> dg.Output[dict]:
    lines = pl.concat([pl.DataFrame(schema=LINE_SCHEMA), *api, *browser])
    counts = {str(k): int(v) for k, v in lines.group_by("action").len().iter_rows()}
    per_account = lines.group_by("account_id").len().sort("account_id")
    return dg.Output(
        {"counts": counts, "shards": len(api) + len(browser), "lines": lines.height},
        metadata={
            "shards": len(api) + len(browser),
            "counts": dg.MetadataValue.json(counts),
            "accounts_with_work": per_account.height,
        },
    )


# A pass takes 5-41 s; one still running when the next is due (5 min) is dead or hung: run monitoring
# fails it and frees its `browser` slot (docs/PRODUCTION.md).
@dg.job(
    description="Post due queue items (replies, singles, threads) within limits; never doubles a post.",
    tags={"dagster/max_runtime": "300"},
    executor_def=fleet_executor(),
    resource_defs={"xbot": XbotResource(), FLEET_IO: FleetIOManager()},
)
def posting_job() -> None:
    api, browser = plan_posting_shards()
    summarize_posting(
        api=api.map(post_due_items).collect(), browser=browser.map(post_due_browser_items).collect()
    )


posting_schedule = dg.ScheduleDefinition(
    name="posting_schedule",
    job=posting_job,
    cron_schedule=cron("posting"),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
