"""The health assets, checks and sensors on a real Dagster instance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import sqlalchemy as sa

from xbot_pipeline.clock import ManualClock
from xbot_pipeline.defs.alerts.sensors import alerts_sensor
from xbot_pipeline.defs.health.materialize import materialize_health
from xbot_pipeline.defs.health.sensors import (
    evaluate_stuck_posts,
    job_run_failure_recorder,
    job_run_success_recorder,
)
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import system_events
from xbot_pipeline_tests.fixtures.health import WebhookReceiver, add_event, add_post


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def xbot(store: Store, database_url: str, xbot_home: Path, monkeypatch: pytest.MonkeyPatch) -> XbotResource:
    """The resource as Dagster builds it (system clock): fixture rows are stamped at the real time."""
    monkeypatch.setenv("XBOT_HOME", str(xbot_home))
    monkeypatch.delenv("XBOT_ALERT_WEBHOOK_URL", raising=False)
    store.clock.set(datetime.now(UTC))
    return XbotResource(database_url=database_url, home=str(xbot_home))


def _unhealthy(store: Store) -> None:
    """Hand-computed: 130 errors (5.42/h -> errorHealth 45.83), none recovered (0 %), one posted row
    (100 %), no runs (100): round(13.75 + 0 + 30 + 20) = 64."""
    clock: ManualClock = store.clock
    now = clock.now()
    for i in range(130):
        add_event(store, "error_timeout", now - timedelta(minutes=i * 10 + 1), component="browser")
    add_post(store, "posting", now - timedelta(minutes=20), claimed_at=now - timedelta(minutes=20))
    add_post(store, "posted", now - timedelta(minutes=40), tweet_id="")
    with store.begin() as conn:
        conn.execute(sa.text("UPDATE posts SET tweet_id = NULL WHERE status = 'posted'"))


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_materialize_health_checks_fail_and_pass_at_the_thresholds(
    store: Store, xbot: XbotResource, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    _unhealthy(store)
    result = materialize_health(instance=instance, xbot=xbot)
    assert result.success  # checks are not blocking: the snapshot is still written
    assert _checks(result) == {
        "health_score_ok": False,
        "recovery_rate_ok": False,
        "posting_success_ok": True,
        "error_rate_ok": False,
        "no_stuck_posts": False,
        "posted_have_tweet_id": False,
        "posting_flowing": True,
        "accounts_healthy": True,  # the errors belong to no account; acct's one post went out
        "snapshot_fresh": True,
    }
    [mat] = [
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey("system_health_report")
    ]
    meta = mat.materialization.metadata
    assert meta["overall_health"].value == 64 and meta["error_rate"].value == pytest.approx(5.42)
    with store.connect() as conn:
        [(data, severity)] = conn.execute(
            sa.select(system_events.c.event_data, system_events.c.severity).where(
                system_events.c.event_type == "system_health_report"
            )
        ).all()
    assert data["overallHealth"] == 64 and severity == "warning" and len(data["criticalIssues"]) == 2
    con = duckdb.connect(str(xbot.runtime.settings.warehouse_path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {
            "system_events",
            "posts",
            "post_metrics",
            "error_frequency",
            "recovery_metrics",
            "system_health_reports",
            "error_issues",
            "account_health",
        } <= tables
    finally:
        con.close()
    # at the configured thresholds the same data passes
    monkeypatch.setenv("XBOT_HEALTH_MIN_HEALTH", "64")
    monkeypatch.setenv("XBOT_HEALTH_MAX_ERROR_RATE", "5.42")
    monkeypatch.setenv("XBOT_HEALTH_STUCK_POSTING_MINUTES", "21")
    checks = _checks(materialize_health(instance=instance, xbot=xbot, include_analysis=False))
    assert checks["health_score_ok"] and checks["error_rate_ok"] and checks["no_stuck_posts"]


def test_alerts_sensor_sends_each_alert_once_across_a_daemon_restart(
    store: Store,
    xbot: XbotResource,
    instance: dg.DagsterInstance,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    xbot_home: Path,
) -> None:
    monkeypatch.setenv("XBOT_ALERT_WEBHOOK_URL", webhook.url)
    _unhealthy(store)
    materialize_health(instance=instance, xbot=xbot, include_analysis=False)

    def tick() -> None:  # a fresh context and resource each time: nothing survives but the store
        resource = XbotResource(database_url=database_url, home=str(xbot_home))
        defs = dg.Definitions(sensors=[alerts_sensor], resources={"xbot": resource})
        context = dg.build_sensor_context(
            instance=instance, definitions=defs, sensor_name="alerts_sensor", resources={"xbot": resource}
        )
        defs.resolve_sensor_def("alerts_sensor").evaluate_tick(context)

    tick()
    texts = webhook.texts()
    assert len(texts) == 3, texts
    assert any("System health 64/100" in t for t in texts)
    assert any("Recovery rate 0%" in t for t in texts)
    assert any("no_stuck_posts" in t for t in texts)
    assert not any("posted_have_tweet_id" in t or "error_rate_ok" in t for t in texts)  # WARN: UI only
    tick()
    tick()
    assert len(webhook.texts()) == 3


def test_run_outcomes_become_events_and_failures_lower_job_health(
    store: Store, xbot: XbotResource, instance: dg.DagsterInstance
) -> None:
    @dg.op
    def fine() -> None:
        pass

    @dg.op
    def broken() -> None:
        raise RuntimeError("step exploded")

    ok_job = dg.GraphDefinition(name="ok_job", node_defs=[fine]).to_job()
    bad_job = dg.GraphDefinition(name="bad_job", node_defs=[broken]).to_job()
    for job, sensor, status in (
        (ok_job, job_run_success_recorder, "PIPELINE_SUCCESS"),
        (bad_job, job_run_failure_recorder, "PIPELINE_FAILURE"),
    ):
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        event = next(e for e in result.all_events if e.event_type_value == status)
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={"xbot": xbot},
        )
        if status == "PIPELINE_FAILURE":
            context = context.for_run_failure()
        sensor(context)
        sensor(context)  # the same run twice: recorded once
    with store.connect() as conn:
        types = [
            r[0] for r in conn.execute(sa.select(system_events.c.event_type).order_by(system_events.c.id))
        ]
    assert types == ["job_run_succeeded", "job_run_failed", "error_job_failed"]
    checks = materialize_health(instance=instance, xbot=xbot, include_analysis=False)
    report = next(
        m.materialization.metadata
        for m in checks.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey("system_health_report")
    )
    # the health run's own success is not yet recorded: 1 of 2 runs succeeded
    assert report["job_health"].value == 50.0


def test_failing_stuck_post_check_launches_recovery_once(
    store: Store, xbot: XbotResource, instance: dg.DagsterInstance
) -> None:
    @dg.op
    def reconcile() -> None:
        pass

    recovery_job = dg.GraphDefinition(name="recovery_job", node_defs=[reconcile]).to_job()
    sensor = dg.sensor(name="stuck_posts_recovery_sensor", job_name="recovery_job")(evaluate_stuck_posts)
    defs = dg.Definitions(jobs=[recovery_job], sensors=[sensor], resources={"xbot": xbot})
    context = dg.build_sensor_context(
        instance=instance, definitions=defs, sensor_name=sensor.name, resources={"xbot": xbot}
    )
    assert not defs.resolve_sensor_def(sensor.name).evaluate_tick(context).run_requests
    now = store.clock.now()
    post_id = add_post(store, "posting", now - timedelta(minutes=16), claimed_at=now - timedelta(minutes=16))
    add_post(
        store, "posting", now - timedelta(minutes=1), claimed_at=now - timedelta(minutes=1)
    )  # fresh claim
    [request] = defs.resolve_sensor_def(sensor.name).evaluate_tick(context).run_requests
    assert request.job_name == "recovery_job" and request.run_key == f"stuck:{post_id}"
    assert not defs.resolve_sensor_def(sensor.name).evaluate_tick(context).run_requests  # same stuck set
    with store.connect() as conn:
        [data] = [
            r[0]
            for r in conn.execute(
                sa.select(system_events.c.event_data).where(system_events.c.event_type == "autonomous_action")
            )
        ]
    assert data["kind"] == "launch_recovery" and data["post_ids"] == [post_id]


def test_scheduled_jobs_run_from_the_code_location(
    store: Store,
    xbot: XbotResource,
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    """health_job and error_analysis_job as the schedules launch them (definitions from defs/)."""
    from xbot_pipeline.definitions import defs

    monkeypatch.setenv("XBOT_DATABASE_URL", database_url)
    _unhealthy(store)
    definitions = defs()
    assert {s.name for s in definitions.schedules or []} >= {"health_schedule", "error_analysis_schedule"}
    health = definitions.resolve_job_def("health_job").execute_in_process(instance=instance)
    assert health.success
    assert {e.check_name for e in health.get_asset_check_evaluations()} >= {
        "health_score_ok",
        "snapshot_fresh",
    }
    analysis = definitions.resolve_job_def("error_analysis_job").execute_in_process(instance=instance)
    assert analysis.success
    with store.connect() as conn:
        types = {r[0] for r in conn.execute(sa.select(system_events.c.event_type).distinct())}
    assert {"system_health_report", "health_error_analysis"} <= types


def test_health_run_pauses_an_account_after_repeated_session_failures(
    store: Store, xbot: XbotResource, instance: dg.DagsterInstance
) -> None:
    from xbot_pipeline.store.accounts import get_account
    from xbot_pipeline_tests.fixtures.health import add_attempt

    now = store.clock.now()
    post = add_post(store, "failed", now - timedelta(minutes=20), account_id="dave")
    for i in range(3):
        add_attempt(
            store,
            post,
            now - timedelta(minutes=5 + i),
            outcome="rejected",
            root_cause="session",
            account_id="dave",
            attempt_no=i + 1,
        )
    result = materialize_health(instance=instance, xbot=xbot, include_analysis=False)
    [mat] = [
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey("system_health_report")
    ]
    assert mat.materialization.metadata["autonomous_actions"].value == 1
    assert get_account(store, "dave")["status"] == "paused"
