"""The analysts' DuckDB snapshot: the seed's SQL unmodified, history kept, atomic, never blocked by
an analyst's open connection in another process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
import sqlalchemy as sa

from xbot_pipeline.analytics import service
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.clock import ManualClock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.store import Store
from xbot_pipeline.warehouse import last_published, publish_tables
from xbot_pipeline.warehouse.queries import SEED_QUERIES
from xbot_pipeline.warehouse.snapshot import open_for_write
from xbot_pipeline.warehouse.sync import sync_snapshot
from xbot_pipeline_tests.fixtures.health import add_event

SEED = Path(__file__).resolve().parents[2] / ".." / "shared" / "seed" / "000_f901cfae8ed972cd.txt"


def test_queries_are_the_seed_text_verbatim() -> None:
    if not SEED.exists():
        pytest.skip("seed file not present in this checkout")
    text = SEED.read_text()
    for query in SEED_QUERIES.values():
        assert query in text


@pytest.fixture
def real_clock_store(store: Store) -> Store:
    """The seed's SQL uses NOW(): fixture rows are stamped relative to the real time."""
    store.clock.set(datetime.now(UTC))
    return store


def _populate(store: Store, tracker: EventTracker) -> None:
    clock: ManualClock = store.clock
    now = clock.now()
    for i in range(7):
        add_event(
            store,
            "error_timeout",
            now - timedelta(minutes=30 * i + 1),
            component="browser",
            recovered_after=timedelta(seconds=30),
        )
    for i in range(3):
        add_event(
            store,
            "error_db_write",
            now - timedelta(minutes=17 * i + 2),
            component="store",
            recovered_after=timedelta(seconds=30),
        )
    add_event(store, "error_timeout", now - timedelta(hours=30), component="browser")  # older than 24 h
    t = HealthThresholds()
    clock.advance(seconds=-7200)
    service.record_health_report(tracker, service.compute_health(store, clock.now(), t), t)  # healthy
    clock.advance(seconds=3600)
    for i in range(150):  # a bad hour: 6.25+/h
        add_event(
            store,
            "error_rate_limited",
            clock.now() - timedelta(seconds=i),
            component="posting",
            recovered_after=timedelta(seconds=1),
        )
    service.record_health_report(tracker, service.compute_health(store, clock.now(), t), t)
    clock.advance(seconds=3600)


def _pg_rows(store: Store, sql: str) -> list[tuple]:
    """Run SQL verbatim through the driver with no parameters (so '%' in LIKE stays literal)."""
    with store.connect() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]


def _normalise(name: str, rows: list[tuple]) -> list[tuple]:
    out = []
    for row in rows:
        row = list(row)
        if name == "critical":
            row[0] = json.loads(row[0])  # JSONB adds a space after commas; DuckDB does not
        for i, v in enumerate(row):
            if isinstance(v, datetime):
                row[i] = v.astimezone(UTC).replace(microsecond=0)
        out.append(tuple(row))
    return sorted(out, key=repr) if name == "error_frequency" else out


def test_seed_queries_same_answers_on_snapshot_and_store(
    real_clock_store: Store, tracker: EventTracker, tmp_path: Path
) -> None:
    store = real_clock_store
    _populate(store, tracker)
    path = tmp_path / "warehouse.duckdb"
    sync_snapshot(store, path, store.clock.now())
    con = duckdb.connect(str(path), read_only=True)
    try:
        duck = {name: _normalise(name, con.execute(sql).fetchall()) for name, sql in SEED_QUERIES.items()}
        assert con.execute("SELECT typeof(event_data) FROM system_events LIMIT 1").fetchall()[0][0] == "JSON"
    finally:
        con.close()
    assert dict((c, n) for c, _t, n in [(f"{r[0]}/{r[1]}", 0, r[2]) for r in duck["error_frequency"]]) == {
        "browser/timeout": 7,
        "store/db_write": 3,
        "posting/rate_limited": 150,
    }
    assert len(duck["health"]) == 2 and duck["health"][0][0] != "100"
    assert len(duck["critical"]) == 1 and any("error rate" in i.lower() for i in duck["critical"][0][0])
    if store.dialect == "postgresql":
        pg = {name: _normalise(name, _pg_rows(store, sql)) for name, sql in SEED_QUERIES.items()}
        assert pg == duck


