"""The API publisher against the real stand-in: every fault maps to the right outcome."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest

from xbot_pipeline.publishing.api import ApiPublisher
from xbot_pipeline.publishing.base import Outcome, PostRequest, RootCause
from xbot_pipeline.sandbox.server import SandboxServer


@pytest.fixture
def api(sandbox: SandboxServer, demo_token: str):
    publisher = ApiPublisher(sandbox.api_url, demo_token, timeout_s=1.5)
    yield publisher
    publisher.close()


def single(text: str) -> PostRequest:
    return PostRequest("single", [text])


def test_posts_and_keeps_the_rate_budget(api: ApiPublisher, sandbox: SandboxServer) -> None:
    result = api.publish(single("Hello from the API publisher"))
    assert result.outcome is Outcome.POSTED
    assert result.tweet_id and result.tweet_id.isdigit() and 18 <= len(result.tweet_id) <= 20
    assert [p["id"] for p in sandbox.admin.posts()] == [result.tweet_id]
    assert result.rate_budget is not None and result.rate_budget.remaining is not None
    assert result.rate_budget.reset_at and result.rate_budget.reset_at > datetime.now(UTC)


def test_thread_is_a_chain_of_replies_and_reply_has_its_parent(
    api: ApiPublisher, sandbox: SandboxServer
) -> None:
    thread = api.publish(PostRequest("thread", ["part one", "part two", "part three"]))
    assert thread.outcome is Outcome.POSTED and len(thread.tweet_ids) == 3
    by_id = {p["id"]: p for p in sandbox.admin.posts()}
    assert by_id[thread.tweet_ids[0]]["parent_id"] is None
    assert by_id[thread.tweet_ids[1]]["parent_id"] == thread.tweet_ids[0]
    assert by_id[thread.tweet_ids[2]]["parent_id"] == thread.tweet_ids[1]
    assert [by_id[i]["text"] for i in thread.tweet_ids] == ["part one", "part two", "part three"]
    reply = api.publish(PostRequest("reply", ["a reply"], reply_to=thread.tweet_ids[2]))
    assert reply.outcome is Outcome.POSTED
    assert sandbox.admin.posts()[0]["parent_id"] == thread.tweet_ids[2]


def test_thread_failing_midway_reports_what_went_out(api: ApiPublisher, sandbox: SandboxServer) -> None:
    sandbox.admin.inject("http_500", next_n=1, skip=1)
    result = api.publish(PostRequest("thread", ["first", "second", "third"]))
    assert result.outcome is Outcome.RETRYABLE
    assert len(result.tweet_ids) == 1 and result.tweet_id == result.tweet_ids[0]
    assert [p["text"] for p in sandbox.admin.posts()] == ["first"]
    assert "part 2 of 3" in result.message


@pytest.mark.parametrize(
    ("kind", "params", "outcome", "root", "error_type", "created"),
    [
        ("http_500", {}, Outcome.RETRYABLE, RootCause.NETWORK, "http_500", 0),
        ("rate_limit", {"reset_s": 120}, Outcome.RETRYABLE, RootCause.RATE_LIMIT, "rate_limited", 0),
        ("hang", {"seconds": 10}, Outcome.UNKNOWN, RootCause.NETWORK, "timeout_after_send", 0),
        ("missing_id", {}, Outcome.POSTED_NO_ID, RootCause.UNKNOWN, "missing_id", 1),
        ("drop", {}, Outcome.UNKNOWN, RootCause.NETWORK, "connection_dropped", 1),
        ("duplicate", {}, Outcome.REJECTED, RootCause.DUPLICATE, "duplicate_content", 0),
        ("automation", {}, Outcome.REJECTED, RootCause.AUTOMATION_BLOCK, "automation_block", 0),
        ("session_expired", {}, Outcome.REJECTED, RootCause.SESSION, "unauthorized", 0),
    ],
)
def test_each_fault_gives_its_outcome(
    api: ApiPublisher, sandbox: SandboxServer, kind, params, outcome, root, error_type, created
) -> None:
    sandbox.admin.inject(kind, next_n=1, account="xbot_demo", **params)
    result = api.publish(single(f"a post meeting {kind}"))
    assert (result.outcome, result.root_cause, result.error_type) == (outcome, root, error_type)
    assert len(sandbox.admin.posts()) == created
    if kind == "rate_limit":
        assert result.retry_after is not None
        assert abs((result.retry_after - datetime.now(UTC)) - timedelta(seconds=120)) < timedelta(seconds=5)
    if kind == "duplicate":
        assert "maybe already posted: reconcile" in result.message
    # the fault was used up: the next post goes through
    assert api.publish(single(f"after {kind}")).outcome is Outcome.POSTED


def test_a_lagging_timeline_hides_the_post_until_it_catches_up(tmp_path) -> None:
    from xbot_pipeline.clock import ManualClock

    clock = ManualClock()
    with SandboxServer(tmp_path / "x.sqlite3", clock=clock) as server:
        server.admin.inject("missing_id", next_n=1, hide_s=120)
        with ApiPublisher(server.api_url, server.account().token) as api:
            result = api.publish(single("live but not yet listed"))
            assert result.outcome is Outcome.POSTED_NO_ID
            assert api.recent_posts() == []
            clock.advance(121)
            assert [p.text for p in api.recent_posts()] == ["live but not yet listed"]


def test_another_account_posts_with_its_own_token(sandbox: SandboxServer) -> None:
    with ApiPublisher(sandbox.api_url, sandbox.account("xbot_second").token) as api:
        result = api.publish(single("from the second account"))
    assert result.outcome is Outcome.POSTED
    assert sandbox.admin.posts()[0]["author"] == "xbot_second"
    assert sandbox.admin.posts(account="xbot_demo") == []


def test_faults_for_another_account_do_not_fire(api: ApiPublisher, sandbox: SandboxServer) -> None:
    sandbox.admin.inject("http_500", prob=1.0, account="xbot_second")
    assert api.publish(single("not affected")).outcome is Outcome.POSTED


def test_real_duplicate_and_real_rate_limit(api: ApiPublisher, sandbox: SandboxServer) -> None:
    assert api.publish(single("Same words twice")).outcome is Outcome.POSTED
    dup = api.publish(single("same   words TWICE"))
    assert (dup.outcome, dup.root_cause) == (Outcome.REJECTED, RootCause.DUPLICATE)
    sandbox.admin.set_limits(posts_per_day=2)
    assert api.publish(single("second of the day")).outcome is Outcome.POSTED
    limited = api.publish(single("third of the day"))
    assert (limited.outcome, limited.error_type) == (Outcome.RETRYABLE, "rate_limited")
    assert limited.retry_after and limited.retry_after > datetime.now(UTC) + timedelta(hours=23)
    assert limited.rate_budget and limited.rate_budget.remaining == 0


def test_connection_refused_is_retryable_network() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with ApiPublisher(f"http://127.0.0.1:{port}", "sbx-token-unused-123") as api:
        result = api.publish(single("nobody listens"))
    assert (result.outcome, result.root_cause, result.error_type) == (
        Outcome.RETRYABLE,
        RootCause.NETWORK,
        "network_unreachable",
    )


def test_reads_timeline_metrics_and_followers(api: ApiPublisher, sandbox: SandboxServer) -> None:
    first = api.publish(single("Why does sleep matter? 3 reasons"))
    second = api.publish(PostRequest("reply", ["a follow-up"], reply_to=first.tweet_id))
    posts = api.recent_posts(10)
    assert [p.tweet_id for p in posts] == [second.tweet_id, first.tweet_id]
    assert posts[0].in_reply_to == first.tweet_id and posts[1].in_reply_to is None
    metrics = api.fetch_metrics([first.tweet_id, "1234567890123456789"])
    assert set(metrics) == {first.tweet_id}
    assert api.followers_count() == 1000


def test_no_secret_in_results_or_logs(
    api: ApiPublisher, sandbox: SandboxServer, demo_token: str, caplog, tracker, store
) -> None:
    caplog.set_level(logging.DEBUG)
    for kind in ("http_500", "session_expired", "automation", "drop"):
        sandbox.admin.inject(kind, next_n=1)
        result = api.publish(single(f"secret check {kind}"))
        tracker.track_error("publishing", result.error_type or "none", result.message, account_id="main")
    api.fetch_metrics(["1"])
    assert demo_token not in caplog.text
    import sqlalchemy as sa

    from xbot_pipeline.store.schema import system_events

    with store.connect() as conn:
        rows = conn.execute(sa.select(system_events.c.event_data)).all()
    assert rows and all(demo_token not in str(r[0]) for r in rows)
