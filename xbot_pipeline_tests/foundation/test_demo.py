"""`xbot demo` end to end, twice on one home: real Chromium, the stand-in, Dagster runs, the snapshot."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import sqlalchemy as sa

from xbot_pipeline.store.engine import create_store_engine
from xbot_pipeline_tests import dbutil
from xbot_pipeline_tests.conftest import BACKEND

XBOT = [sys.executable, "-c", "from xbot_pipeline.cli import main; main()"]


@pytest.fixture
def demo_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own: the demo migrates it and must not share rows with other tests."""
    if BACKEND == "postgres":
        dbutil.require_postgres()
        url = dbutil.create_pg_database()
        yield url
        dbutil.drop_pg_database(url)
    else:
        yield f"sqlite:///{tmp_path / 'demo.sqlite3'}"


def _run_demo(home: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XBOT_", "DAGSTER_"))}
    env.update(XBOT_HOME=str(home), XBOT_DATABASE_URL=database_url, COLUMNS="200")
    return subprocess.run([*XBOT, "demo"], env=env, capture_output=True, text=True, timeout=240)


def test_demo_posts_recovers_and_reports_twice_without_doubles(tmp_path: Path, demo_database: str) -> None:
    home = tmp_path / "home"
    for n in (1, 2):
        out = _run_demo(home, demo_database)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        assert "publisher: browser" in out.stdout
        assert "posted_no_id 1" in out.stdout and "ids_filled 1" in out.stdout, out.stdout
        assert "health_job: health" in out.stdout and "9/9 checks passed" in out.stdout, out.stdout
        assert "demo done" in out.stdout

        engine = create_store_engine(demo_database)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT status, tweet_id, tweet_ids FROM posts")).all()
        engine.dispose()
        assert len(rows) == 3 * n
        assert all(r.status == "posted" and r.tweet_id for r in rows)

        # the stand-in holds each part exactly once: 1 single + 3 thread parts + 1 reply per demo
        stand_in = sqlite3.connect(home / "sandbox.sqlite3")  # the file `xbot sandbox` uses too
        texts = [t for (t,) in stand_in.execute("SELECT text FROM posts")]
        stand_in.close()
        assert len(texts) == 5 * n and len(set(texts)) == len(texts)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XBOT_", "DAGSTER_"))}
        listed = subprocess.run(  # `xbot sandbox` reads the demo's stand-in state by default
            [*XBOT, "sandbox", "posts", "--limit", "100"],
            env={**env, "XBOT_HOME": str(home), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0 and listed.stdout.count("xbot_demo") == 5 * n, listed.stdout

        con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM posts WHERE tweet_id IS NOT NULL").fetchone()[0] == 3 * n
            assert con.execute("SELECT count(*) FROM system_health_reports").fetchone()[0] == n
        finally:
            con.close()

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        jobs = [r.job_name for r in instance.get_runs()]
    assert jobs.count("posting_job") == 4 and jobs.count("recovery_job") == 2
    # every demo run is a named job of the code location, as the schedules launch them: the runs list
    # shows posting_job, recovery_job and health_job, never `__ephemeral_asset_job__`
    assert jobs.count("health_job") == 2 and set(jobs) == {"posting_job", "recovery_job", "health_job"}
