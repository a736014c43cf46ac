"""``posting_job`` runs as the Dagster instance records them, for the posting_flowing rules."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import dagster as dg

from xbot_pipeline.analytics import flow
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.store import Store
from xbot_pipeline.store import health as q

log = logging.getLogger("xbot_pipeline.health")


def posting_runs(instance: dg.DagsterInstance) -> flow.PostingRuns | None:
    """Queued posting runs and the end of the last successful one; None if the instance cannot say."""
    try:
        queued = instance.get_run_records(
            dg.RunsFilter(job_name=flow.POSTING_JOB, statuses=[dg.DagsterRunStatus.QUEUED]), limit=500
        )
        done = instance.get_run_records(
            dg.RunsFilter(job_name=flow.POSTING_JOB, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1
        )
    except Exception:  # never let a storage hiccup break the health report or alerting
        log.exception("could not read posting runs from the Dagster instance")
        return None
    last = done[0] if done else None
    ended = (last.end_time or last.update_timestamp.timestamp()) if last else None
    return flow.PostingRuns(
        queued_since=tuple(r.create_timestamp.astimezone(UTC) for r in queued),
        last_success=datetime.fromtimestamp(ended, UTC) if ended else None,
    )


def live_posting_flow(store: Store, instance: dg.DagsterInstance, t: HealthThresholds) -> flow.PostingFlow:
    """The posting_flowing rules now, from the store and the instance."""
    now = store.clock.now()
    return flow.posting_flow(q.due_posts_waiting(store, now), posting_runs(instance), now, t)
