"""Every sensor tick ends with one summary line (skip reason, tick log, cursor), so the UI's tick list
reads like a log. The sensors run as the daemon runs them: their definitions, real resources, a real
instance, a real webhook receiver."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from xbot_pipeline.defs.alerts.sensors import alerts_sensor
from xbot_pipeline.defs.health.sensors import (
    job_run_failure_recorder,
    job_run_success_recorder,
    stuck_posts_recovery_sensor,
)
from xbot_pipeline.defs.posting.jobs import posting_job
from xbot_pipeline.defs.recovery.jobs import recovery_job
from xbot_pipeline.defs.recovery.sensors import failed_run_claims_sensor, orphaned_posting_run_sensor
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.defs.ticks import STATE_SEP, cursor_state, tick_cursor
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import claim
from xbot_pipeline_tests.fixtures.health import WebhookReceiver, add_event, add_post


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    """One instance for the module (each tick is given its cursor, so ticks never mix)."""
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def xbot(store: Store, database_url: str, xbot_home: Path, monkeypatch: pytest.MonkeyPatch) -> XbotResource:
    monkeypatch.setenv("XBOT_HOME", str(xbot_home))
    monkeypatch.delenv("XBOT_ALERT_WEBHOOK_URL", raising=False)
    store.clock.set(datetime.now(UTC))  # the resource's store runs on the system clock
    return XbotResource(database_url=database_url, home=str(xbot_home))


def _tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, xbot: XbotResource, cursor: str | None):
    """One tick as the daemon evaluates it: the sensor's definition, its resources, the last cursor."""
    defs = dg.Definitions(sensors=[sensor], jobs=[recovery_job], resources={"xbot": xbot})
    context = dg.build_sensor_context(
        instance=instance, definitions=defs, sensor_name=sensor.name, resources={"xbot": xbot}, cursor=cursor
    )
    return defs.resolve_sensor_def(sensor.name).evaluate_tick(context)


def _report(store: Store, health: float, recovery: float = 100.0) -> None:
    add_event(
        store,
        "system_health_report",
        store.clock.now(),
        severity="info",
        component="health",
        data={"overallHealth": health, "recoveryRate": recovery, "criticalIssues": ["error rate high"]},
    )
    store.clock.advance(seconds=1)


