#!/usr/bin/env python
# ruff: noqa: E501  (long SQL strings and one-line report prints read better unwrapped)
"""Benchmark the health assets at fleet scale (a script, not a test).

Generates a synthetic 30-day ``system_events`` (errors, reports, job runs, alerts, posting events; a
fixed number of rows in the last 24 h and the rest as older history) on SQLite and/or Postgres, then
measures, as medians of ``--repeat`` runs:

- ``assets``: the three assets' domain functions end to end, reads included, exactly as the assets call
  them (error_frequency, recovery_metrics, system_health_report);
- ``duckdb_sql``: the same three results as hand-written DuckDB SQL over a Parquet copy of the same table
  (the copy is made once, untimed: DuckDB 2.0 cannot read SQLite/Postgres here without a network
  extension download);
- ``polars_compute`` vs ``duckdb_compute``: the computations alone: both get the same in-memory 24 h
  error window, compute error frequency and recovery metrics and return the same two frames (asserted
  equal before timing);
- ``seed_sql_pg``: the seed's three monitoring queries on Postgres;
- cost vs table size: ``--sizes 1000000,5000000`` runs everything per size with the same 24 h window.

    python scripts/bench_health.py                              # quick: 200k rows, SQLite + Postgres
    python scripts/bench_health.py --sizes 1000000,5000000      # fleet scale (several minutes)
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from xbot_pipeline.analytics import errors, service
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.analytics.window import error_window_cached
from xbot_pipeline.clock import ManualClock
from xbot_pipeline.store import Store
from xbot_pipeline.store.engine import create_store_engine
from xbot_pipeline.store.migrate import upgrade
from xbot_pipeline.warehouse.sync import sync_snapshot

COMPONENTS = ["posting", "browser", "publisher", "recovery", "learning", "store", "metrics", "scheduler"]
ERROR_TYPES = [
    "timeout",
    "composer_not_found",
    "rate_limited",
    "automation_block",
    "session_expired",
    "network",
    "db_write",
    "null_tweet_id",
    "duplicate",
    "page_changed",
    "consent_wall",
    "unknown",
]
INFO_TYPES = ["post_published", "job_run_succeeded", "metrics_collected", "alert_sent", "breaker_closed"]
COLUMNS = [
    "event_uid",
    "event_type",
    "event_data",
    "severity",
    "created_at",
    "event_component",
    "event_error_type",
    "fingerprint",
    "account_id",
    "subject",
    "is_error",
    "recovered",
    "recovered_at",
    "recovery_time_ms",
]

SEED_SQL = [
    """SELECT 
  event_data->>'component' as component,
  event_data->>'error_type' as error_type,
  COUNT(*) as count
FROM system_events
WHERE event_type LIKE 'error_%'
  AND created_at > NOW() - INTERVAL '24 hours'
GROUP BY component, error_type
ORDER BY count DESC;""",
    """SELECT 
  event_data->>'overallHealth' as health_score,
  event_data->>'errorRate' as error_rate,
  event_data->>'recoveryRate' as recovery_rate,
  created_at
FROM system_events
WHERE event_type = 'system_health_report'
ORDER BY created_at DESC
LIMIT 10;""",
    """SELECT 
  event_data->>'criticalIssues' as issues,
  created_at
FROM system_events
WHERE event_type = 'system_health_report'
  AND event_data->>'criticalIssues' != '[]'
