"""The planning step both fanned-out jobs start with: one dynamic output per shard of accounts, split by
the publisher the accounts use (``defs/pools.shard_plan``), API shards on output ``api``, browser ones on
``browser``."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from xbot_pipeline.defs.fleet.executor import queue_tags
from xbot_pipeline.defs.fleet.io import FLEET_IO
from xbot_pipeline.defs.pools import shard_plan
from xbot_pipeline.defs.resources import XbotResource


def shard_planner(name: str) -> dg.OpDefinition:
    """An op named ``name`` that fans the accounts out in shards of XBOT_FLEET_SHARD_SIZE."""

    @dg.op(
        name=name,
        out={
            "api": dg.DynamicOut(list, io_manager_key=FLEET_IO),
            "browser": dg.DynamicOut(list, io_manager_key=FLEET_IO),
        },
        tags=queue_tags("api"),
        description="Split the accounts by publisher into shards of XBOT_FLEET_SHARD_SIZE: one step each.",
    )
    def plan(xbot: XbotResource) -> Iterator[dg.DynamicOutput]:
        for output, key, shard in shard_plan(xbot.store, xbot.runtime.settings.fleet_shard_size):
            yield dg.DynamicOutput(shard, mapping_key=key, output_name=output)

    return plan
