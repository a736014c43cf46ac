"""The browser publisher with real Chromium against the real stand-in: faults, threads, replies, cleanup."""

from __future__ import annotations

import logging
import stat
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from xbot_pipeline.clock import ManualClock
from xbot_pipeline.publishing.base import Outcome, PostRequest, RootCause
from xbot_pipeline.publishing.browser import BrowserPublisher
from xbot_pipeline.sandbox.server import SandboxServer
from xbot_pipeline.store.schema import system_events
from xbot_pipeline_tests.fixtures.sandbox import chromium_descendants

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_chromium_left")]

# A post takes ~0.25 s on a quiet machine; 20 s leaves room for a loaded 2-core one (8 s timed out there).
# Tests of the deadline itself set their own short one.
OP_TIMEOUT_S = 20


@pytest.fixture(scope="module")
def shared_browser(sandbox_server: SandboxServer, demo_session_file: Path) -> Iterator[BrowserPublisher]:
    """One browser for the module (as production reuses one per run)."""
    with BrowserPublisher(
        sandbox_server.web_url,
        demo_session_file,
        "xbot_demo",
        op_timeout_s=OP_TIMEOUT_S,
        fallback_timeout_s=3,
    ) as publisher:
        yield publisher
    assert publisher.launches == 1


@pytest.fixture
def browser(shared_browser: BrowserPublisher, sandbox: SandboxServer) -> BrowserPublisher:
    shared_browser.op_timeout_s = OP_TIMEOUT_S
    return shared_browser


def single(text: str) -> PostRequest:
    return PostRequest("single", [text])


def test_posts_with_the_id_from_create_tweet(browser: BrowserPublisher, sandbox: SandboxServer) -> None:
    result = browser.publish(single("Hello from Chromium"))
    assert result.outcome is Outcome.POSTED, result.message
    assert result.message == "posted 1 part(s)"  # from the GraphQL answer, no fallback needed
    posts = sandbox.admin.posts()
    assert [(p["id"], p["text"], p["channel"]) for p in posts] == [
        (result.tweet_id, "Hello from Chromium", "web")
    ]


def test_thread_and_reply_land_in_order_with_parents(
    browser: BrowserPublisher, sandbox: SandboxServer
) -> None:
    thread = browser.publish(PostRequest("thread", ["1/ sleep first", "2/ then protein", "3/ then walk"]))
    assert thread.outcome is Outcome.POSTED and len(thread.tweet_ids) == 3, thread.message
    by_id = {p["id"]: p for p in sandbox.admin.posts()}
    parents = [by_id[i]["parent_id"] for i in thread.tweet_ids]
    assert parents == [None, thread.tweet_ids[0], thread.tweet_ids[1]]
    assert [by_id[i]["text"] for i in thread.tweet_ids] == [
        "1/ sleep first",
        "2/ then protein",
        "3/ then walk",
    ]
    reply = browser.publish(PostRequest("reply", ["replying to the middle"], reply_to=thread.tweet_ids[1]))
    assert reply.outcome is Outcome.POSTED, reply.message
    assert {p["id"]: p for p in sandbox.admin.posts()}[reply.tweet_id]["parent_id"] == thread.tweet_ids[1]


@pytest.mark.parametrize(
    ("kind", "params", "outcome", "error_type", "created"),
    [
        ("http_500", {}, Outcome.RETRYABLE, "http_500", 0),
        ("rate_limit", {"reset_s": 90}, Outcome.RETRYABLE, "rate_limited", 0),
        ("missing_id", {}, Outcome.POSTED, None, 1),  # id found on the profile page
        ("drop", {}, Outcome.POSTED, None, 1),  # answer cut, id found on the profile page
        ("missing_id", {"hide_s": 60}, Outcome.POSTED_NO_ID, "missing_id", 1),  # the toast confirmed it
        ("drop", {"hide_s": 60}, Outcome.UNKNOWN, "answer_lost", 1),  # nothing confirmed it
        ("duplicate", {}, Outcome.REJECTED, "duplicate_content", 0),
        ("automation", {}, Outcome.REJECTED, "automation_block", 0),
        ("session_expired", {}, Outcome.REJECTED, "session_expired", 0),
        ("consent", {}, Outcome.POSTED, None, 1),  # dismissed
        ("consent", {"sticky": True}, Outcome.RETRYABLE, "consent_wall", 0),
        ("alt_layout", {}, Outcome.POSTED, None, 1),  # found by the fallback selectors
        ("slow_button", {"seconds": 1.0}, Outcome.POSTED, None, 1),
    ],
)
def test_each_fault_gives_its_outcome(
    browser: BrowserPublisher, sandbox: SandboxServer, kind, params, outcome, error_type, created
) -> None:
    sandbox.admin.inject(kind, next_n=1, account="xbot_demo", **params)
    text = f"browser meets {kind} {len(params)}"
    result = browser.publish(single(text))
    assert (result.outcome, result.error_type) == (outcome, error_type), result.message
    posts = sandbox.admin.posts()
    assert len(posts) == created
    if outcome is Outcome.POSTED:
        assert result.tweet_id == posts[0]["id"]
    if outcome in (Outcome.POSTED_NO_ID, Outcome.UNKNOWN):
        assert result.tweet_id is None
    if kind == "rate_limit":
        assert result.root_cause is RootCause.RATE_LIMIT
        assert result.retry_after and result.retry_after > datetime.now(UTC) + timedelta(seconds=60)
    if kind == "session_expired":
        assert result.root_cause is RootCause.SESSION
    if kind == "automation":
        assert result.root_cause is RootCause.AUTOMATION_BLOCK
    assert browser.publish(single(f"after {kind} {len(params)}")).outcome is Outcome.POSTED