ORDER BY created_at DESC;""",
]


def synth(rows: int, window_rows: int, now: datetime, seed: int = 7) -> pl.DataFrame:
    """``window_rows`` events in the last 24 h, the rest spread over the 29 days before."""
    rng = np.random.default_rng(seed)
    hist = rows - window_rows
    offsets = np.concatenate(
        [rng.uniform(1, 86_399, window_rows), rng.uniform(86_401, 30 * 86_400, hist)]
    )  # seconds before now
    order = np.argsort(-offsets)  # oldest first, as ids grow with time
    offsets = offsets[order]
    kind = rng.random(rows)
    is_error = kind < 0.35
    is_report = (kind >= 0.35) & (kind < 0.352)
    comp_i = rng.integers(0, len(COMPONENTS), rows)
    type_i = np.minimum(rng.zipf(1.6, rows) - 1, len(ERROR_TYPES) - 1)
    info_i = rng.integers(0, len(INFO_TYPES), rows)
    component = np.array(COMPONENTS)[comp_i]
    etype = np.array(ERROR_TYPES)[type_i]
    critical = rng.random(rows) < 0.01
    recovered = is_error & (rng.random(rows) < 0.7)
    ttr_ms = rng.exponential(120_000, rows).astype(np.int64)
    created = pl.Series([now]).dt.cast_time_unit("us")[0]
    health = rng.integers(40, 100, rows)
    frame = pl.DataFrame(
        {
            "n": np.arange(rows),
            "offset_us": (offsets * 1e6).astype(np.int64),
            "is_error": is_error,
            "is_report": is_report,
            "component": component,
            "etype": etype,
            "info": np.array(INFO_TYPES)[info_i],
            "critical": critical,
            "recovered": recovered,
            "ttr": ttr_ms,
            "acct": rng.integers(0, 50, rows),
            "msg": rng.integers(0, 25, rows),
            "health": health,
        }
    )
    ts = pl.lit(created) - pl.duration(microseconds=pl.col("offset_us"))
    return frame.select(
        event_uid=pl.format("b{}", pl.col("n")),
        event_type=pl.when("is_error")
        .then(pl.format("error_{}", "etype"))
        .when("is_report")
        .then(pl.lit("system_health_report"))
        .otherwise(pl.col("info")),
        event_data=pl.when("is_error")
        .then(
            pl.concat_str(
                pl.lit('{"component":"'),
                "component",
                pl.lit('","error_type":"'),
                "etype",
                pl.lit('","error_message":"failure '),
                pl.col("msg").cast(pl.String),
                pl.lit('"}'),
            )
        )
        .when("is_report")
        .then(
            pl.concat_str(
                pl.lit('{"overallHealth":'),
                pl.col("health").cast(pl.String),
                pl.lit(',"errorRate":1.5,"recoveryRate":70.0,"criticalIssues":'),
                pl.when(pl.col("health") < 70).then(pl.lit('["Low recovery rate"]')).otherwise(pl.lit("[]")),
                pl.lit("}"),
            )
        )
        .otherwise(pl.lit('{"ok":true}')),
        severity=pl.when(pl.col("is_error") & pl.col("critical"))
        .then(pl.lit("critical"))
        .when("is_error")
        .then(pl.lit("error"))
        .otherwise(pl.lit("info")),
        created_at=ts,
        event_component=pl.when("is_error").then("component"),
        event_error_type=pl.when("is_error").then("etype"),
        fingerprint=pl.when("is_error").then(
            pl.format("{}{}{}", "component", "etype", "msg").hash().cast(pl.String).str.slice(0, 16)
        ),
        account_id=pl.format("acct{}", "acct"),
        subject=pl.format("post:{}", "n"),
        is_error="is_error",
        recovered="recovered",
        recovered_at=pl.when("recovered").then(ts + pl.duration(milliseconds=pl.col("ttr"))),
        recovery_time_ms=pl.when("recovered").then("ttr"),
    )


def load_sqlite(url: str, frame: pl.DataFrame) -> None:
    engine = create_store_engine(url)
    upgrade(engine)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        idx = [
            r[0]
            for r in cur.execute(
                "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='system_events' AND sql IS NOT NULL"
            )
        ]
        names = [
            r[0]
            for r in cur.execute(
                "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='system_events' AND sql IS NOT NULL"
            )
        ]
        for name in names:
            cur.execute(f'DROP INDEX "{name}"')
        out = frame.with_columns(
            pl.col("created_at").dt.replace_time_zone(None).dt.strftime("%Y-%m-%d %H:%M:%S.%6f"),
            pl.col("recovered_at").dt.replace_time_zone(None).dt.strftime("%Y-%m-%d %H:%M:%S.%6f"),
            pl.col("is_error").cast(pl.Int8),
            pl.col("recovered").cast(pl.Int8),
        ).select(COLUMNS)
        sql = f"INSERT INTO system_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        for chunk in out.iter_slices(200_000):
            cur.executemany(sql, chunk.rows())
        for stmt in idx:
            cur.execute(stmt)
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def load_postgres(url: str, frame: pl.DataFrame) -> None:
    engine = create_store_engine(url)
    upgrade(engine)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        out = frame.select(COLUMNS)
        with cur.copy(f"COPY system_events ({', '.join(COLUMNS)}) FROM STDIN (FORMAT csv)") as copy:
            for chunk in out.iter_slices(250_000):
                buf = io.BytesIO()
                chunk.write_csv(buf, include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.6f+00:00")
                copy.write(buf.getvalue())
        raw.commit()
    finally:
        raw.close()
    # what autovacuum does to a long-lived table (insert threshold, PG 13+): statistics and the
    # visibility map, without which the planner will not use index-only scans on a freshly COPYed table
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE system_events")
    engine.dispose()


def assets_run(store: Store, now: datetime, cache: Path | None = None) -> tuple:
    """What the three assets do, reads included: one 24 h window read feeds error_frequency and
    recovery_metrics (one multi-asset), then the health report reads posts and job-run counts."""
    window = service.error_window(store, now) if cache is None else error_window_cached(store, now, cache)
    freq = errors.error_frequency(window, now)
    rec = errors.recovery_metrics(window, now)
    totals = (int(rec["errors"].sum()), int(rec["recovered"].sum()))
    report = service.compute_health(store, now, HealthThresholds(), totals=totals)
    return freq, rec, report


DUCK_FREQ = """
SELECT event_component AS component, event_error_type AS error_type, count(*) AS count, min(created_at) AS first_seen, max(created_at) AS last_seen,
       bool_or(severity = 'critical') AS critical, count(DISTINCT account_id) AS accounts,
       list(bucket ORDER BY bucket) AS buckets
