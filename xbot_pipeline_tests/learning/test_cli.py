"""`xbot plan`, `xbot metrics` and `xbot learning` as an operator runs them (real processes, real store)."""

from __future__ import annotations

import json

import pytest

from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.learning import apply_update
from xbot_pipeline.store.posts import list_posts
from xbot_pipeline_tests.posting.test_cli import xbot


@pytest.fixture
def env(api_cli_env):
    return {**api_cli_env, "XBOT_LEARNING_POSTS_PER_DAY": "3", "COLUMNS": "200"}


def test_plan_fills_the_queue_once_and_metrics_has_nothing_due(store, env) -> None:
    ensure_account(store, DEMO_HANDLE, publisher="api")
    out = xbot(env, "plan", "--seed", "7")
    assert out.returncode == 0, out.stderr
    queued = list_posts(store, DEMO_HANDLE, ("queued",))
    assert f"planning: {len(queued)} queued" in out.stdout and len(queued) >= 3
    assert all(p["generator"] and 0 < p["propensity"] <= 1 for p in queued)
    again = xbot(env, "plan")
    assert again.returncode == 0 and "planning: 0 queued" in again.stdout, again.stdout
    out = xbot(env, "metrics")
    assert out.returncode == 0 and "metrics: nothing due" in out.stdout, (out.stdout, out.stderr)


def test_learning_lists_arms_best_first(store, env) -> None:
    ensure_account(store, DEMO_HANDLE, publisher="api")
    arms = [
        {
            "family": "generator",
            "arm": "storyteller",
            "alpha": 2.0,
            "beta": 38.0,
            "n_eff": 38.0,
            "observations": 40,
        },
        {
            "family": "generator",
            "arm": "researcher",
            "alpha": 6.0,
            "beta": 34.0,
            "n_eff": 38.0,
            "observations": 40,
        },
        {"family": "hour", "arm": "hour:09", "alpha": 1.0, "beta": 1.0, "n_eff": 0.0, "observations": 0},
    ]
    assert apply_update(store, DEMO_HANDLE, arms, [], store.clock.now())
    out = xbot(env, "learning", "--json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert [(a["family"], a["arm"]) for a in listed["arms"]] == [
        ("generator", "researcher"),
        ("generator", "storyteller"),
        ("hour", "hour:09"),
    ]
    assert listed["arms"][0]["mean"] == pytest.approx(0.15)
    table = xbot(env, "learning", "--update")
    assert table.returncode == 0, table.stderr
    assert "learning: 0 hand-offs swept, 0 rewards measured, 0 applied" in table.stdout
    assert "researcher" in table.stdout and "0.150" in table.stdout
    bad = xbot(env, "learning", "--account", "nobody")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "no learning state for account 'nobody'" in bad.stderr
