"""Item 15: a run that died holding the `browser` pool slot gives it back shortly after Dagster marks it
ended (run_monitoring.free_slots_after_run_end_seconds), on both instance configs."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import dagster as dg
from dagster._daemon.monitoring.concurrency import execute_concurrency_slots_iteration


@dg.op
def _publish() -> int:
    return 1


@dg.job
def _browser_job() -> None:
    _publish()


def _claimed(instance: dg.DagsterInstance, pool: str) -> int:
    return len(instance.event_log_storage.get_concurrency_info(pool).claimed_slots)


def test_both_instance_configs_free_slots_of_ended_runs(instance: dg.DagsterInstance) -> None:
    settings = instance.run_monitoring_settings
    assert instance.run_monitoring_enabled
    assert 0 < settings["free_slots_after_run_end_seconds"] <= 30
    assert settings["poll_interval_seconds"] <= 30


def test_a_dead_runs_browser_slot_is_freed(instance: dg.DagsterInstance) -> None:
    run = instance.create_run_for_job(_browser_job)
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default("browser")  # what a step in the pool does first
    assert storage.claim_concurrency_slot("browser", run.run_id, "post_due_items").is_claimed
    assert _claimed(instance, "browser") == 1
    # the worker died; run monitoring (or the orphaned-run sensor) marks the run failed
    instance.report_run_failed(run, "run worker gone")
    workspace = SimpleNamespace(instance=instance)
    logger = logging.getLogger("test")

    list(execute_concurrency_slots_iteration(workspace, logger))
    assert _claimed(instance, "browser") == 1, "freed before the grace period"

    wait = instance.run_monitoring_settings["free_slots_after_run_end_seconds"] + 1
    time.sleep(wait)
    list(execute_concurrency_slots_iteration(workspace, logger))
    assert _claimed(instance, "browser") == 0
