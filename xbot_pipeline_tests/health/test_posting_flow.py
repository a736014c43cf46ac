"""posting_flowing: a posting outage (due posts waiting, runs piling up in QUEUED, no successful run)
is a critical issue, an ERROR check and an alert, on a real Dagster instance, while the score's
formula (which counts attempts only) would stay green."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin

from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.analytics.flow import PostingRuns, posting_flow
from xbot_pipeline.defs.alerts.sensors import alerts_sensor
from xbot_pipeline.defs.health.materialize import materialize_health
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import accounts, system_events
from xbot_pipeline_tests.fixtures.health import WebhookReceiver, add_post
from xbot_pipeline_tests.health.test_dagster import instance, xbot  # noqa: F401 - shared fixtures

T = HealthThresholds()
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _due(minutes: float) -> dict:
    return {"id": 1, "account_id": "a", "due_since": NOW - timedelta(minutes=minutes)}


def test_rules() -> None:
    fine = posting_flow([_due(3)], PostingRuns((), NOW - timedelta(minutes=4)), NOW, T)
    assert fine.flowing and fine.due_posts == 1 and fine.minutes_since_success == 4.0
    assert posting_flow([], PostingRuns((), NOW - timedelta(days=3)), NOW, T).flowing  # nothing due
    stalled = posting_flow([_due(34)], None, NOW, T)  # without the instance: the due-post rule alone
    assert not stalled.flowing and "oldest waiting 34 min" in stalled.problems[0]
    queued = PostingRuns((NOW - timedelta(minutes=6), NOW - timedelta(minutes=1)), NOW - timedelta(minutes=2))
    piling = posting_flow([], queued, NOW, T)
    assert not piling.flowing and "2 posting_job run(s) QUEUED" in piling.problems[0]
    one_old = posting_flow([], PostingRuns((NOW - timedelta(minutes=16),), NOW), NOW, T)
    assert not one_old.flowing  # a single run held in QUEUED longer than the due threshold
    no_run = posting_flow([_due(5)], PostingRuns((), NOW - timedelta(minutes=21)), NOW, T)
    assert [p.split(" for ")[0] for p in no_run.problems] == ["No successful posting_job run"]


def _posting_run(inst: dg.DagsterInstance, status: dg.DagsterRunStatus, ended: datetime | None = None):
    origin = RemoteJobOrigin(  # where a run launched by the daemon or the UI says it comes from
        RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("xbot_pipeline"), "__repository__"), "posting_job"
    )
    run = inst.add_run(
        dg.DagsterRun(
            job_name="posting_job", run_id=str(uuid.uuid4()), status=status, remote_job_origin=origin
        )
    )
    if ended is not None:  # a real RUN_SUCCESS event, stamped when the run ended
        event = DagsterEvent(DagsterEventType.RUN_SUCCESS.value, job_name="posting_job", message="done")
        inst.report_dagster_event(event, run.run_id, timestamp=ended.timestamp())
    return run


def _outage(store: Store, inst: dg.DagsterInstance) -> None:
    """34 minutes ago the last posting run succeeded; since then 3 runs wait in QUEUED (the browser
    pool slot is held) and two posts fell due."""
    now = datetime.now(UTC)
    _posting_run(inst, dg.DagsterRunStatus.NOT_STARTED, ended=now - timedelta(minutes=34))
    for _ in range(3):
        _posting_run(inst, dg.DagsterRunStatus.QUEUED)
    add_post(store, "queued", now - timedelta(minutes=29))  # scheduled 34 min ago
    add_post(store, "retry_pending", now - timedelta(minutes=20))
    add_post(store, "posted", now - timedelta(minutes=40))  # what was attempted went fine


def test_an_outage_fails_posting_flowing_and_is_reported(
    store: Store,
    xbot: XbotResource,  # noqa: F811
    instance: dg.DagsterInstance,  # noqa: F811
) -> None:
    _outage(store, instance)
    result = materialize_health(instance=instance, xbot=xbot, include_analysis=False)
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "posting_flowing"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["due_posts"].value == 2 and check.metadata["queued_posting_runs"].value == 3
    with store.connect() as conn:
        [data] = conn.execute(
            sa.select(system_events.c.event_data).where(system_events.c.event_type == "system_health_report")
        ).scalars()
    assert data["overallHealth"] >= T.min_health  # the seed's formula alone stays green
    assert data["postingFlowing"] is False and data["duePosts"] == 2 and data["queuedPostingRuns"] == 3
    assert data["minutesSincePostingSuccess"] >= 34
    issues = " | ".join(data["criticalIssues"])
    assert "Posting stalled: 2 due post(s)" in issues
    assert "3 posting_job run(s) QUEUED" in issues
    assert "No successful posting_job run for 34" in issues


def test_a_paused_account_or_fresh_posts_do_not_count(
    store: Store,
    xbot: XbotResource,  # noqa: F811
    instance: dg.DagsterInstance,  # noqa: F811
) -> None:
    now = datetime.now(UTC)
    _posting_run(instance, dg.DagsterRunStatus.NOT_STARTED, ended=now - timedelta(minutes=3))
    add_post(store, "queued", now)  # due 5 min ago: fine
    add_post(store, "queued", now - timedelta(hours=2), account_id="paused")
    with store.begin() as conn:
        conn.execute(accounts.update().where(accounts.c.id == "paused").values(status="paused"))
    result = materialize_health(instance=instance, xbot=xbot, include_analysis=False)
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "posting_flowing"]
    assert check.passed


def test_the_alerts_sensor_alerts_on_a_stalled_posting_at_once(
    store: Store,
    instance: dg.DagsterInstance,  # noqa: F811
    xbot: XbotResource,  # noqa: F811
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    xbot_home: Path,
) -> None:
    monkeypatch.setenv("XBOT_ALERT_WEBHOOK_URL", webhook.url)
    _outage(store, instance)  # no health run yet: the sensor evaluates the rules itself

    def tick() -> None:
        resource = XbotResource(database_url=database_url, home=str(xbot_home))
        defs = dg.Definitions(sensors=[alerts_sensor], resources={"xbot": resource})
        context = dg.build_sensor_context(
            instance=instance, definitions=defs, sensor_name="alerts_sensor", resources={"xbot": resource}
        )
        defs.resolve_sensor_def("alerts_sensor").evaluate_tick(context)

    tick()
    texts = webhook.texts()
    assert len(texts) == 1 and "posting_flowing" in texts[0] and "Posting stalled" in texts[0], texts
    tick()
    assert len(webhook.texts()) == 1  # once, not every minute
    # posting resumes: the queue drains, a run succeeds -> resolved
    with store.begin() as conn:
        conn.execute(
            sa.text("UPDATE posts SET status = 'posted' WHERE status IN ('queued', 'retry_pending')")
        )
    for record in instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED])):
        instance.delete_run(record.dagster_run.run_id)
    tick()
    assert len(webhook.texts()) == 2 and "passes again" in webhook.texts()[1]
