"""Which steps run in the ``browser`` pool: those that drive the browser publisher, for the accounts that
use it. Each account keeps its own publisher (``accounts.publisher``, set when it is created from
``XBOT_PUBLISHER`` and changed with ``xbot account-publisher``), so the jobs that publish or read through
the publisher split their work by it: a browser step in pool ``browser`` for the browser accounts, and an
unpooled step for the rest (API accounts), whatever the deployment's default is.
"""

from __future__ import annotations

from collections.abc import Iterator

from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import list_accounts

BROWSER_POOL = "browser"


def browser_account_ids(store: Store) -> list[str]:
    return [a["id"] for a in list_accounts(store) if a["publisher"] == "browser"]


def other_account_ids(store: Store) -> list[str]:
    """Every account that does not publish through the browser (the API ones)."""
    return [a["id"] for a in list_accounts(store) if a["publisher"] != "browser"]


def shards(account_ids: list[str], size: int) -> list[list[str]]:
    """``account_ids`` in shards of at most ``size`` (the fleet's unit of work: one step per shard). No
    accounts of a kind, no step: a fleet without browser accounts needs no worker on queue ``browser``."""
    return [account_ids[i : i + size] for i in range(0, len(account_ids), size)]


def shard_plan(store: Store, size: int) -> Iterator[tuple[str, str, list[str]]]:
    """``(output, mapping_key, account_ids)`` for each shard: the API accounts' shards (output ``api``),
    then the browser accounts' (output ``browser``). Reads the accounts once; the posting and recovery
    plans both fan out from it."""
    accounts = list_accounts(store)
    by_kind = {
        "api": [a["id"] for a in accounts if a["publisher"] != "browser"],
        "browser": [a["id"] for a in accounts if a["publisher"] == "browser"],
    }
    for output, ids in by_kind.items():
        for i, shard in enumerate(shards(ids, size)):
            yield output, f"{output}_{i}", shard
