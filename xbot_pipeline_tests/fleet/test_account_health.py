"""Health by account: the frame (worst first, which terms fail), the asset and its check naming the failing
accounts, the DuckDB snapshot's per-account table, and `xbot status` showing the fleet worst first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from xbot_pipeline.analytics.accounts import account_health, failing_accounts
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.analytics.service import account_health_frame
from xbot_pipeline.defs.health.materialize import materialize_health
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.store import Store
from xbot_pipeline.store import health as q
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline_tests.fixtures.health import add_event, add_post
from xbot_pipeline_tests.posting.test_cli import xbot as run_xbot


def _fleet(store: Store) -> None:
    """good: 2 posted; flaky: 48 errors (2/h), half recovered, 1 of 2 posts failed; idle: nothing."""
    now = store.clock.now()
    for account in ("good", "flaky", "idle"):
        ensure_account(store, account)
    add_post(store, "posted", now - timedelta(minutes=30), account_id="good")
    add_post(store, "posted", now - timedelta(minutes=20), account_id="good")
    for i in range(48):
        add_event(
            store,
            "error_http_500",
            now - timedelta(minutes=i * 20 + 1),
            account_id="flaky",
            recovered_after=timedelta(seconds=30) if i % 2 else None,
        )
    add_post(store, "posted", now - timedelta(minutes=25), account_id="flaky")
    add_post(store, "failed", now - timedelta(minutes=15), account_id="flaky")


def test_the_frame_puts_the_worst_account_first_and_names_its_failing_terms(store: Store) -> None:
    store.clock.set(datetime.now(UTC))
    _fleet(store)
    frame = account_health_frame(store, store.clock.now(), HealthThresholds())
    assert frame["account_id"].to_list()[0] == "flaky"
    flaky = frame.row(0, named=True)
    # errorHealth 100 - 10*2 = 80, recovery 50 %, posting 50 %, jobs 100: round(24 + 10 + 15 + 20) = 69
    assert flaky["health"] == 69 and flaky["errors_24h"] == 48 and flaky["recovery_rate"] == 50.0
    assert flaky["failing"] == ["health", "recovery_rate", "posting_success"]
    rows = {r["account_id"]: r for r in frame.iter_rows(named=True)}
    assert rows["good"]["health"] == rows["idle"]["health"] == 100 and rows["good"]["posts_posted"] == 2
    assert failing_accounts(frame) == ["flaky"] and failing_accounts(frame, "error_rate") == []
    # the same pure function, straight from the frames the store gives
    now = store.clock.now()
    direct = account_health(
        q.read_errors(store, now - timedelta(hours=24), now),
        q.read_post_outcomes(store, now - timedelta(hours=24)),
        ["good", "flaky", "idle"],
        now,
        HealthThresholds(),
    )
    assert direct.equals(frame)


def test_the_asset_check_names_the_failing_account_and_the_snapshot_has_one_row_per_account(
    store: Store, database_url: str, xbot_home: Path, monkeypatch: pytest.MonkeyPatch, settings, tmp_path
) -> None:
    monkeypatch.setenv("XBOT_HOME", str(xbot_home))
    monkeypatch.delenv("XBOT_ALERT_WEBHOOK_URL", raising=False)
    store.clock.set(datetime.now(UTC))
    _fleet(store)
    xbot = XbotResource(database_url=database_url, home=str(xbot_home))
    with dg.instance_for_test() as instance:
        result = materialize_health(instance=instance, xbot=xbot, include_analysis=False)
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "accounts_healthy"]
    assert not check.passed and check.metadata["accounts"].value == "flaky"
    con = duckdb.connect(str(xbot.runtime.settings.warehouse_path), read_only=True)
    try:
        rows = con.execute("SELECT account_id, health FROM account_health").fetchall()
    finally:
        con.close()
    assert rows[0] == ("flaky", 69) and {r[0] for r in rows} == {"good", "flaky", "idle"}


def test_xbot_status_shows_the_fleet_worst_first(store: Store, settings, api_cli_env) -> None:
    store.clock.set(datetime.now(UTC))
    _fleet(store)
    out = run_xbot(api_cli_env, "status", "--json")
    assert out.returncode == 0, out.stderr
    fleet = json.loads(out.stdout)["fleet"]
    assert fleet[0]["account_id"] == "flaky" and fleet[0]["failing"]
    table = run_xbot(api_cli_env, "status")
    assert table.returncode == 0 and "Fleet: " in table.stdout and "worst first" in table.stdout
    assert table.stdout.index("flaky") < table.stdout.index("good")
