"""`xbot accounts` and `xbot account-limits`: operator-set limits that `xbot post` honours."""

from __future__ import annotations

import json
import os

import pytest

from xbot_pipeline.posting.config import Limits, parse_limit_overrides
from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.posts import list_posts
from xbot_pipeline_tests.posting.test_cli import xbot


@pytest.fixture
def env(api_cli_env):
    return api_cli_env


def _posted(store) -> int:
    return sum(1 for p in list_posts(store) if p["status"] == "posted")


def test_operator_limits_apply_to_the_next_posting_run(store, env, sandbox):
    for n in range(3):
        assert xbot(env, "enqueue", f"limit check {n} {os.getpid()}").returncode == 0
    out = xbot(env, "account-limits", DEMO_HANDLE, "per_run=1")
    assert out.returncode == 0 and "1 per run" in out.stdout, out.stderr
    assert xbot(env, "post").returncode == 0
    assert _posted(store) == 1
    # seed spacing (20 min) now holds the rest back; the operator lifts it
    assert xbot(env, "post").returncode == 0
    assert _posted(store) == 1
    out = xbot(env, "account-limits", DEMO_HANDLE, "per_run=5", "min_spacing_s=0", "per_hour=10")
    assert out.returncode == 0, out.stderr
    assert xbot(env, "post").returncode == 0
    assert _posted(store) == 3
    listed = json.loads(xbot(env, "accounts", "--json").stdout)
    (row,) = [r for r in listed if r["id"] == DEMO_HANDLE]
    assert row["limits"]["per_run"] == 5 and row["limits"]["replies_per_hour"] == Limits().replies_per_hour
    assert xbot(env, "account-limits", DEMO_HANDLE, "--reset").returncode == 0
    (row,) = json.loads(xbot(env, "accounts", "--json").stdout)
    assert row["overrides"] == {} and row["limits"]["per_run"] == Limits().per_run


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("bogus=1", "NAME one of"),
        ("per_hour", "NAME=VALUE"),
        ("per_hour=1.5", "whole number"),
        ("min_spacing_s=soon", "must be a number"),
        ("per_run=-2", "must not be negative"),
    ],
)
def test_bad_limits_are_one_line_and_change_nothing(store, env, pair, message):
    assert xbot(env, "enqueue", "creates the account").returncode == 0
    out = xbot(env, "account-limits", DEMO_HANDLE, pair)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    (row,) = json.loads(xbot(env, "accounts", "--json").stdout)
    assert row["overrides"] == {}
    with pytest.raises(ValueError, match=message):
        parse_limit_overrides([pair])


def test_unknown_account_is_an_error(store, env):
    out = xbot(env, "account-limits", "ghost", "per_run=1")
    assert out.returncode == 2 and "unknown account 'ghost'" in out.stderr