FROM (SELECT *, 23 - floor(epoch_us($now::TIMESTAMPTZ - created_at) / 3600000000)::INT AS bucket
      FROM {src} WHERE is_error AND created_at > $now::TIMESTAMPTZ - INTERVAL 24 HOURS AND created_at <= $now::TIMESTAMPTZ)
GROUP BY 1, 2 ORDER BY count DESC
"""
DUCK_REC = """
SELECT event_component AS component, event_error_type AS error_type, count(*) AS errors, count(*) FILTER (recovered) AS recovered,
       round(100.0 * count(*) FILTER (recovered) / count(*), 2) AS recovery_rate,
       median(recovery_time_ms / 1000.0) FILTER (recovered) AS median_recovery_s,
       quantile_cont(recovery_time_ms / 1000.0, 0.9) FILTER (recovered) AS p90_recovery_s
FROM {src} WHERE is_error AND created_at > $now::TIMESTAMPTZ - INTERVAL 24 HOURS AND created_at <= $now::TIMESTAMPTZ
GROUP BY 1, 2
"""
DUCK_JOBS = """
SELECT count(*) FILTER (event_type = 'job_run_succeeded'), count(*) FILTER (event_type = 'job_run_failed')
FROM {src} WHERE created_at >= $now::TIMESTAMPTZ - INTERVAL 24 HOURS AND created_at <= $now::TIMESTAMPTZ
"""


# The compute comparison: both engines get the same in-memory input (the 24 h error window as the assets
# read it, registered in DuckDB zero-copy), do the same work (window filter, hourly buckets, the two
# group-bys) and return the same two Polars frames; ``compute_outputs_equal`` asserts they are equal.
HOURS = int(errors.WINDOW.total_seconds() // 3600)
DUCK_COMPUTE_FREQ = f"""
SELECT component, error_type, count(*) AS count, min(created_at) AS first_seen, max(created_at) AS last_seen,
       bool_or(severity = 'critical') AS critical, count(DISTINCT account_id) AS accounts,
       list_value({", ".join(f"count_if(bucket = {h})" for h in range(HOURS))}) AS hourly_trend
