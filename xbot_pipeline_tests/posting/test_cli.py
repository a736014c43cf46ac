"""`xbot enqueue` and friends through the real console entry point (one clear line on bad input)."""

from __future__ import annotations

import json
import os

import pytest

from xbot_pipeline.store.posts import get_post
from xbot_pipeline_tests.cli.forkserver import Result, run_xbot


def xbot(env: dict, *args: str) -> Result:
    """`xbot ARGS` as a real process (forked from one that imported the CLI once: see cli/forkserver.py)."""
    return run_xbot(env, *args, timeout_s=60)


@pytest.fixture
def env(settings):
    return {**os.environ, "XBOT_HOME": str(settings.home), "XBOT_DATABASE_URL": settings.database_url}


def test_enqueue_single_thread_reply_and_cancel(store, env):
    out = xbot(env, "enqueue", "hello from the cli", "--json")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)
    assert row["kind"] == "single" and row["status"] == "queued"
    out = xbot(env, "enqueue", "--kind", "thread", "part one", "part two", "--json")
    assert out.returncode == 0, out.stderr
    out = xbot(env, "enqueue", "--kind", "reply", "--reply-to", "1790000000000000001", "a reply", "--json")
    assert out.returncode == 0, out.stderr
    assert xbot(env, "cancel", str(row["id"])).returncode == 0
    assert get_post(store, row["id"])["status"] == "cancelled"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   "], "empty or only whitespace"),
        (["--kind", "thread", "alone"], "at least 2 parts"),
        (["--kind", "reply", "--reply-to", "abc", "x"], "not a post id"),
        (["x" * 281], "281 weighted characters"),
        (["--at", "tomorrow", "x"], "ISO 8601"),
        (["--account", "ghost", "x"], "unknown account"),
    ],
)
def test_bad_input_exits_nonzero_with_one_line(store, env, args, message):
    out = xbot(env, "enqueue", *args)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr


def test_duplicate_and_cancel_errors(store, env):
    assert xbot(env, "enqueue", "only once").returncode == 0
    out = xbot(env, "enqueue", "Only once!")
    assert out.returncode != 0 and "already queued or posted" in out.stderr
    out = xbot(env, "cancel", "9999")
    assert out.returncode != 0 and "does not exist" in out.stderr
