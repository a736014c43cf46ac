"""posting_job and recovery_job on a real Dagster instance against the stand-in; schedules evaluated."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from xbot_pipeline.defs.posting.jobs import posting_job, posting_schedule
from xbot_pipeline.defs.recovery.jobs import recovery_job, recovery_schedule
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.learning import reward_rows
from xbot_pipeline.store.posts import get_post
from xbot_pipeline_tests.posting.test_cli import xbot


@pytest.fixture
def job_env(monkeypatch, sandbox, xbot_home, database_url):
    monkeypatch.setenv("XBOT_X_API_URL", sandbox.api_url)
    monkeypatch.setenv("XBOT_X_API_TOKEN", sandbox.account().token)
    monkeypatch.setenv("XBOT_PUBLISHER", "api")
    return {"xbot": XbotResource(database_url=database_url, home=str(xbot_home))}


def metadata(result: dg.ExecuteInProcessResult, step: str) -> dict:
    outputs = [
        e
        for e in result.all_node_events
        if (e.step_key == step or (e.step_key or "").startswith(step + "["))
        and e.event_type_value == "STEP_OUTPUT"
    ]
    return {k: v.value for k, v in outputs[0].event_specific_data.metadata.items()}


def test_schedules_are_on_and_every_five_minutes():
    for schedule, job in ((posting_schedule, posting_job), (recovery_schedule, recovery_job)):
        assert schedule.cron_schedule == "*/5 * * * *"
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
        assert schedule.job_name == job.name
        with dg.instance_for_test() as instance:
            context = dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime.now(UTC))
            data = schedule.evaluate_tick(context)
            assert data.run_requests and data.run_requests[0].job_name in (None, job.name)
    assert posting_job.name == "posting_job" and recovery_job.name == "recovery_job"


def test_posting_then_recovery_jobs_on_a_real_instance(store, clock, sandbox, job_env):
    clock.set(datetime.now(UTC))
    ensure_account(store, DEMO_HANDLE, publisher="api")
    a = enqueue(store, DEMO_HANDLE, "single", "from the posting job")
    b = enqueue(store, DEMO_HANDLE, "single", "second, after the spacing")
    sandbox.admin.inject("missing_id", next_n=1)
    with dg.instance_for_test() as instance:
        result = posting_job.execute_in_process(instance=instance, resources=job_env)
        assert result.success
        meta = metadata(result, "post_due_items")
        assert meta["posted_without_id"] == 1 and meta["deferred"] == 1  # seed spacing: 20 min
        assert "min spacing" in meta["lines"]
        assert get_post(store, a["id"])["status"] == "posted" and get_post(store, a["id"])["tweet_id"] is None
        assert get_post(store, b["id"])["status"] == "queued"
        result = recovery_job.execute_in_process(instance=instance, resources=job_env)
        assert result.success
        assert metadata(result, "recover_posts")["ids_filled"] == 1
    live = {p["text"]: p["id"] for p in sandbox.admin.posts(DEMO_HANDLE)}
    assert get_post(store, a["id"])["tweet_id"] == live["from the posting job"]


def test_xbot_post_hands_published_posts_to_learning_like_the_job(
    store, clock, sandbox, job_env, api_cli_env
):
    """`xbot post` and posting_job run the same pass: each registers its published post for learning."""
    clock.set(datetime.now(UTC))  # the command and the job run on the system clock
    open_limits = {"min_spacing_s": 0, "per_hour": 10, "per_run": 5}
    ensure_account(store, DEMO_HANDLE, publisher="api", limits=open_limits)
    by_command = enqueue(store, DEMO_HANDLE, "single", "posted by xbot post", generator="tips")
    out = xbot(api_cli_env, "post")
    assert out.returncode == 0, out.stderr
    assert [r["post_id"] for r in reward_rows(store)] == [by_command["id"]]
    by_job = enqueue(store, DEMO_HANDLE, "single", "posted by posting_job", generator="tips")
    with dg.instance_for_test() as instance:
        assert posting_job.execute_in_process(instance=instance, resources=job_env).success
    rows = {r["post_id"]: r for r in reward_rows(store)}
    assert set(rows) == {by_command["id"], by_job["id"]}
    for post in (by_command, by_job):
        row, live = rows[post["id"]], get_post(store, post["id"])
        assert live["status"] == "posted" and row["generator"] == "tips"
        assert row["posted_at"] == live["posted_at"] and row["hour"] == live["posted_at"].hour
