"""Browser and API metrics agree, quotes included (the browser reads them from X's TweetDetail answer)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from xbot_pipeline.clock import ManualClock
from xbot_pipeline.publishing.api import ApiPublisher
from xbot_pipeline.publishing.base import Outcome, PostRequest
from xbot_pipeline.publishing.browser import BrowserPublisher
from xbot_pipeline.publishing.browser.answers import quote_count
from xbot_pipeline.sandbox.server import SandboxServer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_chromium_left")]

HANDLE = "xbot_third"  # 2,500 followers: enough reactions for a few quotes


def test_browser_and_api_metrics_agree_with_quotes(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 19, 0, tzinfo=UTC))  # the audience's best hour
    with SandboxServer(tmp_path / "x.sqlite3", clock=clock) as x:
        session = x.write_storage_state(HANDLE, tmp_path / "third.json")
        texts = [
            "I sleep 8 hours and my stress dropped: what changed for you after 30 days?",
            "My exercise log, week 12: 3 short runs, 2 strength days. Which one would you drop?",
        ]
        with ApiPublisher(x.api_url, x.account(HANDLE).token, clock=clock) as api:
            ids = [api.publish(PostRequest("single", [t])).tweet_id for t in texts]
            assert all(ids)
            clock.advance(hours=48)  # the audience has (almost) finished reacting; the clock is frozen now
            by_api = api.fetch_metrics(ids)
        with BrowserPublisher(x.web_url, session, HANDLE, op_timeout_s=15) as browser:
            by_browser = browser.fetch_metrics(ids)
            assert browser.publish(PostRequest("single", ["still posts"])).outcome is Outcome.POSTED
        assert by_browser == by_api
        assert sum(m.quotes for m in by_api.values()) > 0, by_api  # the comparison covers quotes
        admin = x.admin.metrics(ids)
        assert [by_browser[i].quotes for i in ids] == [admin[i]["quotes"] for i in ids]


def test_tweet_detail_needs_a_session_and_names_the_post(sandbox: SandboxServer) -> None:
    with ApiPublisher(sandbox.api_url, sandbox.account().token) as api:
        tweet_id = api.publish(PostRequest("single", ["detail check"])).tweet_id
    assert tweet_id
    url = f"{sandbox.web_url}/i/api/graphql/nBS-WpgA6ZG0CyNHD517JQ/TweetDetail"
    params = {"variables": f'{{"focalTweetId": "{tweet_id}"}}'}
    assert httpx.get(url, params=params).status_code == 401  # logged out
    assert quote_count({"data": {"x": [{"rest_id": "1", "legacy": {"quote_count": 4}}]}}, "1") == 4
    assert quote_count({"data": {"x": [{"rest_id": "1", "legacy": {}}]}}, "1") is None
    assert quote_count({"rest_id": "2", "legacy": {"quote_count": 4}}, "1") is None
