"""The stand-in as a real server: ids, durability, login, markup contract, API v2, faults, clock."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from xbot_pipeline.clock import ManualClock
from xbot_pipeline.sandbox.server import SandboxServer
from xbot_pipeline.sandbox.state import TWITTER_EPOCH_MS


def api_client(server: SandboxServer, handle: str = "xbot_demo") -> httpx.Client:
    token = server.account(handle).token
    return httpx.Client(base_url=server.api_url, headers={"authorization": f"Bearer {token}"}, timeout=5)


def web_client(server: SandboxServer, handle: str = "xbot_demo") -> httpx.Client:
    cookies = {c["name"]: c["value"] for c in server.admin.storage_state(handle)["cookies"]}
    return httpx.Client(base_url=server.web_url, cookies=cookies, timeout=5)


def test_binds_to_localhost_only_and_ids_are_snowflakes(sandbox: SandboxServer) -> None:
    assert sandbox.web_url.startswith("http://127.0.0.1:")
    api = api_client(sandbox)
    before = datetime.now(UTC)
    ids = [api.post("/2/tweets", json={"text": f"post {i}"}).json()["data"]["id"] for i in range(5)]
    assert all(i.isdigit() and 18 <= len(i) <= 20 for i in ids)
    assert [int(i) for i in ids] == sorted(int(i) for i in ids) and len(set(ids)) == 5
    ms = (int(ids[0]) >> 22) + TWITTER_EPOCH_MS
    # the time is in the high bits (a wrong shift is off by years; 60 s absorbs a slow, loaded machine)
    assert abs(ms / 1000 - before.timestamp()) < 60


def test_state_survives_a_restart_and_reset_keeps_accounts(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    with SandboxServer(path) as first:
        token = first.account().token
        post_id = api_client(first).post("/2/tweets", json={"text": "durable"}).json()["data"]["id"]
    with SandboxServer(path) as second:
        assert second.account().token == token
        assert [p["id"] for p in second.admin.posts()] == [post_id]
        second.admin.reset()
        assert second.admin.posts() == []
        assert {a["handle"] for a in second.admin.accounts()} >= {"xbot_demo", "xbot_second", "xbot_third"}
        second.admin.inject("hang", next_n=1, seconds=60)
        with pytest.raises(httpx.ReadTimeout):
            api_client(second).post("/2/tweets", json={"text": "hangs"}, timeout=0.5)
        thread = second._thread
        started = time.monotonic()  # stopping must not wait for the hung request
    assert time.monotonic() - started < 30  # well under the 60 s hang; wide for a loaded machine
    assert thread is not None and not thread.is_alive()  # no server thread left behind


def test_login_form_sets_cookies_and_logged_out_visits_go_to_login(sandbox: SandboxServer) -> None:
    anon = httpx.Client(base_url=sandbox.web_url, timeout=5)
    home = anon.get("/home", follow_redirects=True)
    assert "/i/flow/login" in str(home.url) and 'data-testid="loginButton"' in home.text
    bad = anon.post("/i/flow/login", data={"username": "xbot_demo", "password": "nope"})
    assert "error" in bad.headers["location"]
    account = sandbox.account()
    good = anon.post("/i/flow/login", data={"username": account.handle, "password": account.password})
    assert good.status_code == 303 and {"auth_token", "ct0"} <= set(good.cookies)
    page = anon.get("/home")
    assert page.status_code == 200
    assert 'data-testid="tweetTextarea_0"' in page.text and 'contenteditable="true"' in page.text
    assert re.search(r'data-testid="tweetButtonInline"[^>]*disabled', page.text)


def test_markup_contract_on_profile_status_and_compose(sandbox: SandboxServer) -> None:
    api, web = api_client(sandbox), web_client(sandbox)
    post_id = api.post("/2/tweets", json={"text": "Is sleep underrated?"}).json()["data"]["id"]
    profile = web.get("/xbot_demo").text
    assert 'article data-testid="tweet"' in profile and 'data-testid="tweetText"' in profile
    assert f'href="/xbot_demo/status/{post_id}"' in profile and "<time datetime=" in profile
    status = web.get(f"/xbot_demo/status/{post_id}").text
    for testid in ("reply", "retweet", "like", "bookmark"):
        assert f'data-testid="{testid}"' in status
    assert "Views" in status
    compose = web.get("/compose/post").text
    assert 'data-testid="addButton"' in compose and 'data-testid="tweetButton"' in compose
    assert web.get("/i/status/" + post_id).status_code == 302


def test_graphql_create_tweet_needs_the_csrf_header_and_answers_rest_id(sandbox: SandboxServer) -> None:
    web = web_client(sandbox)
    url = f"/i/api/graphql/{sandbox.sandbox.graphql_hash}/CreateTweet"
    body = {"variables": {"tweet_text": "from graphql"}}
    assert web.post(url, json=body).status_code == 403
    answer = web.post(url, json=body, headers={"x-csrf-token": web.cookies["ct0"]}).json()
    rest_id = answer["data"]["create_tweet"]["tweet_results"]["result"]["rest_id"]
    assert sandbox.admin.posts()[0]["id"] == rest_id


def test_api_lookup_user_timeline_and_rate_limit_headers(sandbox: SandboxServer) -> None:
    api = api_client(sandbox)
    created = api.post("/2/tweets", json={"text": "one"})
    for header in (
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
        "x-user-limit-24hour-limit",
        "x-user-limit-24hour-remaining",
        "x-user-limit-24hour-reset",
    ):
        assert header in created.headers
    post_id = created.json()["data"]["id"]
    looked = api.get("/2/tweets", params={"ids": post_id, "tweet.fields": "public_metrics,created_at"}).json()
    assert set(looked["data"][0]["public_metrics"]) == {
        "impression_count",
        "like_count",
        "retweet_count",
        "reply_count",
        "quote_count",
        "bookmark_count",
    }
    me = api.get("/2/users/me").json()["data"]
    timeline = api.get(f"/2/users/{me['id']}/tweets").json()
    assert [t["id"] for t in timeline["data"]] == [post_id]
    assert httpx.get(sandbox.api_url + "/2/users/me").status_code == 401
    sandbox.admin.set_limits(requests_per_window=2)
    api.get("/2/users/me")
    statuses = [api.get("/2/tweets", params={"ids": post_id}).status_code for _ in range(3)]
    assert statuses[-1] == 429


def test_fault_validation_probability_and_scope(sandbox: SandboxServer) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        sandbox.admin.inject("meteor", next_n=1)
    with pytest.raises(ValueError, match="exactly one"):
        sandbox.admin.inject("http_500")
    with pytest.raises(ValueError, match="unknown sandbox account"):
        sandbox.admin.inject("http_500", next_n=1, account="nobody")
    sandbox.admin.inject("http_500", prob=0.5)
    api = api_client(sandbox)
    codes = [api.post("/2/tweets", json={"text": f"coin {i}"}).status_code for i in range(40)]
    assert 8 < codes.count(500) < 32 and codes.count(201) == 40 - codes.count(500)
    assert sandbox.admin.clear_faults() == 1


def test_a_manual_clock_moves_timestamps_and_metrics(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 19, 0, tzinfo=UTC))
    with SandboxServer(tmp_path / "x.sqlite3", clock=clock, seed=5) as server:
        api = api_client(server)
        post_id = api.post("/2/tweets", json={"text": "What is your sleep routine? 3 tips"}).json()["data"][
            "id"
        ]
        assert server.admin.posts()[0]["created_at"].startswith("2026-03-02T19:00:00")
        series = []
        for minutes in (0, 10, 25, 120, 24 * 60, 72 * 60):
            clock.set(datetime(2026, 3, 2, 19, 0, tzinfo=UTC) + timedelta(minutes=minutes))
            series.append(server.admin.metrics([post_id])[post_id]["impressions"])
        assert series == sorted(series) and series[0] == 0 and series[-1] > 500
        assert series[2] > 0.4 * series[4]


def test_admin_lists_every_post_past_a_thousand(sandbox: SandboxServer) -> None:
    """The fault campaign compares the store with every live post: a capped list made posts look lost."""
    account = sandbox.state.account("xbot_demo")
    for n in range(1005):
        sandbox.state.create_post(account, f"bulk post {n}", None, "api")
    posts = sandbox.admin.posts()
    assert len(posts) == 1005 and posts[0]["text"] == "bulk post 1004"
    assert len(sandbox.state.posts(account, limit=10)) == 10
    me = api_client(sandbox).get("/2/users/me", params={"user.fields": "public_metrics"}).json()
    assert me["data"]["public_metrics"]["tweet_count"] == 1005
