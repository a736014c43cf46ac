"""A dead posting run leaves its posts to recovery at once (not after the 10-minute stuck window).

Two ways a posting run dies: Dagster marks it failed (its step raised, run monitoring's
``dagster/max_runtime``, the code server saw its worker exit), or nobody notices because the process that
would report it died too (the daemon's process group killed with its code server). The first sensor
handles failed runs; the second finds claims whose process is gone, marks a run still shown as in
progress failed (so run monitoring frees its `browser` pool slot), and hands the posts over. Both
request a recovery run; the recovery rules (settle period, timeline proof) decide each post's fate.

The second sensor also fails any run (recovery, metrics, ...) whose run worker died unseen: a run killed
while its step waited for the `browser` pool keeps its place in the pool's queue, the freed slot is
assigned to it, and every later browser step waits behind a process that no longer exists until the job's
max runtime. With the DefaultRunLauncher the run workers are children of the code server this sensor is
evaluated in, so the pid of a run's RUN_START event, checked on this host, says whether it is gone.
"""

from __future__ import annotations

import json
import socket

import dagster as dg

from xbot_pipeline.defs.recovery.jobs import recovery_job
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.defs.ticks import cursor_state, end_tick, end_tick_with_run
from xbot_pipeline.recovery.orphans import claims_of_run, dead_claims, hand_over
from xbot_pipeline.store.holders import holder_alive

TAGS = {"xbot/reason": "posting_run_lost"}


def _request(key: str, moved: list[int]) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"{key}:{','.join(map(str, moved))}"[:250], tags=TAGS)


@dg.run_failure_sensor(
    name="failed_run_claims_sensor",
    request_job=recovery_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A failed run's claimed posts go to recovery at once ('posting' -> 'unknown'). "
    "See docs/PRODUCTION.md#what-happens-when-a-run-dies",
)
def failed_run_claims_sensor(
    context: dg.RunFailureSensorContext, xbot: XbotResource
) -> dg.SkipReason | dg.RunRequest:
    run = context.dagster_run
    claims = claims_of_run(xbot.store, run.run_id)
    moved = hand_over(xbot.store, xbot.tracker, claims, f"posting run {run.run_id} failed mid-post")
    for post_id in moved:
        context.log.info(f"post {post_id}: handed to recovery (run {run.run_id} failed)")
    if not moved:
        summary = f"{run.job_name} run {run.run_id[:8]} failed: no claimed post to hand over"
        context.log.info(summary)
        return dg.SkipReason(summary)
    context.log.info(f"{run.job_name} run {run.run_id[:8]} failed: posts {moved} handed to recovery_job")
    return _request(f"failed:{run.run_id}", moved)


@dg.sensor(
    name="orphaned_posting_run_sensor",
    job=recovery_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts claimed by a process that is gone go to recovery; its run, if still shown as "
    "in progress, is marked failed so its pool slot is freed. "
    "See docs/PRODUCTION.md#what-happens-when-a-run-dies",
)
def orphaned_posting_run_sensor(
    context: dg.SensorEvaluationContext, xbot: XbotResource
) -> dg.SkipReason | dg.RunRequest:
    instance = context.instance
    # A run whose worker is alive reports its own failure within a second of its step dying; a run still
    # in progress a tick (>= 15 s) after its claims' process died has nobody left to report it.
    marked: list[str] = []
    for run_id in _waiting(cursor_state(context.cursor)):
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            instance.report_run_failed(
                run,
                "run worker gone: the process that ran it or held its posts no longer exists (xbot sensor)",
            )
            marked.append(run_id[:8])
    dead = dead_claims(xbot.store)
    workers_gone = dead_run_workers(instance)
    waiting = sorted(
        {c.run_id for c in dead if (run := instance.get_run_by_id(c.run_id)) and not run.is_finished}
        | set(workers_gone)
    )
    moved = hand_over(
        xbot.store, xbot.tracker, dead, "the process that claimed it is gone (posting run killed)"
    )
    parts = [f"handed {len(moved)} posts to recovery" + (f" {moved}" if moved else "")]
    if marked:
        parts.append(f"marked {len(marked)} runs failed ({', '.join(marked)})")
    if waiting:
        parts.append(f"{len(waiting)} runs of dead claimers or run workers in progress (failed next tick)")
    if not moved and not marked and not waiting:
        parts = ["no claim by a dead process: nothing to hand over"]
    summary = "; ".join(parts)
    state = json.dumps(waiting) if waiting else None
    if not moved:
        return end_tick(context, summary, state=state)
    return end_tick_with_run(context, summary, _request("orphaned", moved), state=state)


def _waiting(state: str | None) -> list[str]:
    """Run ids the previous tick saw in progress with dead claimers (a JSON list; [] when unreadable)."""
    try:
        value = json.loads(state or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def dead_run_workers(instance: dg.DagsterInstance) -> list[str]:
    """Ids of the started runs whose run worker (the pid of their RUN_START event) is gone from this host.
    Only for the DefaultRunLauncher, whose run workers run on the code server's host; another launcher's
    workers live elsewhere (and its run monitoring checks them)."""
    if not isinstance(instance.run_launcher, dg.DefaultRunLauncher):
        return []
    gone = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        if not _launched_on_this_host(run.tags.get(GRPC_INFO_TAG)):
            continue  # run in another process's own executor (`execute_in_process`) or on another host
        records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_START).records
        event = records[0].event_log_entry.dagster_event if records else None
        pid = event.pid if event is not None else None
        if pid and holder_alive(f"{socket.gethostname()}:{pid}:run") is False:
            gone.append(run.run_id)
    return gone


GRPC_INFO_TAG = ".dagster/grpc_info"  # set by the DefaultRunLauncher: the code server that spawned the run
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _launched_on_this_host(grpc_info: str | None) -> bool:
    """The launcher's tag names the code server that spawned the run worker: a local socket or a loopback
    or own-name address means the worker ran on this host."""
    try:
        info = json.loads(grpc_info or "")
    except ValueError:
        return False
    if not isinstance(info, dict):
        return False
    host = str(info.get("host") or "")
    return bool(info.get("socket")) or host in LOOPBACK | {socket.gethostname(), socket.getfqdn()}
