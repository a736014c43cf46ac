"""One posting pass and one recovery pass wired from settings: what ``posting_job`` / ``recovery_job`` and
``xbot post`` / ``xbot recover`` run (publishers, configuration and the learning hand-off from XBOT_*)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from xbot_pipeline.passes.configs import posting_config_for, recovery_config_for
from xbot_pipeline.passes.learning import posting_hooks
from xbot_pipeline.passes.publishers import publisher_for_settings
from xbot_pipeline.posting.run import PostingRunReport, run_posting
from xbot_pipeline.recovery.run import RecoveryReport, run_recovery
from xbot_pipeline.runtime import Runtime


def posting_pass(
    runtime: Runtime, *, run_id: str | None = None, account_ids: list[str] | None = None
) -> PostingRunReport:
    """One posting pass; every published post is handed to learning (``posting_hooks``): a failing hook is
    tracked and never blocks posting. The job and ``xbot post`` both run exactly this."""
    publisher_for = publisher_for_settings(runtime.settings, clock=runtime.clock, store=runtime.store)
    return run_posting(
        runtime.store,
        runtime.tracker,
        publisher_for,
        config=posting_config_for(runtime),
        run_id=run_id,
        on_published=posting_hooks(runtime),
        account_ids=account_ids,
    )


def recovery_pass(
    runtime: Runtime, *, account_ids: list[str] | None = None, **changes: Any
) -> RecoveryReport:
    """One recovery pass (over ``account_ids`` only when given: one shard of the fleet); ``changes``
    override ``RecoveryConfig`` fields (e.g. ``settle_s``)."""
    publisher_for = publisher_for_settings(runtime.settings, clock=runtime.clock, store=runtime.store)
    return run_recovery(
        runtime.store,
        runtime.tracker,
        publisher_for,
        config=replace(recovery_config_for(runtime), **changes),
        posting_config=posting_config_for(runtime),
        account_ids=account_ids,
    )