FROM (SELECT *, greatest(0, least({HOURS - 1}, {HOURS - 1} - (epoch_us($now::TIMESTAMPTZ) - epoch_us(created_at)) // 3600000000)) AS bucket
      FROM win WHERE created_at > $now::TIMESTAMPTZ - INTERVAL 24 HOURS AND created_at <= $now::TIMESTAMPTZ)
GROUP BY 1, 2 ORDER BY count DESC, component, error_type
"""
DUCK_COMPUTE_REC = """
SELECT component, error_type, count(*) AS errors, count(*) FILTER (recovered) AS recovered,
       round_even(count(*) FILTER (recovered) * 100.0::DOUBLE / count(*), 2) AS recovery_rate,  -- Polars rounds half to even
       median(recovery_time_ms / 1000.0::DOUBLE) FILTER (recovered) AS median_recovery_s,
       quantile_cont(recovery_time_ms / 1000.0::DOUBLE, 0.9) FILTER (recovered) AS p90_recovery_s
FROM win WHERE created_at > $now::TIMESTAMPTZ - INTERVAL 24 HOURS AND created_at <= $now::TIMESTAMPTZ
GROUP BY 1, 2 ORDER BY errors DESC, component, error_type
"""


def polars_compute(window: pl.DataFrame, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    return errors.error_frequency(window, now), errors.recovery_metrics(window, now)


def duck_compute(con: duckdb.DuckDBPyConnection, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The same two frames from DuckDB over the registered ``win`` (the same window frame Polars gets)."""
    params = {"now": now}
    freq = pl.from_arrow(con.sql(DUCK_COMPUTE_FREQ, params=params).to_arrow_table()).cast(
        errors.FREQUENCY_SCHEMA
    )
    rec = pl.from_arrow(con.sql(DUCK_COMPUTE_REC, params=params).to_arrow_table()).cast(
        errors.RECOVERY_SCHEMA
    )
    return freq, rec


def compute_outputs_equal(ours: tuple[pl.DataFrame, ...], theirs: tuple[pl.DataFrame, ...]) -> None:
    """Raise unless both engines returned the same frames (floats to 1e-9 relative: summation order)."""
    from polars.testing import assert_frame_equal

    for a, b in zip(ours, theirs, strict=True):
        assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9)


def duck_run(con: duckdb.DuckDBPyConnection, src: str, now: datetime) -> tuple:
    params = {"now": now}
    freq = con.execute(DUCK_FREQ.format(src=src), params).fetchall()
    rec = con.execute(DUCK_REC.format(src=src), params).fetchall()
    jobs = con.execute(DUCK_JOBS.format(src=src), params).fetchall()
    return freq, rec, jobs


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def paired_median_times(a: Callable[[], object], b: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` run alternately, so both see the same machine load (a shared VM)."""
    times_a, times_b = [], []
    for _ in range(repeat):
        for fn, times in ((a, times_a), (b, times_b)):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    return statistics.median(times_a), statistics.median(times_b)


def bench_snapshot(store: Store, now: datetime, workdir: Path, repeat: int) -> dict:
    """First publish (whole table) once, then routine publishes (median)."""
    path = workdir / f"warehouse_{uuid.uuid4().hex[:6]}.duckdb"
    started = time.perf_counter()
    sync_snapshot(store, path, now)
    first = time.perf_counter() - started
    routine = median_time(lambda: sync_snapshot(store, path, now), repeat)
    size_mb = path.stat().st_size / 1e6
    path.unlink()
    return {"snapshot_first_s": first, "snapshot_routine_s": routine, "snapshot_mb": size_mb}


def bench_backend(
    backend: str,
    rows: int,
    window_rows: int,
    repeat: int,
    workdir: Path,
    pg_admin: str,
    snapshot: bool = False,
) -> dict:
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    frame = synth(rows, window_rows, now)
    gen_s = time.perf_counter() - t0
    url = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'bench_{rows}.sqlite3'}"
        t0 = time.perf_counter()
        load_sqlite(url, frame)
    else:
        from xbot_pipeline_tests import dbutil

        os.environ.setdefault("XBOT_TEST_PG_ADMIN_URL", pg_admin)
        url = dbutil.create_pg_database("xbot_bench")
        t0 = time.perf_counter()
        load_postgres(url, frame)
    load_s = time.perf_counter() - t0
    store = Store(engine=create_store_engine(url), clock=ManualClock(now))
    out: dict = {
        "backend": backend,
        "rows": rows,
        "window_rows": window_rows,
        "generate_s": gen_s,
        "load_s": load_s,
    }
    try:
        assets_run(store, now)  # warm caches once
        out["assets_s"] = median_time(lambda: assets_run(store, now), repeat)

        # routine 30-minute run: the cache was filled by the previous run, 30 minutes earlier
        def routine() -> None:
            cache = workdir / f"cache_{backend}_{rows}.parquet"
            for leftover in (cache, cache.with_suffix(".json")):
                leftover.unlink(missing_ok=True)
            error_window_cached(store, now - timedelta(minutes=30), cache)
            started = time.perf_counter()
            assets_run(store, now, cache)
            routine_times.append(time.perf_counter() - started)

        routine_times: list[float] = []
        for _ in range(repeat):
            routine()
        out["assets_routine_s"] = statistics.median(routine_times)
        window = service.error_window(store, now)
        out["read_window_s"] = median_time(lambda: service.error_window(store, now), repeat)
        parquet = workdir / f"events_{backend}_{rows}.parquet"
        frame.write_parquet(parquet)
        con = duckdb.connect()
        src = f"read_parquet('{parquet}')"
        duck_run(con, src, now)
        out["duckdb_sql_s"] = median_time(lambda: duck_run(con, src, now), repeat)
        con.register("win", window)  # the same input for both engines: the 24 h error window
        compute_outputs_equal(polars_compute(window, now), duck_compute(con, now))  # same outputs
        out["polars_compute_s"], out["duckdb_compute_s"] = paired_median_times(
            lambda: polars_compute(window, now), lambda: duck_compute(con, now), repeat
        )
        # same answers: counts per (component, error_type)
        ours = {
            (r["component"], r["error_type"]): r["count"]
            for r in errors.error_frequency(window, now).iter_rows(named=True)
        }
        theirs = {(r[0], r[1]): r[2] for r in duck_run(con, src, now)[0]}
        out["same_answers"] = ours == theirs
        con.close()
        if snapshot:
            out.update(bench_snapshot(store, now, workdir, repeat))
        if backend == "postgres":
            with store.connect() as conn:

                def seed() -> None:
                    for q in SEED_SQL:
                        cur = conn.connection.dbapi_connection.cursor()  # no parameters: '%' stays literal
                        cur.execute(q)
                        cur.fetchall()

                seed()
                out["seed_sql_pg_s"] = median_time(seed, repeat)
    finally:
        store.dispose()
        if backend == "postgres":
            from xbot_pipeline_tests import dbutil

            dbutil.drop_pg_database(url)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200000", help="comma-separated table sizes (rows)")
    parser.add_argument(
        "--window-rows", type=int, default=None, help="rows in the last 24 h (default: min(150000, size/5))"
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--snapshot", action="store_true", help="also time the DuckDB snapshot publish")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    window = args.window_rows or min(150_000, min(sizes) // 5)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_health_") as tmp:
        for backend in args.backends.split(","):
            for size in sizes:
                r = bench_backend(
                    backend, size, window, args.repeat, Path(tmp), args.pg_admin_url, args.snapshot
                )
                results.append(r)
                print(
                    f"{backend:8s} rows={size:>9,d} window={window:,d} load={r['load_s']:.1f}s | "
                    f"assets(full read)={r['assets_s'] * 1000:.0f}ms (read 24h window {r['read_window_s'] * 1000:.0f}ms) | "
                    f"assets(routine, cached window)={r['assets_routine_s'] * 1000:.0f}ms "
                    f"ratio={r['assets_routine_s'] / r['duckdb_sql_s']:.2f}x | "
                    f"duckdb_sql(parquet)={r['duckdb_sql_s'] * 1000:.0f}ms ratio={r['assets_s'] / r['duckdb_sql_s']:.2f}x | "
                    f"polars_compute={r['polars_compute_s'] * 1000:.1f}ms duckdb_compute={r['duckdb_compute_s'] * 1000:.1f}ms "
                    f"ratio={r['polars_compute_s'] / r['duckdb_compute_s']:.2f}x (same input, outputs asserted equal) | same_answers={r['same_answers']}"
                    + (f" | seed_sql_pg={r['seed_sql_pg_s'] * 1000:.0f}ms" if "seed_sql_pg_s" in r else "")
                    + (
                        f" | snapshot first={r['snapshot_first_s']:.1f}s routine={r['snapshot_routine_s'] * 1000:.0f}ms "
                        f"({r['snapshot_mb']:.0f} MB)"
                        if "snapshot_first_s" in r
                        else ""
                    ),
                    flush=True,
                )
    by_backend: dict[str, list[dict]] = {}
    for r in results:
        by_backend.setdefault(r["backend"], []).append(r)
    for backend, rs in by_backend.items():
        if len(rs) > 1:
            base = rs[0]
            for r in rs[1:]:
                print(
                    f"{backend}: table x{r['rows'] / base['rows']:.1f} ({base['rows']:,d} -> {r['rows']:,d}), same 24 h window: "
                    f"assets(full) x{r['assets_s'] / base['assets_s']:.2f}, "
                    f"assets(routine) x{r['assets_routine_s'] / base['assets_routine_s']:.2f}, DuckDB over the full parquet x{r['duckdb_sql_s'] / base['duckdb_sql_s']:.2f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
