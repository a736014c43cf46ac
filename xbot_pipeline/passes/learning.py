"""Learning passes wired from settings, for the Dagster ops and the CLI: planning, metrics, learning update,
and the hand-off of published posts to learning."""

from __future__ import annotations

import random
from typing import Any

import polars as pl

from xbot_pipeline.learning.config import LearningConfig
from xbot_pipeline.learning.handoff import learning_hook
from xbot_pipeline.learning.metrics import MetricsReport, metrics_pass
from xbot_pipeline.learning.planner import PlanningReport, planning_pass
from xbot_pipeline.learning.rewards import UpdateReport, learning_update
from xbot_pipeline.learning.roster import build_roster
from xbot_pipeline.passes.configs import posting_config_for
from xbot_pipeline.passes.publishers import publisher_for_settings
from xbot_pipeline.runtime import Runtime
from xbot_pipeline.store import learning as q


def plan(
    runtime: Runtime, *, config: LearningConfig | None = None, seed: int | None = None
) -> PlanningReport:
    config = config or runtime.settings.learning
    roster = build_roster(runtime.settings.llm_endpoint, tracker=runtime.tracker, use_llm=config.use_llm)
    try:
        return planning_pass(
            runtime.store,
            runtime.tracker,
            roster,
            config=config,
            posting_config=posting_config_for(runtime),
            rng=random.Random(seed),
            evergreen=runtime.settings.evergreen,
        )
    finally:
        for gen in roster.values():
            close = getattr(gen, "close", None)
            if close is not None:
                close()


def collect_metrics(
    runtime: Runtime, *, config: LearningConfig | None = None, account_ids: list[str] | None = None
) -> MetricsReport:
    publisher_for = publisher_for_settings(runtime.settings, clock=runtime.clock, store=runtime.store)
    return metrics_pass(
        runtime.store,
        runtime.tracker,
        publisher_for,
        config=config or runtime.settings.learning,
        account_ids=account_ids,
    )


def update(runtime: Runtime, *, config: LearningConfig | None = None) -> tuple[int, int, UpdateReport]:
    config = config or runtime.settings.learning
    arms = sorted(build_roster(use_llm=False))
    if config.use_llm and runtime.settings.llm_base_url and runtime.settings.llm_model:
        arms.append("llm")
    return learning_update(runtime.store, config, runtime.clock.now(), generator_arms=arms)


def posting_hooks(runtime: Runtime) -> tuple[Any, ...]:
    """What posting calls with every published post."""
    return (learning_hook(runtime.store),)


def rewards_frame(runtime: Runtime) -> pl.DataFrame:
    rows = q.reward_rows(runtime.store)
    schema = pl.Schema(
        {
            "post_id": pl.Int64(),
            "account_id": pl.String(),
            "generator": pl.String(),
            "hour": pl.Int64(),
            "posted_at": pl.Datetime("us", "UTC"),
            "propensity": pl.Float64(),
            "horizon": pl.String(),
            "impressions": pl.Int64(),
            "engagements": pl.Int64(),
            "engagement_rate": pl.Float64(),
            "reward": pl.Float64(),
            "success": pl.Boolean(),
            "measured_at": pl.Datetime("us", "UTC"),
            "applied_at": pl.Datetime("us", "UTC"),
        }
    )
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema, orient="row")


def posteriors_frame(runtime: Runtime) -> pl.DataFrame:
    rows = q.all_arms(runtime.store)
    schema = pl.Schema(
        {
            "account_id": pl.String(),
            "family": pl.String(),
            "arm": pl.String(),
            "alpha": pl.Float64(),
            "beta": pl.Float64(),
            "mean": pl.Float64(),
            "std": pl.Float64(),
            "n_eff": pl.Float64(),
            "observations": pl.Int64(),
            "updated_at": pl.Datetime("us", "UTC"),
        }
    )
    out = []
    for r in rows:
        a, b = float(r["alpha"]), float(r["beta"])
        var = a * b / ((a + b) ** 2 * (a + b + 1)) if a > 0 and b > 0 else float("nan")
        out.append({**{k: r.get(k) for k in schema}, "mean": a / (a + b) if a + b else None, "std": var**0.5})
    return pl.DataFrame(out, schema=schema, orient="row")


def posteriors_valid(frame: pl.DataFrame) -> tuple[bool, int]:
    """(all alpha, beta > 0 and finite, number of bad arms)."""
    if frame.is_empty():
        return True, 0
    bad = frame.filter(
        ~(pl.col("alpha") > 0)
        | ~(pl.col("beta") > 0)
        | ~pl.col("alpha").is_finite()
        | ~pl.col("beta").is_finite()
    )
    return bad.is_empty(), bad.height