def test_alerts_sensor_ticks_say_what_was_sent_suppressed_and_resolved(
    store: Store,
    xbot: XbotResource,
    instance: dg.DagsterInstance,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XBOT_ALERT_WEBHOOK_URL", webhook.url)
    first = _tick(alerts_sensor, instance, xbot, None)
    assert first.skip_message == "sent 0, suppressed 0, resolved 0"

    _report(store, 40)
    fired = _tick(alerts_sensor, instance, xbot, first.cursor)
    assert fired.skip_message == "sent 1 (health_low → webhook), suppressed 0, resolved 0"
    assert fired.cursor == fired.skip_message  # the tick list's cursor column shows the same line
    assert not fired.run_requests and len(webhook.texts()) == 1

    again = _tick(alerts_sensor, instance, xbot, fired.cursor)
    assert again.skip_message == "sent 0, suppressed 1 (cooldown: health_low), resolved 0"

    _report(store, 95)
    resolved = _tick(alerts_sensor, instance, xbot, again.cursor)
    assert resolved.skip_message == (
        "sent 1 (health_low resolved → webhook), suppressed 0, resolved 1 (health_low)"
    )
    assert [t.split(" ", 1)[0] for t in webhook.texts()] == ["[FIRING]", "[RESOLVED]"]


def test_alerts_sensor_tick_says_when_a_send_failed(
    store: Store, xbot: XbotResource, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:  # a port nobody listens on: the webhook refuses the connection
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("XBOT_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{port}/hook")
    _report(store, 40)
    tick = _tick(alerts_sensor, instance, xbot, None)
    assert tick.skip_message == (
        "sent 0, suppressed 0, resolved 0, failed to send 1 (health_low) (retried next tick)"
    )


def test_stuck_posts_sensor_summarises_and_keeps_its_state_in_the_cursor(
    store: Store, xbot: XbotResource, instance: dg.DagsterInstance
) -> None:
    idle = _tick(stuck_posts_recovery_sensor, instance, xbot, None)
    assert idle.skip_message == "no stuck posts (none in 'posting' over 15 min)"
    assert idle.cursor == idle.skip_message
    now = store.clock.now()
    post_id = add_post(store, "posting", now - timedelta(minutes=16), claimed_at=now - timedelta(minutes=16))
    launched = _tick(stuck_posts_recovery_sensor, instance, xbot, idle.cursor)
    [request] = launched.run_requests
    assert request.run_key == f"stuck:{post_id}"
    assert (
        launched.cursor == f"requested recovery_job for 1 stuck posts [{post_id}]{STATE_SEP}stuck:{post_id}"
    )
    repeat = _tick(stuck_posts_recovery_sensor, instance, xbot, launched.cursor)
    assert not repeat.run_requests
    assert repeat.skip_message == f"recovery_job already requested for stuck posts [{post_id}]"
    # a cursor written before summaries (the bare run key) still stops a second request
    legacy = _tick(stuck_posts_recovery_sensor, instance, xbot, f"stuck:{post_id}")
    assert not legacy.run_requests


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_orphaned_run_sensor_summarises_each_tick(
    store: Store, xbot: XbotResource, instance: dg.DagsterInstance
) -> None:
    idle = _tick(orphaned_posting_run_sensor, instance, xbot, None)
    assert idle.skip_message == "no claim by a dead process: nothing to hand over"
    run = instance.create_run_for_job(posting_job, status=dg.DagsterRunStatus.STARTED)
    ensure_account(store, "acct", handle="acct", publisher="api")
    post = enqueue(store, "acct", "single", "claimed by a run that died")
    assert claim(store, post["id"], f"{socket.gethostname()}:{_dead_pid()}:{run.run_id}", store.clock.now())
    handed = _tick(orphaned_posting_run_sensor, instance, xbot, idle.cursor)
    assert len(handed.run_requests) == 1
    assert handed.cursor == (
        f"handed 1 posts to recovery [{post['id']}]; 1 runs of dead claimers or run workers in progress "
        f'(failed next tick){STATE_SEP}["{run.run_id}"]'
    )
    failed = _tick(orphaned_posting_run_sensor, instance, xbot, handed.cursor)
    assert failed.skip_message == f"handed 0 posts to recovery; marked 1 runs failed ({run.run_id[:8]})"
    assert cursor_state(failed.cursor) is None


def test_run_status_sensors_say_what_they_recorded(
    store: Store, xbot: XbotResource, instance: dg.DagsterInstance
) -> None:
    @dg.op
    def fine() -> None:
        pass

    @dg.op
    def broken() -> None:
        raise RuntimeError("step exploded")

    ok = dg.GraphDefinition(name="ok_job", node_defs=[fine]).to_job().execute_in_process(instance=instance)
    bad = (
        dg.GraphDefinition(name="bad_job", node_defs=[broken])
        .to_job()
        .execute_in_process(instance=instance, raise_on_error=False)
    )
    said = []
    for result, sensor, status in (
        (ok, job_run_success_recorder, "PIPELINE_SUCCESS"),
        (bad, job_run_failure_recorder, "PIPELINE_FAILURE"),
        (bad, failed_run_claims_sensor, "PIPELINE_FAILURE"),
    ):
        event = next(e for e in result.all_events if e.event_type_value == status)
        with dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={"xbot": xbot},
        ) as context:
            ctx = context.for_run_failure() if status == "PIPELINE_FAILURE" else context
            for _ in range(2 if sensor is not failed_run_claims_sensor else 1):
                answer = sensor(ctx)
                assert isinstance(answer, dg.SkipReason)
                said.append(answer.skip_message)
    ok_id, bad_id = ok.run_id[:8], bad.run_id[:8]
    assert said == [
        f"recorded job_run_succeeded for ok_job run {ok_id}",
        f"ok_job run {ok_id}: job_run_succeeded already recorded",
        f"recorded job_run_failed + error_job_failed for bad_job run {bad_id}",
        f"bad_job run {bad_id}: job_run_failed already recorded",
        f"bad_job run {bad_id} failed: no claimed post to hand over",
    ]


def test_a_long_summary_never_breaks_the_state() -> None:
    cursor = tick_cursor("x" * 2000 + STATE_SEP + "fake", state='["run"]')
    assert cursor_state(cursor) == '["run"]' and len(cursor) < 600
    assert cursor_state("no stuck posts") is None and cursor_state(None) is None
    assert cursor_state('["legacy-run"]') == '["legacy-run"]'
