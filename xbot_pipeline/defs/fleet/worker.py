"""The Celery app a fleet worker runs (``xbot worker`` starts ``celery -A`` on this module): Dagster's
step task on the broker, backend and delivery rules the executor uses (``executor.py``). Steps run in the
pool process's main thread, so each pool process keeps one Chromium (``publishing/browser/pool.py``) for
all the browser accounts its steps drive, closed when the process ends."""

from __future__ import annotations

import contextlib

from celery.signals import worker_process_shutdown  # type: ignore[import-untyped]
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from xbot_pipeline.defs.fleet.executor import CELERY_CONFIG, celery_backend

# Imported before Celery forks its pool: every child starts with the jobs' code loaded, so the first
# step a child runs does not pay the import (seconds on a small machine).
from xbot_pipeline.defs.posting import jobs as _posting_jobs  # noqa: F401
from xbot_pipeline.defs.recovery import jobs as _recovery_jobs  # noqa: F401
from xbot_pipeline.settings import load_settings

_settings = load_settings()
app = make_app(
    CeleryExecutor(
        retries=RetryMode(RetryMode.DISABLED),
        broker=_settings.celery_broker,
        backend=celery_backend(_settings),
        config_source=dict(CELERY_CONFIG),
    ).app_args()
)
execute_plan = create_task(app)


@worker_process_shutdown.connect
def _close_browsers(**_: object) -> None:
    """A pool process that ends saves its accounts' browser contexts and stops its one Chromium."""
    from xbot_pipeline.publishing.browser.pool import close_shared_pools

    # the Playwright driver ends with the process anyway, taking Chromium with it
    with contextlib.suppress(Exception):
        close_shared_pools()
