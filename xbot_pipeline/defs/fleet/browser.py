"""What a browser step adds to its output: the worker's shared Chromium at a glance (``browser_pool``
metadata: the process, browsers launched and running, contexts open/opened/evicted/closed idle/refused,
accounts served), so an operator sees one Chromium serving many accounts per worker."""

from __future__ import annotations

from typing import Any

import dagster as dg


def with_browser_pool(output: dg.Output[Any]) -> dg.Output[Any]:
    from xbot_pipeline.publishing.browser.pool import pool_report  # Playwright only on browser steps

    return dg.Output(
        output.value,
        metadata={**output.metadata, "browser_pool": dg.MetadataValue.json(pool_report())},
    )
