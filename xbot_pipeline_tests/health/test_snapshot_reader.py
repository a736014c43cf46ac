"""Reading the snapshot: `open_snapshot` sees the newest publish even while this process holds an older
connection (a plain second `duckdb.connect` does not), and the seed's third query answers the same text
on the store and on the snapshot once its JSON is in canonical form."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from xbot_pipeline.store import Store
from xbot_pipeline.warehouse import last_published, open_snapshot, publish_tables
from xbot_pipeline.warehouse.queries import SEED_QUERIES, canonical_json, seed_rows
from xbot_pipeline.warehouse.sync import sync_snapshot
from xbot_pipeline_tests.fixtures.health import add_event


def _count(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT count(*) FROM t").fetchall()[0][0])


def test_open_snapshot_sees_the_newest_publish_while_an_old_connection_is_open(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    first = datetime(2026, 1, 1, tzinfo=UTC)
    publish_tables(path, replace={"t": pl.DataFrame({"x": [1]})}, now=first)
    old = duckdb.connect(str(path), read_only=True)  # an analyst's notebook keeps this one open
    opened: list[duckdb.DuckDBPyConnection] = [old]
    try:
        assert _count(old) == 1
        publish_tables(path, replace={"t": pl.DataFrame({"x": [1, 2]})}, now=first + timedelta(hours=1))
        # DuckDB's per-path instance cache: a new connect in this process still reads the old file
        stale = duckdb.connect(str(path), read_only=True)
        opened.append(stale)
        assert _count(stale) == 1
        with pytest.raises(duckdb.ConnectionException, match="different configuration"):
            duckdb.connect(str(path), read_only=True, config={"threads": 1})
        fresh = open_snapshot(path)
        opened.append(fresh)
        assert _count(fresh) == 2
        publish_tables(path, replace={"t": pl.DataFrame({"x": [1, 2, 3]})}, now=first + timedelta(hours=2))
        newest = open_snapshot(path)
        opened.append(newest)
        assert (_count(newest), _count(fresh), _count(old)) == (3, 2, 1)  # each keeps its own view
        assert last_published(path) == first + timedelta(hours=2)
        assert newest.execute("SELECT count(*) FROM _snapshot_meta").fetchall() == [(1,)]
    finally:
        for con in opened:
            con.close()
    with pytest.raises(FileNotFoundError):
        open_snapshot(tmp_path / "never-published.duckdb")


def _store_rows(store: Store, sql: str) -> list[tuple]:
    """The seed's SQL verbatim through the store's driver (no parameters: '%' stays literal)."""
    with store.connect() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]


def test_third_seed_query_gives_the_same_text_on_the_store_and_the_snapshot(
    store: Store, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    store.clock.set(now)
    issues = [
        ["Error rate 6.25/h (> 5/h)", 'posting "stalled": 0 posts in 30 min'],
        ["Health — 41/100 {low}", "naïve: 1, 2"],
    ]
    for i, critical in enumerate([*issues, []]):
        add_event(
            store,
            "system_health_report",
            now - timedelta(minutes=10 * (3 - i)),
            severity="info",
            component="health",
            data={"overallHealth": 50 + i, "criticalIssues": critical},
        )
    path = tmp_path / "warehouse.duckdb"
    sync_snapshot(store, path, now)
    con = open_snapshot(path)
    try:
        raw_snapshot = [r[0] for r in con.execute(SEED_QUERIES["critical"]).fetchall()]
        snapshot = [r[0] for r in seed_rows(con, "critical")]
    finally:
        con.close()
    raw_store = [r[0] for r in _store_rows(store, SEED_QUERIES["critical"])]
    store_text = [canonical_json(t) for t in raw_store]

    assert snapshot == store_text  # identical text once canonical, on either store
    assert snapshot == [canonical_json(json.dumps(c)) for c in reversed(issues)]  # newest first, [] excluded
    assert raw_snapshot == snapshot  # DuckDB already prints compact JSON: canonical is its own form
    if store.dialect == "postgresql":  # JSONB prints ", " between elements: the documented difference
        assert raw_store == [t.replace('","', '", "') for t in snapshot]
    else:  # SQLite prints compact JSON but keeps the stored \uXXXX escapes of non-ASCII characters
        assert raw_store == [json.dumps(json.loads(t), separators=(",", ":")) for t in snapshot]
        assert raw_store != snapshot
