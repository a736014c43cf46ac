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
from xbot_pipeline.store.posts import get_post


@pytest.fixture
def job_env(monkeypatch, sandbox, xbot_home, database_url):
    monkeypatch.setenv("XBOT_X_API_URL", sandbox.api_url)
    monkeypatch.setenv("XBOT_X_API_TOKEN", sandbox.account().token)
    monkeypatch.setenv("XBOT_PUBLISHER", "api")
    return {"xbot": XbotResource(database_url=database_url, home=str(xbot_home))}


def metadata(result: dg.ExecuteInProcessResult, step: str) -> dict:
    outputs = [
        e for e in result.all_node_events if e.step_key == step and e.event_type_value == "STEP_OUTPUT"
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
