"""Error frequency and recovery metrics: pure functions over a frame of error rows and a clock time.

Input frames have the columns of ``store.health.ERROR_SCHEMA``; only real errors (``is_error`` rows) are
ever passed in, so alert and report rows cannot inflate the counts (a seed defect).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

WINDOW = timedelta(hours=24)
TREND_HOURS = 24

FREQUENCY_SCHEMA = pl.Schema(
    {
        "component": pl.String(),
        "error_type": pl.String(),
        "count": pl.Int64(),
        "first_seen": pl.Datetime("us", "UTC"),
        "last_seen": pl.Datetime("us", "UTC"),
        "critical": pl.Boolean(),
        "accounts": pl.Int64(),
        "hourly_trend": pl.List(pl.Int64),
    }
)
RECOVERY_SCHEMA = pl.Schema(
    {
        "component": pl.String(),
        "error_type": pl.String(),
        "errors": pl.Int64(),
        "recovered": pl.Int64(),
        "recovery_rate": pl.Float64(),
        "median_recovery_s": pl.Float64(),
        "p90_recovery_s": pl.Float64(),
    }
)


def in_window(errors: pl.DataFrame, now: datetime, window: timedelta = WINDOW) -> pl.DataFrame:
    return errors.filter((pl.col("created_at") > now - window) & (pl.col("created_at") <= now))


def error_frequency(errors: pl.DataFrame, now: datetime, window: timedelta = WINDOW) -> pl.DataFrame:
    """Errors of the window by component and error type: count, first/last seen, critical, hourly trend.

    ``hourly_trend`` has one count per hour of the window, oldest first (index 23 = the last hour).
    """
    frame = in_window(errors, now, window)
    hours = int(window.total_seconds() // 3600) or 1
    if frame.is_empty():
        return pl.DataFrame(schema=FREQUENCY_SCHEMA)
    age_hours = ((pl.lit(now) - pl.col("created_at")).dt.total_microseconds() // 3_600_000_000).cast(pl.Int64)
    frame = frame.with_columns(bucket=(hours - 1 - age_hours).clip(0, hours - 1))
    hour_cols = [f"_h{h}" for h in range(hours)]
    out = (
        frame.group_by("component", "error_type")
        .agg(
            *[(pl.col("bucket") == h).sum().alias(name) for h, name in enumerate(hour_cols)],
            count=pl.len().cast(pl.Int64),
            first_seen=pl.col("created_at").min(),
            last_seen=pl.col("created_at").max(),
            critical=(pl.col("severity") == "critical").any(),
            accounts=pl.col("account_id").drop_nulls().n_unique().cast(pl.Int64),
        )
        .with_columns(hourly_trend=pl.concat_list(hour_cols).cast(pl.List(pl.Int64)))  # one pass, dense
    )
    return out.select(list(FREQUENCY_SCHEMA)).sort(
        ["count", "component", "error_type"], descending=[True, False, False]
    )


def recovery_metrics(errors: pl.DataFrame, now: datetime, window: timedelta = WINDOW) -> pl.DataFrame:
    """Per component and error type: recovered share (%) and median / p90 time to recover (seconds)."""
    frame = in_window(errors, now, window)
    if frame.is_empty():
        return pl.DataFrame(schema=RECOVERY_SCHEMA)
    ttr = pl.when(pl.col("recovered")).then(pl.col("recovery_time_ms") / 1000.0)
    out = frame.group_by("component", "error_type").agg(
        errors=pl.len().cast(pl.Int64),
        recovered=pl.col("recovered").sum().cast(pl.Int64),
        median_recovery_s=ttr.median(),
        p90_recovery_s=ttr.quantile(0.9, interpolation="linear"),
    )
    out = out.with_columns(recovery_rate=(pl.col("recovered") * 100.0 / pl.col("errors")).round(2))
    return out.select(list(RECOVERY_SCHEMA)).sort(
        ["errors", "component", "error_type"], descending=[True, False, False]
    )


def overall_recovery(
    errors: pl.DataFrame, now: datetime, window: timedelta = WINDOW
) -> dict[str, float | int | None]:
    """Totals over the window; ``rate`` is 100 when there is no error (the seed's "no data" rule)."""
    frame = in_window(errors, now, window)
    total = frame.height
    recovered = int(frame["recovered"].sum()) if total else 0
    times = frame.filter(pl.col("recovered"))["recovery_time_ms"].drop_nulls() / 1000.0
    return {
        "errors": total,
        "recovered": recovered,
        "rate": round(recovered * 100.0 / total, 2) if total else 100.0,
        "median_recovery_s": float(times.median()) if times.len() else None,  # type: ignore[arg-type]  # polars types max()/min()/median() as any literal; this column is numeric
        "p90_recovery_s": float(times.quantile(0.9, "linear")) if times.len() else None,  # type: ignore[arg-type]  # polars types max()/min()/median() as any literal; this column is numeric
    }
