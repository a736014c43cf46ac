"""Best posting hours: `xbot best-times` through the real entry point, and the `bandit_posteriors` asset's
markdown table and PNG chart, from the same hour arms in the store."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from xbot_pipeline.defs.learning.assets import bandit_posteriors
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.learning.best_times import beta_cdf, beta_quantile, hour_posteriors
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.learning import apply_update
from xbot_pipeline_tests.posting.test_cli import xbot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ACCOUNT = "brand"


def _learned(store: Store) -> None:
    """Hour 09 clearly best (30 pulls, mean 0.6), hour 21 next (mean 0.4), the rest at the prior."""
    ensure_account(store, ACCOUNT, publisher="api")
    arms = [
        {"family": "hour", "arm": "09", "alpha": 18.0, "beta": 12.0, "n_eff": 30.0, "observations": 30},
        {"family": "hour", "arm": "21", "alpha": 4.0, "beta": 6.0, "n_eff": 10.0, "observations": 10},
        {
            "family": "generator",
            "arm": "storyteller",
            "alpha": 3.0,
            "beta": 7.0,
            "n_eff": 10,
            "observations": 10,
        },
    ]
    assert apply_update(store, ACCOUNT, arms, [], store.clock.now())


def test_beta_interval_is_exact() -> None:
    assert beta_cdf(2, 5, 0.3) == pytest.approx(0.579825, abs=1e-9)  # closed form for Beta(2, 5)
    assert beta_quantile(1, 1, 0.05) == pytest.approx(0.05, abs=1e-12)  # uniform
    assert beta_quantile(2, 5, 0.05) == pytest.approx(0.0628498917, abs=1e-8)
    # symmetric: the 5 % and 95 % quantiles of Beta(18, 18) mirror each other around 0.5
    assert beta_quantile(18, 18, 0.05) == pytest.approx(1 - beta_quantile(18, 18, 0.95), abs=1e-12)
    hours = hour_posteriors([{"family": "hour", "arm": "09", "alpha": 18, "beta": 12, "observations": 30}])
    assert len(hours) == 24 and hours[9].pulls == 30 and hours[10].pulls == 0
    low, high = hours[9].interval
    assert hours[9].mean == pytest.approx(0.6) and low < 0.6 < high


def test_best_times_command_prints_the_table_and_writes_the_chart(
    store: Store, settings, tmp_path: Path
) -> None:
    _learned(store)
    env = {**os.environ, "XBOT_HOME": str(settings.home), "XBOT_DATABASE_URL": settings.database_url}
    env["COLUMNS"] = "200"
    chart = tmp_path / "charts" / "brand.png"
    out = xbot(env, "best-times", ACCOUNT, "--png", str(chart))
    assert out.returncode == 0, out.stderr
    assert "posterior mean" in out.stdout and "90 % interval" in out.stdout and "pulls" in out.stdout
    interval = f"{beta_quantile(18, 12, 0.05):.3f} – {beta_quantile(18, 12, 0.95):.3f}"
    [row] = [line for line in out.stdout.splitlines() if line.strip().startswith("09:00")]
    assert row.split()[1:] == ["│", "0.600", "│", *interval.split(), "│", "30"], row
    assert "best hours: 09:00, 21:00" in out.stdout
    assert chart.read_bytes().startswith(PNG_MAGIC)

    listed = json.loads(xbot(env, "best-times", ACCOUNT, "--json").stdout)
    nine = listed["hours"][9]
    assert (nine["hour"], nine["pulls"], round(nine["mean"], 3)) == (9, 30, 0.6)
    assert nine["low"] < 0.6 < nine["high"]
    default = Path(listed["png"])  # no --png: under XBOT_HOME
    assert default == settings.home / "best-times" / "brand.png" and default.read_bytes().startswith(
        PNG_MAGIC
    )

    # bad input (unknown account, a folder or an unwritable --png, ...): the bad-input suite,
    # xbot_pipeline_tests/cli/test_hostile_input.py


def test_bandit_posteriors_asset_attaches_the_table_and_the_chart(
    store: Store, database_url: str, xbot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XBOT_HOME", str(xbot_home))
    _learned(store)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [bandit_posteriors],
            instance=instance,
            resources={"xbot": XbotResource(database_url=database_url, home=str(xbot_home))},
        )
    assert result.success
    [mat] = result.get_asset_materialization_events()
    meta = mat.materialization.metadata
    text = meta["best_times"].value
    assert "| hour (UTC) | posterior mean | 90% interval | pulls |" in text
    assert "| **09:00** | 0.600 |" in text and "| 30 |" in text
    prefix = "(data:image/png;base64,"
    encoded = text[text.index(prefix) + len(prefix) :].split(")", 1)[0]
    assert base64.b64decode(encoded).startswith(PNG_MAGIC)
    assert Path(meta["best_times_png"].value) == xbot_home / "best-times" / "brand.png"