def test_hang_past_the_deadline_is_unknown_and_really_aborted(
    browser: BrowserPublisher, sandbox: SandboxServer
) -> None:
    browser.session.open_page()  # launched and signed in: the deadline below covers the post alone
    browser.op_timeout_s = 6
    sandbox.admin.inject("hang", next_n=1, seconds=30)
    result = browser.publish(single("this one hangs"))
    assert (result.outcome, result.error_type) == (Outcome.UNKNOWN, "timeout_after_submit"), result.message
    # aborted at its 6 s deadline, not after the 30 s hang: the margin absorbs a loaded 2-core machine,
    # where reaching the composer and closing the hung page can take seconds (the publisher reads real time)
    assert result.elapsed_s < 20
    assert browser.session.page is None and browser.session.context is None  # the hung page was closed
    browser.op_timeout_s = OP_TIMEOUT_S
    after = browser.publish(single("the next post is unaffected"))
    assert after.outcome is Outcome.POSTED and browser.launches == 1


def test_the_deadline_reads_the_injected_clock(sandbox: SandboxServer, demo_session_file: Path) -> None:
    """Moving a ManualClock past the deadline ends a post whose answer never comes (Playwright's own
    timeouts stay real time; the deadline computes what is left from the clock)."""
    clock = ManualClock()
    sandbox.admin.inject("hang", next_n=1, seconds=30)

    def move_on_once_the_create_hangs() -> None:
        until = time.monotonic() + 20
        while sandbox.admin.faults() and time.monotonic() < until:  # the fault is taken by the create
            time.sleep(0.05)
        time.sleep(0.3)
        clock.advance(120)

    mover = threading.Thread(target=move_on_once_the_create_hangs, daemon=True)
    with BrowserPublisher(
        sandbox.web_url, demo_session_file, "xbot_demo", clock=clock, op_timeout_s=60
    ) as publisher:
        mover.start()
        started = time.monotonic()
        result = publisher.publish(single("the clock moves on"))
        took = time.monotonic() - started
    mover.join(5)
    assert (result.outcome, result.error_type) == (Outcome.UNKNOWN, "timeout_after_submit"), result.message
    assert took < 20  # the 60 s deadline ended by the clock, not by waiting it out
    assert result.elapsed_s >= 120


def test_timeout_before_submit_is_retryable(browser: BrowserPublisher, sandbox: SandboxServer) -> None:
    browser.op_timeout_s = 1.0
    sandbox.admin.inject("slow_button", next_n=1, seconds=5)
    result = browser.publish(single("the button never enables in time"))
    assert (result.outcome, result.error_type) == (Outcome.RETRYABLE, "browser_timeout"), result.message
    assert sandbox.admin.posts() == []
    browser.op_timeout_s = OP_TIMEOUT_S
    assert browser.publish(single("and then it works")).outcome is Outcome.POSTED


def test_reads_timeline_metrics_and_followers(browser: BrowserPublisher, sandbox: SandboxServer) -> None:
    first = browser.publish(single("Do you sleep 8 hours?"))
    reply = browser.publish(PostRequest("reply", ["a reply to myself"], reply_to=first.tweet_id))
    posts = browser.recent_posts(5)
    assert [p.tweet_id for p in posts] == [reply.tweet_id, first.tweet_id]
    assert posts[0].in_reply_to == first.tweet_id
    # impressions grow with time: bracket the browser's read between two reads of the stand-in's truth
    before = sandbox.admin.metrics([first.tweet_id])[first.tweet_id]["impressions"]
    metrics = browser.fetch_metrics([first.tweet_id])
    after = sandbox.admin.metrics([first.tweet_id])[first.tweet_id]["impressions"]
    assert before <= metrics[first.tweet_id].impressions <= after
    assert browser.followers_count() == 1000


def test_session_file_is_private_and_no_secret_is_logged(
    browser: BrowserPublisher, sandbox: SandboxServer, demo_session_file: Path, caplog, tracker, store
) -> None:
    caplog.set_level(logging.DEBUG)
    assert browser.publish(single("keeps the session")).outcome is Outcome.POSTED
    assert stat.S_IMODE(demo_session_file.stat().st_mode) == 0o600
    import json

    cookies = [c["value"] for c in json.loads(demo_session_file.read_text())["cookies"]]
    for kind in ("session_expired", "http_500", "automation"):
        sandbox.admin.inject(kind, next_n=1)
        result = browser.publish(single(f"secret check {kind}"))
        tracker.track_error("publishing", result.error_type or "none", result.message, account_id="main")
        assert all(c not in result.message for c in cookies)
    assert all(c not in caplog.text for c in cookies)
    with store.connect() as conn:
        rows = [str(r[0]) for r in conn.execute(sa.select(system_events.c.event_data))]
    assert len(rows) == 3 and not any(c in row for c in cookies for row in rows)


def test_missing_session_file_is_rejected(sandbox: SandboxServer, tmp_path: Path) -> None:
    with BrowserPublisher(sandbox.web_url, tmp_path / "none.json", "xbot_demo") as publisher:
        result = publisher.publish(single("no session"))
    assert (result.outcome, result.root_cause) == (Outcome.REJECTED, RootCause.SESSION)
    assert publisher.launches == 0


def test_logged_out_session_is_rejected_and_the_browser_is_closed(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "stranger.json"
    path.write_text('{"cookies": [], "origins": []}')
    before = chromium_descendants()
    with BrowserPublisher(sandbox.web_url, path, "xbot_demo", op_timeout_s=5) as publisher:
        result = publisher.publish(single("who am I"))
        assert chromium_descendants() - before  # the browser runs while the publisher is open
    assert (result.outcome, result.error_type) == (Outcome.REJECTED, "session_expired")
    assert not chromium_descendants() - before
