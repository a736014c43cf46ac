"""Item 19: production loads the location from one long-running code server; dev keeps workspace.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml

from xbot_pipeline.cli.ui import LOCATION, grpc_workspace_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_production_workspace_points_at_one_code_server_with_the_stable_location_name() -> None:
    production = yaml.safe_load((ROOT / "workspace.production.yaml").read_text())
    assert production == yaml.safe_load(grpc_workspace_yaml("127.0.0.1", 4266))
    assert production["load_from"][0]["grpc_server"]["location_name"] == LOCATION == "xbot_pipeline"


def test_dev_workspace_still_loads_the_module_under_the_same_name() -> None:
    dev = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    entry = dev["load_from"][0]["python_module"]
    assert entry["module_name"] == "xbot_pipeline.definitions" and entry["location_name"] == LOCATION


def test_drill_cron_overrides_default_and_bad_values_are_one_line(monkeypatch) -> None:
    import pytest

    from xbot_pipeline.defs.cron import cron
    from xbot_pipeline.settings import SettingsError

    monkeypatch.delenv("XBOT_POSTING_CRON", raising=False)
    assert cron("posting") == "*/5 * * * *"
    monkeypatch.setenv("XBOT_POSTING_CRON", "* * * * *")
    assert cron("posting") == "* * * * *"
    monkeypatch.setenv("XBOT_POSTING_CRON", "every minute")
    with pytest.raises(SettingsError, match="XBOT_POSTING_CRON must be a cron expression"):
        cron("posting")
