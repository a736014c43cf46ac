"""Learning assets: ``post_rewards``, ``bandit_posteriors`` (+ checks) and their DuckDB snapshot."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import cast

import dagster as dg
import polars as pl

from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.learning import best_times
from xbot_pipeline.learning.rewards import measure_rewards, sweep_handoffs
from xbot_pipeline.passes import learning as service
from xbot_pipeline.warehouse import publish_tables

GROUP = "learning"


def _md(frame: pl.DataFrame, columns: list[str], limit: int = 12) -> str:
    if frame.is_empty():
        return "_no rows yet_"
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    rows = []
    for row in frame.head(limit).iter_rows(named=True):
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in (row[c] for c in columns)]
        rows.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(rows)


@dg.asset(
    group_name=GROUP,
    kinds={"polars"},
    description="The reward of every published post at 24 h. "
    "See docs/LEARNING.md#rewards-and-posteriors-learningrewardspy-learning_job",
)
def post_rewards(context: dg.AssetExecutionContext, xbot: XbotResource) -> pl.DataFrame:
    store, config = xbot.store, xbot.runtime.settings.learning
    now = store.clock.now()
    swept = sweep_handoffs(store, now)
    measured = measure_rewards(store, config, now)
    frame = service.rewards_frame(xbot.runtime)
    done = frame.filter(pl.col("reward").is_not_null())
    by_gen = (
        done.group_by("generator")
        .agg(posts=pl.len(), mean_reward=pl.col("reward").mean(), mean_rate=pl.col("engagement_rate").mean())
        .sort("mean_reward", descending=True)
    )
    context.add_output_metadata(
        {
            "posts": dg.MetadataValue.int(frame.height),
            "measured": dg.MetadataValue.int(done.height),
            "newly_measured": dg.MetadataValue.int(measured),
            "handoffs_caught_up": dg.MetadataValue.int(swept),
            "mean_reward": dg.MetadataValue.float(
                float(cast(float, done["reward"].mean()) or 0.0) if done.height else 0.0
            ),
            "report": dg.MetadataValue.md(
                f"**{done.height} posts with a 24 h reward**\n\n"
                + _md(by_gen, ["generator", "posts", "mean_reward", "mean_rate"])
            ),
        }
    )
    return frame


@dg.asset(
    group_name=GROUP,
    kinds={"polars"},
    deps=[post_rewards],
    check_specs=[
        dg.AssetCheckSpec(
            "posteriors_valid",
            asset="bandit_posteriors",
            blocking=True,
            description="every arm has alpha > 0 and beta > 0, both finite",
        ),
        dg.AssetCheckSpec(
            "posteriors_fresh",
            asset="bandit_posteriors",
            description="the arms were updated within XBOT_LEARNING_FRESHNESS_HOURS (3)",
        ),
    ],
    description="Beta posteriors of the generator arms and hour-of-day arms (discounted, persisted); best "
    "posting hours as a table and chart. See docs/LEARNING.md#best-posting-hours-xbot-best-times",
)
def bandit_posteriors(
    context: dg.AssetExecutionContext, xbot: XbotResource
) -> Iterator[dg.Output[pl.DataFrame] | dg.AssetCheckResult]:
    config = xbot.runtime.settings.learning
    _swept, _measured, report = service.update(xbot.runtime, config=config)
    frame = service.posteriors_frame(xbot.runtime)
    gens = frame.filter(pl.col("family") == "generator").sort("mean", descending=True)
    hours = frame.filter(pl.col("family") == "hour").sort("mean", descending=True)
    yield dg.Output(
        frame,
        metadata={
            **_best_times_metadata(xbot, frame),
            "arms": dg.MetadataValue.int(frame.height),
            "rewards_applied": dg.MetadataValue.int(sum(report.applied.values())),
            "best_generator": dg.MetadataValue.text(str(gens["arm"][0]) if gens.height else "-"),
            "best_hour_utc": dg.MetadataValue.text(str(hours["arm"][0]) if hours.height else "-"),
            "report": dg.MetadataValue.md(
                "**Generators**\n\n"
                + _md(gens, ["account_id", "arm", "mean", "std", "n_eff", "observations"])
                + "\n\n**Hours (UTC)**\n\n"
                + _md(hours, ["account_id", "arm", "mean", "std", "n_eff"], 6)
            ),
        },
    )
    ok, bad = service.posteriors_valid(frame)
    yield dg.AssetCheckResult(
        check_name="posteriors_valid",
        passed=ok,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"arms": dg.MetadataValue.int(frame.height), "invalid_arms": dg.MetadataValue.int(bad)},
    )
    now = xbot.store.clock.now()
    newest = frame["updated_at"].max() if frame.height else None
    age_h = None if newest is None else (now - cast(datetime, newest)).total_seconds() / 3600
    yield dg.AssetCheckResult(
        check_name="posteriors_fresh",
        passed=age_h is None or age_h <= config.freshness_hours,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "age_hours": dg.MetadataValue.float(round(age_h, 3) if age_h is not None else -1.0),
            "max_age_hours": dg.MetadataValue.float(config.freshness_hours),
        },
    )


MAX_CHARTS = 5  # accounts whose chart is embedded in the metadata (each PNG is ~15 KB as base64)


def _best_times_metadata(xbot: XbotResource, frame: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    """``best_times``: per account, the hour posteriors as a markdown table and the PNG chart (embedded as
    a data URI, and written to XBOT_HOME/best-times/ACCOUNT.png, as `xbot best-times` writes it)."""
    settings = xbot.runtime.settings
    prior = (settings.learning.prior_alpha, settings.learning.prior_beta)
    accounts = sorted(set(frame.filter(pl.col("family") == "hour")["account_id"].to_list()))
    if not accounts:
        return {"best_times": dg.MetadataValue.md("_no hour arms yet: nothing learned about posting hours_")}
    sections, paths = [], {}
    for n, account in enumerate(accounts):
        rows = frame.filter(pl.col("account_id") == account).to_dicts()
        hours = best_times.hour_posteriors(rows, prior=prior)
        top = ", ".join(f"{h.hour:02d}:00" for h in best_times.best(hours)) or "none tried yet"
        section = f"**{account}**: best hours (UTC) {top}"
        if n < MAX_CHARTS:
            path = settings.home / "best-times" / best_times.png_name(account)
            png = best_times.render_png(hours, path, title=f"{account}: posterior mean reward by hour (UTC)")
            paths[account] = str(path)
            section += "\n\n" + best_times.markdown_image(png, f"best hours for {account}")
        sections.append(section + "\n\n" + best_times.markdown_table(hours))
    out: dict[str, dg.MetadataValue] = {"best_times": dg.MetadataValue.md("\n\n".join(sections))}
    if len(paths) == 1:
        out["best_times_png"] = dg.MetadataValue.path(next(iter(paths.values())))
    elif paths:
        out["best_times_png"] = dg.MetadataValue.json(paths)
    return out


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb"},
    pool="warehouse",
    description="post_rewards and bandit_posteriors in the analysts' DuckDB snapshot (atomic publish). "
    "See docs/HEALTH.md#writer-api-for-other-domains",
)
def learning_snapshot(
    context: dg.AssetExecutionContext,
    xbot: XbotResource,
    post_rewards: pl.DataFrame,
    bandit_posteriors: pl.DataFrame,
) -> None:
    result = publish_tables(
        xbot.runtime.settings.warehouse_path,
        replace={"post_rewards": post_rewards, "bandit_posteriors": bandit_posteriors},
        now=xbot.store.clock.now(),
    )
    context.add_output_metadata(
        {
            "path": dg.MetadataValue.path(str(result.path)),
            "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
            **{f"rows_{k}": dg.MetadataValue.int(v) for k, v in result.tables.items()},
        }
    )


LEARNING_ASSETS = [post_rewards, bandit_posteriors, learning_snapshot]

learning_job = dg.define_asset_job(
    "learning_job",
    selection=dg.AssetSelection.assets(*LEARNING_ASSETS),
    description="Hourly: 24 h rewards, posterior update (+ checks), DuckDB snapshot of both.",
    tags={"dagster/max_runtime": "900"},
)
learning_schedule = dg.ScheduleDefinition(
    name="learning_schedule",
    job=learning_job,
    cron_schedule="50 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
FRESH = timedelta(hours=3)
