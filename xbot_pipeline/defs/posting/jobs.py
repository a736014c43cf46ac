"""``posting_job``: one posting pass every 5 minutes (on by default); the run shows what happened."""

import dagster as dg

from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.learning.service import posting_hooks
from xbot_pipeline.posting.service import posting_pass
from xbot_pipeline.settings import SettingsError, load_settings


def _pool() -> str | None:
    """Serialise with other browser steps when the browser publishes (``pool="browser"``)."""
    try:
        return "browser" if load_settings().publisher == "browser" else None
    except SettingsError:
        return None


@dg.op(
    pool=_pool(),
    description="Publish the due queue items of every active account (limits, breaker, retries).",
)
def post_due_items(context: dg.OpExecutionContext, xbot: XbotResource) -> dg.Output[dict]:
    # every published post is handed to learning; a failing hook is tracked and never blocks posting
    report = posting_pass(xbot.runtime, run_id=context.run_id, on_published=posting_hooks(xbot.runtime))
    for line in report.lines:
        context.log.info(str(line))
    for account, what in report.accounts.items():
        context.log.info(f"account {account}: {what}")
    counts = report.counts
    return dg.Output(
        counts,
        metadata={
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


@dg.job(description="Post due queue items (replies, singles, threads) within limits; never doubles a post.")
def posting_job() -> None:
    post_due_items()


posting_schedule = dg.ScheduleDefinition(
    name="posting_schedule",
    job=posting_job,
    cron_schedule="*/5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
