"""Health by account: the seed's score and its terms for each account of a fleet, worst first.

A fleet's overall score hides one failing account among hundreds; this frame shows which. Each account
gets the report's terms over the same 24 h (errors and their recovery from the error window, posting
success from the posts whose attempt ended) and the seed's weighted score, with the job term taken
from the fleet (Dagster runs are not per account). ``failing`` names the terms below their thresholds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

import polars as pl

from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.analytics.errors import in_window
from xbot_pipeline.analytics.health import POSTING_FAILED, overall_score

ACCOUNT_HEALTH_SCHEMA = pl.Schema(
    {
        "account_id": pl.String(),
        "health": pl.Int64(),
        "errors_24h": pl.Int64(),
        "error_rate": pl.Float64(),
        "recovered": pl.Int64(),
        "recovery_rate": pl.Float64(),
        "posts_attempted": pl.Int64(),
        "posts_posted": pl.Int64(),
        "posting_success_rate": pl.Float64(),
        "failing": pl.List(pl.String()),
    }
)


def _pct(part: int, whole: int) -> Fraction:
    return Fraction(100 * part, whole) if whole else Fraction(100)


def account_health(
    errors: pl.DataFrame,
    posts: pl.DataFrame,
    account_ids: list[str],
    now: datetime,
    thresholds: HealthThresholds,
    *,
    job_health: float = 100.0,
) -> pl.DataFrame:
    """One row per account of ``account_ids`` (and any account seen in the frames), worst health first.

    ``errors``: error rows (``store.health.ERROR_SCHEMA``); ``posts``: ``read_post_outcomes`` rows.
    """
    window = in_window(errors, now)
    by_errors = {
        row["account_id"]: (int(row["n"]), int(row["rec"]))
        for row in window.filter(pl.col("account_id").is_not_null())
        .group_by("account_id")
        .agg(n=pl.len(), rec=pl.col("recovered").sum())
        .iter_rows(named=True)
    }
    since = now - timedelta(hours=24)
    when = pl.coalesce(pl.col("posted_at"), pl.col("updated_at"))
    unknown_cutoff = now - timedelta(minutes=thresholds.recovery_window_minutes)
    ended = posts.filter((when > since) & (when <= now)).with_columns(
        attempted=(
            (pl.col("status") == "posted")
            | pl.col("status").is_in(POSTING_FAILED)
            | (
                (pl.col("status") == "unknown")
                & (pl.coalesce(pl.col("claimed_at"), pl.col("updated_at")) <= unknown_cutoff)
            )
        ),
        posted=pl.col("status") == "posted",
    )
    by_posts = {
        row["account_id"]: (int(row["a"]), int(row["p"]))
        for row in ended.group_by("account_id")
        .agg(a=pl.col("attempted").sum(), p=pl.col("posted").sum())
        .iter_rows(named=True)
    }
    jobs = Fraction(str(job_health))
    rows = []
    for account in sorted(set(account_ids) | set(by_errors) | set(by_posts)):
        n_err, n_rec = by_errors.get(account, (0, 0))
        attempted, posted = by_posts.get(account, (0, 0))
        error_health = max(Fraction(0), 100 - Fraction(10 * n_err, 24))
        recovery, posting = _pct(n_rec, n_err), _pct(posted, attempted)
        error_rate = round(n_err / 24.0, 2)
        health = overall_score(error_health, recovery, posting, jobs)
        failing = [
            name
            for name, bad in (
                ("health", health < thresholds.min_health),
                ("error_rate", error_rate > thresholds.max_error_rate),
                ("recovery_rate", float(recovery) < thresholds.min_recovery_rate),
                ("posting_success", float(posting) < thresholds.min_posting_success),
            )
            if bad
        ]
        rows.append(
            {
                "account_id": account,
                "health": int(health),
                "errors_24h": n_err,
                "error_rate": error_rate,
                "recovered": n_rec,
                "recovery_rate": round(float(recovery), 2),
                "posts_attempted": attempted,
                "posts_posted": posted,
                "posting_success_rate": round(float(posting), 2),
                "failing": failing,
            }
        )
    frame = pl.DataFrame(rows, schema=ACCOUNT_HEALTH_SCHEMA)
    return frame.sort(["health", "errors_24h", "account_id"], descending=[False, True, False])


def failing_accounts(frame: pl.DataFrame, term: str | None = None) -> list[str]:
    """Accounts whose ``failing`` list is not empty (or contains ``term``), in the frame's order."""
    if frame.is_empty():
        return []
    cond = pl.col("failing").list.len() > 0 if term is None else pl.col("failing").list.contains(term)
    return frame.filter(cond)["account_id"].to_list()
