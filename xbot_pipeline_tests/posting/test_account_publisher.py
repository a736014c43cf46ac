"""Each account's publisher is visible and changeable, and decides the Dagster pool its steps run in.

Before issue 10 the pool came from the global XBOT_PUBLISHER while the publisher came from the account, so
a browser account in an API-default deployment posted outside pool ``browser``; and no command showed or
changed an account's publisher.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import pytest

from xbot_pipeline.defs.learning.jobs import metrics_job
from xbot_pipeline.defs.posting.jobs import posting_job
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.accounts import ensure_account, get_account
from xbot_pipeline.store.posts import get_post
from xbot_pipeline_tests.cli.forkserver import Result, run_xbot
from xbot_pipeline_tests.posting.test_dagster import metadata


def xbot(env: dict[str, str], *args: str) -> Result:
    return run_xbot(env, *args)


def _accounts(env: dict[str, str]) -> dict[str, str]:
    out = xbot(env, "accounts", "--json")
    assert out.returncode == 0, out.stderr
    return {row["id"]: row["publisher"] for row in json.loads(out.stdout)}


def test_the_environment_is_only_the_default_for_new_accounts(store, api_cli_env) -> None:
    env = {**api_cli_env, "XBOT_PUBLISHER": "api"}
    assert xbot(env, "enqueue", "A first post from an API-default deployment.").returncode == 0
    assert _accounts(env) == {DEMO_HANDLE: "api"}
    browser_env = {**env, "XBOT_PUBLISHER": "browser"}
    assert _accounts(browser_env) == {DEMO_HANDLE: "api"}  # an existing account keeps its publisher
    assert "new accounts publish with XBOT_PUBLISHER=browser" in xbot(browser_env, "accounts").stdout
    out = xbot(env, "account-publisher", DEMO_HANDLE, "Browser")
    assert out.returncode == 0 and "publisher browser (was api)" in out.stdout
    assert _accounts(env) == {DEMO_HANDLE: "browser"}
    assert "publisher browser" in xbot(env, "account-publisher", DEMO_HANDLE).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([DEMO_HANDLE, "pigeon"], "publisher must be one of browser, api, got 'pigeon'"),
        (["nobody", "api"], "unknown account 'nobody'"),
    ],
)
def test_a_bad_publisher_change_is_one_line_and_changes_nothing(
    store, api_cli_env, args: list[str], message: str
) -> None:
    ensure_account(store, DEMO_HANDLE, publisher="api")
    out = xbot(api_cli_env, "account-publisher", *args)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [f"xbot: error: {message}"]
    assert get_account(store, DEMO_HANDLE)["publisher"] == "api"


def test_a_browser_account_in_an_api_default_deployment_posts_inside_the_browser_pool(
    store, clock, sandbox, api_cli_env, demo_session_file, xbot_home, database_url, monkeypatch
) -> None:
    for name, value in {
        "XBOT_PUBLISHER": "api",
        "XBOT_X_WEB_URL": sandbox.web_url,
        "XBOT_X_API_URL": sandbox.api_url,
        "XBOT_SESSION_FILE": str(demo_session_file),
    }.items():
        monkeypatch.setenv(name, value)
    clock.set(datetime.now(UTC))
    ensure_account(store, DEMO_HANDLE, publisher="api")  # created under the API default
    assert xbot(api_cli_env, "account-publisher", DEMO_HANDLE, "browser").returncode == 0
    post = enqueue(store, DEMO_HANDLE, "single", "Posted by the browser step, inside its pool.")
    resources = {"xbot": XbotResource(database_url=database_url, home=str(xbot_home))}
    pools_on = {"concurrency": {"pools": {"default_limit": 1, "granularity": "op"}}}  # as dagster.yaml
    with dg.instance_for_test(overrides=pools_on) as instance:
        result = posting_job.execute_in_process(instance=instance, resources=resources)
        assert result.success
        # the executed step claimed a slot of pool 'browser' (the claim created the pool at its default)
        assert instance.event_log_storage.get_concurrency_keys() == {"browser"}
        browser_step = metadata(result, "post_due_browser_items")
        assert browser_step["account_ids"] == [DEMO_HANDLE] and browser_step["posted"] == 1
        metrics = metrics_job.execute_in_process(instance=instance, resources=resources)
        assert metrics.success
        assert metadata(metrics, "collect_browser_post_metrics")["account_ids"] == [DEMO_HANDLE]
        assert metadata(metrics, "collect_post_metrics")["account_ids"] == []
    executed = {e.step_key for e in result.all_node_events if e.event_type_value == "STEP_SUCCESS"}
    # one step per shard of accounts of each kind; no API account, no API step
    assert executed == {"plan_posting_shards", "post_due_browser_items[browser_0]", "summarize_posting"}
    pools = {
        name: posting_job.graph.node_named(name).definition.pool
        for name in ("post_due_items", "post_due_browser_items")
    }
    assert pools == {"post_due_browser_items": "browser", "post_due_items": None}
    assert metrics_job.graph.node_named("collect_browser_post_metrics").definition.pool == "browser"
    row = get_post(store, post["id"])
    assert row["status"] == "posted" and row["tweet_id"]
    assert sandbox.admin.posts()[0]["channel"] == "web"  # it went out through the browser publisher
