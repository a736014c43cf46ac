"""A one-call way to materialize health (for ``xbot demo`` and tests)."""

import dagster as dg

from xbot_pipeline.defs.health.assets import ANALYSIS_ASSETS, HEALTH_ASSETS, error_analysis, snapshot_fresh
from xbot_pipeline.defs.resources import XbotResource


def materialize_health(
    *,
    instance: dg.DagsterInstance | None = None,
    xbot: XbotResource | None = None,
    include_analysis: bool = True,
    raise_on_error: bool = True,
    run_config: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize error_frequency, recovery_metrics, system_health_report (+ checks), error_issues,
    warehouse_snapshot (+ freshness check) and, by default, error_analysis, in one in-process run."""
    assets = [*HEALTH_ASSETS, error_analysis] if include_analysis else list(HEALTH_ASSETS)
    assert set(ANALYSIS_ASSETS) <= set(assets) or not include_analysis
    return dg.materialize(
        [*assets, snapshot_fresh],
        instance=instance,
        resources={"xbot": xbot or XbotResource()},
        raise_on_error=raise_on_error,
        run_config=run_config,
    )
