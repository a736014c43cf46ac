"""Production's posting and recovery configuration: the defaults, with the outcome journal in XBOT_HOME."""

from __future__ import annotations

from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.journal import default_journal_path
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.runtime import Runtime


def posting_config_for(runtime: Runtime) -> PostingConfig:
    """Production's posting configuration: the defaults, with the outcome journal in XBOT_HOME, X's
    24-hour caps from XBOT_X_TIER (and its overrides) and the review window's auto-approval
    (XBOT_REVIEW_AUTO_APPROVE_MIN)."""
    return PostingConfig(
        journal_path=default_journal_path(runtime.settings.home),
        x_budget=runtime.settings.x_budget,
        auto_approve_after_min=runtime.settings.review_auto_approve_min,
    )


def recovery_config_for(runtime: Runtime) -> RecoveryConfig:
    """Production's recovery configuration: the defaults, replaying the outcome journal in XBOT_HOME."""
    return RecoveryConfig(journal_path=default_journal_path(runtime.settings.home))
