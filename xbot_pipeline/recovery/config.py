"""Recovery configuration."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RecoveryConfig:
    stuck_after_s: float = 10 * 60  # a 'posting' row claimed longer ago than this is stuck
    settle_s: float = 2 * 60  # after the last attempt, wait this long before trusting a timeline miss
    timeline_limit: int = 100  # posts read per account per pass
    missing_id_give_up_s: float = 7 * 24 * 3600  # stop looking for an id after this (the post stays 'posted')
    unsettled_alert_s: float = 24 * 3600  # an open post older than this that recovery cannot settle alerts
    journal_path: Path | None = None


def fast_recovery_config(**changes: Any) -> RecoveryConfig:
    """Short waits for the fault campaign and simulations."""
    return replace(RecoveryConfig(stuck_after_s=5, settle_s=1), **changes)