def test_seed_error_frequency_query_on_the_postgres_store(real_clock_store: Store) -> None:
    store = real_clock_store
    if store.dialect != "postgresql":
        pytest.skip("Postgres store only")
    add_event(store, "error_timeout", store.clock.now() - timedelta(minutes=1), component="browser")
    assert _pg_rows(store, SEED_QUERIES["error_frequency"]) == [("browser", "timeout", 1)]


def test_health_reports_history_is_kept_and_tables_replaced(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    for n in range(3):
        publish_tables(
            path,
            replace={"error_frequency": pl.DataFrame({"component": ["a"] * (n + 1)})},
            append={"system_health_reports": pl.DataFrame({"overall_health": [60 + n]})},
        )
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM error_frequency").fetchall()[0][0] == 3
        assert [
            r[0]
            for r in con.execute("SELECT overall_health FROM system_health_reports ORDER BY 1").fetchall()
        ] == [60, 61, 62]
    finally:
        con.close()
    assert last_published(path) is not None


def test_a_failed_write_leaves_the_published_snapshot_untouched(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    publish_tables(path, replace={"t": pl.DataFrame({"x": [1]})})
    with pytest.raises(RuntimeError), open_for_write(path) as con:
        con.execute("DROP TABLE t").fetchall()
        raise RuntimeError("crash mid-write")
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        con.close()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".work")] == []


ANALYST = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    n = con.execute("SELECT count(*) FROM system_events").fetchall()[0][0]
    print(f"ready {n}", flush=True)
    sys.stdin.readline()  # hold the connection open until told
    print(f"still {con.execute('SELECT count(*) FROM system_events').fetchall()[0][0]}", flush=True)
    """
)


def test_analyst_connection_open_in_another_process_never_blocks_a_run(
    store: Store, tracker: EventTracker, tmp_path: Path
) -> None:
    path = tmp_path / "warehouse.duckdb"
    add_event(store, "error_timeout", store.clock.now())
    sync_snapshot(store, path, store.clock.now())
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert analyst.stdout is not None and analyst.stdin is not None
        assert analyst.stdout.readline().strip() == "ready 1"
        for i in range(3):  # the pipeline writes three times while the analyst holds the file open
            add_event(store, "error_timeout", store.clock.now() + timedelta(seconds=i + 1))
            started = time.monotonic()
            sync_snapshot(store, path, store.clock.now())
            # a writer waiting for the analyst would wait until this test ends; 30 s is wide for load
            assert time.monotonic() - started < 30
        # the open connection keeps its consistent (old) view; a new connection sees the new data
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().strip() == "still 1"
        con = duckdb.connect(str(path), read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM system_events").fetchall()[0][0] == 4
        finally:
            con.close()
    finally:
        analyst.kill()
        analyst.wait(timeout=10)


def test_incremental_sync_picks_up_recovery_marks(
    store: Store, tracker: EventTracker, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    tracker.track_error("posting", "timeout", "boom", subject="post:1")
    sync_snapshot(store, path, store.clock.now())
    store.clock.advance(minutes=30)  # beyond the 10 min overlap
    tracker.mark_recovered(subject="post:1")
    with store.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM system_events")).scalar_one() == 1
    sync_snapshot(store, path, store.clock.now())
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT count(*), bool_and(recovered) FROM system_events").fetchall() == [
            (1, True)
        ]
    finally:
        con.close()


def test_an_old_error_recovered_today_is_recovered_in_the_snapshot(
    store: Store, tracker: EventTracker, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    tracker.track_error("posting", "missing_id", "id not captured", subject="post:7")
    sync_snapshot(store, path, store.clock.now())
    store.clock.advance(days=5)  # far beyond the 48 h resync window
    tracker.mark_recovered(subject="post:7")
    sync_snapshot(store, path, store.clock.now())
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("SELECT recovered, recovery_time_ms FROM system_events").fetchall()
    finally:
        con.close()
    assert row == [(True, 5 * 24 * 3600 * 1000)]
