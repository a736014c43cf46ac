"""Run outcomes as events (job health), and the stuck-post check launching a recovery run."""

import importlib
import importlib.util
import pkgutil
from datetime import timedelta

import dagster as dg

from xbot_pipeline.analytics.config import thresholds_from_env
from xbot_pipeline.defs.resources import XbotResource
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


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="job_run_success_recorder",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every successful run as a job_run_succeeded event (job health).",
)
def job_run_success_recorder(context: dg.RunStatusSensorContext, xbot: XbotResource) -> None:
    record_run_outcome(xbot, context.dagster_run, True)


@dg.run_failure_sensor(
    name="job_run_failure_recorder",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run as job_run_failed (+ an error_job_failed error).",
)
def job_run_failure_recorder(context: dg.RunFailureSensorContext, xbot: XbotResource) -> None:
    message = context.failure_event.message or "" if context.failure_event else ""
    record_run_outcome(xbot, context.dagster_run, False, message)


def _recovery_job_defined() -> bool:
    """True when some module under ``defs/recovery`` defines a job named ``recovery_job``.

    A sensor that targets a missing job fails the whole code location, so the stuck-post sensor exists
    only once the recovery work has landed.
    """
    if importlib.util.find_spec("xbot_pipeline.defs.recovery") is None:
        return False
    try:
        package = importlib.import_module("xbot_pipeline.defs.recovery")
        modules = [package] + [
            importlib.import_module(m.name)
            for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
        ]
    except Exception:
        return False
    for module in modules:
        for value in vars(module).values():
            if getattr(value, "name", None) == "recovery_job" and isinstance(value, dg.JobDefinition):
                return True
    return False


def evaluate_stuck_posts(context: dg.SensorEvaluationContext, xbot: XbotResource):  # type: ignore[no-untyped-def]
    """The no_stuck_posts check, evaluated every minute: when it fails, launch recovery_job (once per
    set of stuck posts) and record the action."""
    store = xbot.store
    thresholds = thresholds_from_env()
    stuck = q.stuck_posts(store, store.clock.now(), timedelta(minutes=thresholds.stuck_posting_minutes))
    if not stuck:
        return dg.SkipReason("no stuck posts")
    ids = sorted(int(p["id"]) for p in stuck)
    run_key = "stuck:" + ",".join(map(str, ids))[:200]
    if context.cursor == run_key:
        return dg.SkipReason(f"recovery already requested for posts {ids}")
    context.update_cursor(run_key)
    xbot.tracker.track_event(
        "autonomous_action",
        {
            "kind": "launch_recovery",
            "job_name": "recovery_job",
            "post_ids": ids,
            "executed": True,
            "evidence": f"{len(ids)} posts in 'posting' over {thresholds.stuck_posting_minutes:g} min",
        },
        "warning",
        component="health",
    )
    return dg.RunRequest(run_key=run_key, job_name="recovery_job", tags={"xbot/reason": "stuck_posts"})


if _recovery_job_defined():
    stuck_posts_recovery_sensor = dg.sensor(
        name="stuck_posts_recovery_sensor",
        job_name="recovery_job",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Launches recovery_job when a post is stuck in 'posting' (the no_stuck_posts check).",
    )(evaluate_stuck_posts)
