"""Schedule intervals from the settings (``XBOT_POSTING_CRON`` / ``XBOT_RECOVERY_CRON``), for drills and
tests only: scripts/production_drill.py and its CI variant run posting and recovery every minute.
Production keeps the ``*/5`` defaults. A malformed value fails the code location at load with one line.
"""

from __future__ import annotations

from dagster._utils.schedules import is_valid_cron_string

from xbot_pipeline.settings import SettingsError, load_settings


def cron(job: str) -> str:
    """The cron expression of ``posting`` or ``recovery`` from the settings."""
    name = f"XBOT_{job.upper()}_CRON"
    value = str(getattr(load_settings(), f"{job}_cron"))
    if not is_valid_cron_string(value):
        raise SettingsError(f"{name} must be a cron expression such as '*/5 * * * *', got {value!r}")
    return value
