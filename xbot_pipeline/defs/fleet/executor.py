"""Where posting/recovery steps run: Dagster's own executor (``XBOT_EXECUTOR=in_process``, the default, no
broker) or Dagster's Celery executor (``XBOT_EXECUTOR=celery``), the same jobs either way.

Each step carries the Celery queue it needs (``dagster-celery/queue``): ``browser`` for the browser
accounts' steps (only workers with Chromium listen there), ``api`` for everything else. The workers
(``xbot worker``) build their Celery app from the same settings, so the executor and the workers agree
on the broker, the backend and the delivery rules.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from xbot_pipeline.settings import Settings, load_settings

QUEUE_TAG = "dagster-celery/queue"
BROWSER_QUEUE = "browser"
API_QUEUE = "api"
QUEUES = (BROWSER_QUEUE, API_QUEUE)

# Delivery rules every worker and the executor share. acks_late + reject_on_worker_lost: a task whose
# worker dies (SIGKILL, host lost) goes back to the queue and another worker runs the step again, which
# is safe because a post is claimed atomically and its attempt written ahead (a redelivered step finds
# the row already claimed or posted). prefetch 1: a worker never sits on steps it cannot start.
CELERY_CONFIG: dict[str, Any] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "broker_connection_retry_on_startup": True,
    "broker_connection_max_retries": None,  # a broker restart is waited out, not fatal to a worker
    "result_expires": 3600,
}


def queue_for(publisher: str) -> str:
    return BROWSER_QUEUE if publisher == "browser" else API_QUEUE


def queue_tags(publisher: str) -> dict[str, str]:
    return {QUEUE_TAG: queue_for(publisher)}


def celery_backend(settings: Settings) -> str:
    """The result backend: ``XBOT_CELERY_BACKEND``, else ``rpc://`` on RabbitMQ and the broker on Redis."""
    if settings.celery_backend:
        return settings.celery_backend
    return settings.celery_broker if settings.celery_broker.startswith("redis") else "rpc://"


def executor_config(settings: Settings) -> dict[str, Any]:
    """The Celery executor's config. A broker URL set in the environment is passed as ``{env: ...}``, so a
    password in it never lands in the job's snapshot or the UI."""
    broker: Any = (
        {"env": "XBOT_CELERY_BROKER"} if os.environ.get("XBOT_CELERY_BROKER") else settings.celery_broker
    )
    backend: Any = (
        {"env": "XBOT_CELERY_BACKEND"} if os.environ.get("XBOT_CELERY_BACKEND") else celery_backend(settings)
    )
    return {"broker": broker, "backend": backend, "config_source": dict(CELERY_CONFIG)}


def fleet_executor(settings: Settings | None = None) -> dg.ExecutorDefinition | None:
    """The executor of the fleet's jobs: None (Dagster's default) unless ``XBOT_EXECUTOR=celery``."""
    settings = settings or load_settings()
    if not settings.distributed:
        return None
    from dagster_celery import celery_executor

    return celery_executor.configured(executor_config(settings), name="xbot_celery")
