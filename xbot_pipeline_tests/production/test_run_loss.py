"""Item 16: every job has a max runtime that fits it, and a failed or orphaned posting run leaves its posts
to recovery at once (real instance, real store; the sensors evaluated as the daemon does)."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from xbot_pipeline.definitions import defs
from xbot_pipeline.defs.posting.jobs import posting_job
from xbot_pipeline.defs.recovery.jobs import recovery_job
from xbot_pipeline.defs.recovery.sensors import failed_run_claims_sensor, orphaned_posting_run_sensor
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import claim, get_post

# what a job may take, in seconds, at most: posting and recovery are due every 5 minutes
LONGEST = {"posting_job": 300, "recovery_job": 300}


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_every_job_has_a_max_runtime_that_fits_it() -> None:
    jobs = [j for j in defs().resolve_all_job_defs() if not j.name.startswith("__")]
    assert {"posting_job", "recovery_job", "health_job", "metrics_job", "learning_job"} <= {
        j.name for j in jobs
    }
    for job in jobs:
        limit = int(job.tags["dagster/max_runtime"])
        assert 60 <= limit <= LONGEST.get(job.name, 1800), job.name


@pytest.fixture
def resources(database_url, xbot_home):
    return {"xbot": XbotResource(database_url=database_url, home=str(xbot_home))}


def _claimed_post(store, clock, run_id: str, pid: int) -> int:
    clock.set(datetime.now(UTC))
    ensure_account(store, "acct", handle="acct", publisher="api")
    post = enqueue(store, "acct", "single", f"claimed by {run_id}")
    assert claim(store, post["id"], f"{socket.gethostname()}:{pid}:{run_id}", clock.now())
    return int(post["id"])


def test_a_failed_posting_runs_posts_go_to_recovery_at_once(store, clock, instance, resources) -> None:
    run = instance.create_run_for_job(posting_job, status=dg.DagsterRunStatus.STARTED)
    post_id = _claimed_post(store, clock, run.run_id, _dead_pid())
    instance.report_run_failed(run, "Exceeded maximum runtime of 300 seconds.")
    failed = instance.get_run_by_id(run.run_id)
    event = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[-1]
    with dg.build_run_status_sensor_context(
        sensor_name="failed_run_claims_sensor",
        dagster_event=event.event_log_entry.dagster_event,
        dagster_instance=instance,
        dagster_run=failed,
        resources=resources,
    ) as context:
        request = failed_run_claims_sensor(context.for_run_failure())

    assert isinstance(request, dg.RunRequest) and str(post_id) in (request.run_key or "")
    post = get_post(store, post_id)
    assert post["status"] == "unknown" and "failed mid-post" in post["status_reason"]
    assert post["claimed_at"] is not None  # recovery reads the timeline back from the claim


def test_a_live_claim_of_a_failed_run_is_left_alone(store, clock, instance, resources) -> None:
    """Run monitoring marks a run failed while terminating it: its process may still be publishing."""
    import os

    run = instance.create_run_for_job(posting_job, status=dg.DagsterRunStatus.STARTED)
    post_id = _claimed_post(store, clock, run.run_id, os.getpid())
    instance.report_run_failed(run, "Exceeded maximum runtime of 300 seconds.")
    event = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[-1]
    with dg.build_run_status_sensor_context(
        sensor_name="failed_run_claims_sensor",
        dagster_event=event.event_log_entry.dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run.run_id),
        resources=resources,
    ) as context:
        assert isinstance(failed_run_claims_sensor(context.for_run_failure()), dg.SkipReason)
    assert get_post(store, post_id)["status"] == "posting"


def test_an_orphaned_posting_run_is_failed_and_its_posts_recovered(
    store, clock, tracker, instance, resources, scripted
) -> None:
    run = instance.create_run_for_job(posting_job, status=dg.DagsterRunStatus.STARTED)
    post_id = _claimed_post(store, clock, run.run_id, _dead_pid())
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        first = orphaned_posting_run_sensor(context)
    assert isinstance(first, dg.RunRequest)
    assert get_post(store, post_id)["status"] == "unknown"
    assert not instance.get_run_by_id(run.run_id).is_finished  # its worker may still report it

    with dg.build_sensor_context(instance=instance, resources=resources, cursor=context.cursor) as later:
        second = orphaned_posting_run_sensor(later)
    assert isinstance(second, dg.SkipReason)
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE

    # the killed run's post had reached X: the next recovery pass (default stuck window of 10 minutes,
    # which a 'posting' row would still be inside) finds it and marks it posted with its id, so the
    # requeue-and-post path can never double it
    x = scripted()
    tweet_id = x.live(get_post(store, post_id)["text"], at=clock.now() + timedelta(seconds=1))
    clock.advance(seconds=5)
    report = run_recovery(store, tracker, lambda account: x, config=RecoveryConfig(settle_s=1))
    assert report.reconciled_posted == [post_id]
    post = get_post(store, post_id)
    assert post["status"] == "posted" and post["tweet_id"] == tweet_id


def _started_run(instance, pid: int, launched: bool) -> str:
    """A recovery run shown as started, its RUN_START written by process ``pid`` (as its worker would)."""
    tags = {".dagster/grpc_info": '{"host": "127.0.0.1", "port": 4266}'} if launched else {}
    run = instance.create_run_for_job(recovery_job, status=dg.DagsterRunStatus.STARTED, tags=tags)
    start = dg.DagsterEvent(dg.DagsterEventType.RUN_START.value, job_name=run.job_name, pid=pid)
    instance.report_dagster_event(start, run_id=run.run_id)
    return run.run_id


def test_a_run_whose_worker_died_unseen_is_failed_so_the_pool_queue_moves(instance, resources) -> None:
    """The drill's deadlock: a recovery run killed while its browser step waited in the pool's queue kept
    its place there (the freed slot was assigned to it) and every later browser step waited behind it."""
    import os

    dead = _started_run(instance, _dead_pid(), launched=True)
    alive = _started_run(instance, os.getpid(), launched=True)
    elsewhere = _started_run(instance, _dead_pid(), launched=False)  # e.g. execute_in_process elsewhere
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        first = orphaned_posting_run_sensor(context)
    assert isinstance(first, dg.SkipReason) and "failed next tick" in (first.skip_message or "")
    assert not instance.get_run_by_id(dead).is_finished  # its worker may have just written its end

    with dg.build_sensor_context(instance=instance, resources=resources, cursor=context.cursor) as later:
        orphaned_posting_run_sensor(later)
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
    assert instance.get_run_by_id(elsewhere).status == dg.DagsterRunStatus.STARTED
