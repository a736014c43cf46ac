"""Run outcomes as events (job health), and the stuck-post check launching a recovery run."""

from datetime import timedelta

import dagster as dg

from xbot_pipeline.defs.recovery.jobs import recovery_job
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.defs.ticks import cursor_state, end_tick, end_tick_with_run
from xbot_pipeline.store import health as q


def record_run_outcome(xbot: XbotResource, run: dg.DagsterRun, succeeded: bool, message: str = "") -> bool:
    """Write ``job_run_succeeded`` / ``job_run_failed`` once per run (and ``error_job_failed``)."""
    event_type = "job_run_succeeded" if succeeded else "job_run_failed"
    subject = f"run:{run.run_id}"
    if q.event_exists(xbot.store, event_type, subject):
        return False
    data = {"job_name": run.job_name, "run_id": run.run_id}
    if not succeeded:
        data["message"] = message[:2000]
    xbot.tracker.track_event(
        event_type, data, "info" if succeeded else "warning", component="dagster", subject=subject
    )
    if not succeeded:
        xbot.tracker.track_error(
            "dagster",
            "job_failed",
            f"job {run.job_name} failed: {message[:500]}",
            "error",
            {"job_name": run.job_name, "run_id": run.run_id},
            subject=subject,
        )
    return True


def _recorded(xbot: XbotResource, run: dg.DagsterRun, succeeded: bool, message: str = "") -> str:
    event = "job_run_succeeded" if succeeded else "job_run_failed"
    if not record_run_outcome(xbot, run, succeeded, message):
        return f"{run.job_name} run {run.run_id[:8]}: {event} already recorded"
    extra = " + error_job_failed" if not succeeded else ""
    return f"recorded {event}{extra} for {run.job_name} run {run.run_id[:8]}"


# A run-status sensor that returns a skip reason handles one run per tick (Dagster's rule), so these tick
# every 15 s: 240 runs an hour each, against the 31 an hour the schedules start (posting and recovery 12
# each, metrics 3, health 2, planning and learning 1 each).
@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="job_run_success_recorder",
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every successful run as a job_run_succeeded event (job health). "
    "See docs/HEALTH.md#formulas",
)
def job_run_success_recorder(context: dg.RunStatusSensorContext, xbot: XbotResource) -> dg.SkipReason:
    summary = _recorded(xbot, context.dagster_run, True)
    context.log.info(summary)
    return dg.SkipReason(summary)


@dg.run_failure_sensor(
    name="job_run_failure_recorder",
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run as job_run_failed (+ an error_job_failed error). "
    "See docs/HEALTH.md#formulas",
)
def job_run_failure_recorder(context: dg.RunFailureSensorContext, xbot: XbotResource) -> dg.SkipReason:
    message = context.failure_event.message or "" if context.failure_event else ""
    summary = _recorded(xbot, context.dagster_run, False, message)
    context.log.info(summary)
    return dg.SkipReason(summary)


def evaluate_stuck_posts(
    context: dg.SensorEvaluationContext, xbot: XbotResource
) -> dg.SkipReason | dg.RunRequest:
    """The no_stuck_posts check, evaluated every minute: when it fails, launch recovery_job (once per
    set of stuck posts) and record the action. The last requested set is the cursor's state."""
    store = xbot.store
    thresholds = xbot.runtime.settings.health
    minutes = thresholds.stuck_posting_minutes
    last = cursor_state(context.cursor)
    stuck = q.stuck_posts(store, store.clock.now(), timedelta(minutes=minutes))
    if not stuck:
        return end_tick(context, f"no stuck posts (none in 'posting' over {minutes:g} min)", state=last)
    ids = sorted(int(p["id"]) for p in stuck)
    run_key = "stuck:" + ",".join(map(str, ids))[:200]
    if last == run_key:
        return end_tick(context, f"recovery_job already requested for stuck posts {ids}", state=last)
    xbot.tracker.track_event(
        "autonomous_action",
        {
            "kind": "launch_recovery",
            "job_name": "recovery_job",
            "post_ids": ids,
            "executed": True,
            "evidence": f"{len(ids)} posts in 'posting' over {minutes:g} min",
        },
        "warning",
        component="health",
    )
    return end_tick_with_run(
        context,
        f"requested recovery_job for {len(ids)} stuck posts {ids}",
        dg.RunRequest(run_key=run_key, job_name="recovery_job", tags={"xbot/reason": "stuck_posts"}),
        state=run_key,
    )


stuck_posts_recovery_sensor = dg.sensor(
    name="stuck_posts_recovery_sensor",
    job=recovery_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches recovery_job when a post is stuck in 'posting' (the no_stuck_posts check). "
    "See docs/POSTING.md#recovery-rules-never-lose-a-post-never-double-one",
)(evaluate_stuck_posts)
