"""The production drill, small: Postgres instance, code server + daemon as production runs them, the
stand-in, the browser publisher; the daemon's and the code server's process groups are SIGKILLed while a
posting run waits on a slow composer, then restarted. Without a hand: the run is marked failed, its
`browser` slot is freed, its post goes to recovery, the next scheduled posting run succeeds (and publishes
the next post), and no post is on the stand-in twice. scripts/production_drill.py --full also waits for
the killed post to go out."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from xbot_pipeline_tests import dbutil
from xbot_pipeline_tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parents[2]


def _drill():
    path = ROOT / "scripts" / "production_drill.py"
    spec = importlib.util.spec_from_file_location("production_drill", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_killing_the_daemon_mid_post_heals_without_a_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    if BACKEND != "postgres":
        pytest.skip("the production drill runs in the Postgres pass (its Dagster instance is Postgres)")
    dbutil.require_postgres()
    from xbot_pipeline.publishing.browser import pick_executable

    if not pick_executable(None):
        pytest.skip("no Chromium for the browser publisher")
    monkeypatch.setenv("XBOT_DRILL_PG_ADMIN_URL", dbutil.pg_admin_url())
    # the drill sets DAGSTER_HOME and XBOT_DAGSTER_PG_URL in this process for its instance
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("XBOT_DAGSTER_PG_URL", raising=False)

    result = _drill().run_drill("production", timeout=360)
    print("\n".join(result.lines()))

    assert result.slot_held_at_kill, "the kill did not happen while the run held the browser slot"
    seconds = result.seconds
    assert seconds["post A handed to recovery"] <= seconds["killed run marked failed"] + 1  # claims first
    assert seconds["killed run marked failed"] <= seconds["browser slot freed"]
    assert result.final_status["B"] == "posted" and result.copies_on_x["B"] == 1
    assert result.final_status["A"] in ("unknown", "retry_pending", "posted"), result.lines()
    assert result.copies_on_x["A"] <= 1
