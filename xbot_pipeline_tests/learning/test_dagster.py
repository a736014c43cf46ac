"""planning_job, posting_job's hand-off, metrics_job and the learning assets on a real Dagster instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pytest
import sqlalchemy as sa

from xbot_pipeline.defs.learning.assets import LEARNING_ASSETS, learning_job, learning_schedule
from xbot_pipeline.defs.learning.jobs import metrics_job, metrics_schedule, planning_job, planning_schedule
from xbot_pipeline.defs.posting.jobs import posting_job
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.learning import reward_rows
from xbot_pipeline.store.metrics import metrics_of
from xbot_pipeline.store.posts import get_post, list_posts
from xbot_pipeline_tests.posting.test_dagster import metadata


@pytest.fixture
def job_env(monkeypatch, sandbox, xbot_home, database_url):
    monkeypatch.setenv("XBOT_HOME", str(xbot_home))
    monkeypatch.setenv("XBOT_X_API_URL", sandbox.api_url)
    monkeypatch.setenv("XBOT_X_API_TOKEN", sandbox.account().token)
    monkeypatch.setenv("XBOT_PUBLISHER", "api")
    for name in ("XBOT_LLM_BASE_URL", "XBOT_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return {"xbot": XbotResource(database_url=database_url, home=str(xbot_home))}


def test_schedules_are_on() -> None:
    expected = {
        planning_schedule: "5 * * * *",
        metrics_schedule: "*/20 * * * *",
        learning_schedule: "50 * * * *",
    }
    for schedule, cron in expected.items():
        assert schedule.cron_schedule == cron and schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert (planning_job.name, metrics_job.name, learning_job.name) == (
        "planning_job",
        "metrics_job",
        "learning_job",
    )


def test_learning_loop_through_dagster(store, clock, sandbox, job_env, xbot_home) -> None:
    clock.set(datetime.now(UTC))
    ensure_account(store, DEMO_HANDLE, publisher="api")
    post = enqueue(
        store,
        DEMO_HANDLE,
        "single",
        "My sleep got better when I kept one wake time. Yours?",
        generator="storyteller",
        bandit_arm="storyteller",
        timing_arm="hour:10",
        propensity=0.3,
    )
    with dg.instance_for_test() as instance:
        result = planning_job.execute_in_process(instance=instance, resources=job_env)
        assert result.success
        meta = metadata(result, "plan_posts")
        assert meta["queued"] >= 6 and meta["rejections"] >= 0 and "queued post" in meta["plan"]
        assert len(list_posts(store, DEMO_HANDLE, ("queued",))) == 1 + meta["queued"]

        result = posting_job.execute_in_process(instance=instance, resources=job_env)
        assert result.success and metadata(result, "post_due_items")["posted"] == 1
        assert [r["post_id"] for r in reward_rows(store)] == [post["id"]]  # handed to learning

        posted_at = get_post(store, post["id"])["posted_at"] - timedelta(hours=24, minutes=1)
        with store.begin() as conn:  # pretend it went out a day ago (the stand-in keeps its own time)
            conn.execute(
                sa.text("UPDATE posts SET posted_at = :at WHERE id = :id"),
                {"at": posted_at.replace(tzinfo=None) if store.is_sqlite else posted_at, "id": post["id"]},
            )
        result = metrics_job.execute_in_process(instance=instance, resources=job_env)
        assert result.success and metadata(result, "collect_post_metrics")["collected_24h"] == 1
        assert [m["horizon"] for m in metrics_of(store, post["id"])] == ["24h"]
        result = metrics_job.execute_in_process(instance=instance, resources=job_env)
        assert metadata(result, "collect_post_metrics")["collected"] == 0  # once

        result = dg.materialize(LEARNING_ASSETS, instance=instance, resources=job_env)
        assert result.success
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == {"posteriors_valid": True, "posteriors_fresh": True}
        mats = {
            m.asset_key.to_user_string(): m.materialization.metadata
            for m in result.get_asset_materialization_events()
        }
        assert mats["post_rewards"]["measured"].value == 1
        assert mats["bandit_posteriors"]["rewards_applied"].value == 1
        assert "Generators" in mats["bandit_posteriors"]["report"].value
    with duckdb.connect(str(xbot_home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM post_rewards WHERE reward IS NOT NULL").fetchone()[0] == 1
        arms = con.execute("SELECT count(*), min(alpha), min(beta) FROM bandit_posteriors").fetchone()
        assert arms[0] >= 24 + 10 and arms[1] > 0 and arms[2] > 0


def test_invalid_posteriors_fail_the_blocking_check(store, clock, job_env) -> None:
    clock.set(datetime.now(UTC))
    ensure_account(store, DEMO_HANDLE)
    from xbot_pipeline.store.schema import bandit_arms

    with store.begin() as conn:  # infinity passes the database check (alpha > 0) but not ours
        conn.execute(
            bandit_arms.insert().values(
                account_id=DEMO_HANDLE,
                family="generator",
                arm="bad",
                alpha=float("inf"),
                beta=1.0,
                updated_at=clock.now(),
            )
        )
    with dg.instance_for_test() as instance:
        result = dg.materialize(LEARNING_ASSETS, instance=instance, resources=job_env, raise_on_error=False)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["posteriors_valid"] is False
    assert not result.success  # blocking: the snapshot step does not run
