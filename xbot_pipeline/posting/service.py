"""Settings-driven entry points (the Dagster ops and the CLI): build config and publishers from XBOT_*."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.journal import default_journal_path
from xbot_pipeline.posting.publishers import publisher_for_settings
from xbot_pipeline.posting.run import PostingRunReport, run_posting
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.recovery.run import RecoveryReport, run_recovery
from xbot_pipeline.runtime import Runtime


def posting_config_for(runtime: Runtime) -> PostingConfig:
    return PostingConfig(journal_path=default_journal_path(runtime.settings.home))


def recovery_config_for(runtime: Runtime) -> RecoveryConfig:
    return RecoveryConfig(journal_path=default_journal_path(runtime.settings.home))


def posting_pass(
    runtime: Runtime, *, run_id: str | None = None, on_published: tuple[Any, ...] = ()
) -> PostingRunReport:
    publisher_for = publisher_for_settings(runtime.settings, clock=runtime.clock, tracker=runtime.tracker)
    return run_posting(
        runtime.store,
        runtime.tracker,
        publisher_for,
        clock=runtime.clock,
        config=posting_config_for(runtime),
        run_id=run_id,
        on_published=on_published,
    )


def recovery_pass(runtime: Runtime, **changes: Any) -> RecoveryReport:
    """One recovery pass; ``changes`` override ``RecoveryConfig`` fields (e.g. ``settle_s``)."""
    publisher_for = publisher_for_settings(runtime.settings, clock=runtime.clock, tracker=runtime.tracker)
    return run_recovery(
        runtime.store,
        runtime.tracker,
        publisher_for,
        clock=runtime.clock,
        config=replace(recovery_config_for(runtime), **changes),
        posting_config=posting_config_for(runtime),
    )


def with_journal(config: PostingConfig, runtime: Runtime) -> PostingConfig:
    return replace(config, journal_path=default_journal_path(runtime.settings.home))
