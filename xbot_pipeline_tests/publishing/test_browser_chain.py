"""Threads without X's thread composer (the ``alt_layout`` fault): a chain of self-replies, real Chromium."""

from __future__ import annotations

import pytest

from xbot_pipeline.posting.config import fast_config
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.base import Outcome, PostRequest, RootCause
from xbot_pipeline.publishing.browser import BrowserPublisher
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.sandbox.server import DEMO_HANDLE, SandboxServer
from xbot_pipeline.store.posts import get_post
from xbot_pipeline_tests.fixtures.sandbox import chain_of, demo_browser_publishers

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_chromium_left")]

PARTS = ["1/ sleep comes first", "2/ then protein at breakfast", "3/ then a walk after lunch"]


@pytest.fixture
def browser(demo_browser: BrowserPublisher, sandbox: SandboxServer) -> BrowserPublisher:
    demo_browser.op_timeout_s = 10
    return demo_browser


@pytest.mark.parametrize("pages", ["every page", "only /compose/post"])
def test_alt_layout_thread_posts_as_a_reply_chain(
    browser: BrowserPublisher, sandbox: SandboxServer, pages: str
) -> None:
    if pages == "every page":
        sandbox.admin.inject("alt_layout", prob=1.0)
    else:  # the next page only: the compose page; /home and the status pages are X's usual markup
        sandbox.admin.inject("alt_layout", next_n=1)
    result = browser.publish(PostRequest("thread", PARTS))
    assert result.outcome is Outcome.POSTED, result.message
    assert "reply chain" in result.message
    ids = result.tweet_ids
    assert len(ids) == 3 and result.tweet_id == ids[0]
    assert chain_of(sandbox, ids) == [(PARTS[0], None), (PARTS[1], ids[0]), (PARTS[2], ids[1])]
    assert len(sandbox.admin.posts()) == 3


@pytest.mark.parametrize(
    ("kind", "params", "outcome", "error_type", "created"),
    [
        ("http_500", {}, Outcome.RETRYABLE, "http_500", 1),
        # part 2 went out, X confirmed it, its id is unknown: posting hands it to recovery
        ("missing_id", {"hide_s": 60}, Outcome.POSTED_NO_ID, "missing_id", 2),
    ],
)
def test_fault_mid_chain_is_a_partial_result_with_the_first_id(
    browser: BrowserPublisher, sandbox: SandboxServer, kind, params, outcome, error_type, created
) -> None:
    sandbox.admin.inject("alt_layout", prob=1.0)
    sandbox.admin.inject(kind, next_n=1, skip=1, **params)  # the second create
    result = browser.publish(PostRequest("thread", PARTS))
    assert (result.outcome, result.error_type) == (outcome, error_type), result.message
    assert result.message.startswith("part 2 of 3 failed after 1 went out")
    posts = sandbox.admin.posts()  # newest first
    assert len(posts) == created
    assert result.tweet_ids == [result.tweet_id] == [posts[-1]["id"]]
    assert posts[-1]["text"] == PARTS[0]


def test_dropped_answer_mid_chain_is_found_on_the_profile(
    browser: BrowserPublisher, sandbox: SandboxServer
) -> None:
    sandbox.admin.inject("alt_layout", prob=1.0)
    sandbox.admin.inject("drop", next_n=1, skip=1)
    result = browser.publish(PostRequest("thread", PARTS))
    assert result.outcome is Outcome.POSTED, result.message
    ids = result.tweet_ids
    assert chain_of(sandbox, ids) == [(PARTS[0], None), (PARTS[1], ids[0]), (PARTS[2], ids[1])]
    assert len(sandbox.admin.posts()) == 3


def test_no_reply_ui_either_keeps_composer_not_found(
    browser: BrowserPublisher, sandbox: SandboxServer
) -> None:
    earlier = browser.publish(PostRequest("single", ["an earlier post on the profile"]))
    assert earlier.outcome is Outcome.POSTED
    sandbox.admin.inject("alt_layout", prob=1.0, no_reply=True)
    result = browser.publish(PostRequest("thread", PARTS))
    assert (result.outcome, result.error_type, result.root_cause) == (
        Outcome.RETRYABLE,
        "composer_not_found",
        RootCause.PAGE_CHANGED,
    ), result.message
    assert result.tweet_ids == [] and len(sandbox.admin.posts()) == 1  # nothing of the thread went out


def test_no_reply_ui_on_an_empty_profile_stops_after_part_one(
    browser: BrowserPublisher, sandbox: SandboxServer
) -> None:
    sandbox.admin.inject("alt_layout", prob=1.0, no_reply=True)  # the profile cannot tell: part 1 goes
    result = browser.publish(PostRequest("thread", PARTS))
    assert (result.outcome, result.error_type) == (Outcome.RETRYABLE, "composer_not_found"), result.message
    assert result.message.startswith("part 2 of 3 failed after 1 went out")
    assert [p["id"] for p in sandbox.admin.posts()] == result.tweet_ids


@pytest.mark.parametrize("fault", ["http_500", "hang"])
def test_posting_layer_finishes_a_broken_chain_exactly_once(
    store, tracker, sandbox, demo_session_file, fault
) -> None:
    pf = demo_browser_publishers(store, sandbox, demo_session_file, op_timeout_s=6)
    post = enqueue(store, DEMO_HANDLE, "thread", PARTS)
    sandbox.admin.inject("alt_layout", prob=1.0)
    sandbox.admin.inject(fault, next_n=1, skip=1, **({"seconds": 30} if fault == "hang" else {}))
    config = fast_config()
    run_posting(store, tracker, pf, config=config)
    first = get_post(store, post["id"])  # part 1 is live and kept; parts 2-3 are not
    assert first["status"] == ("retry_pending" if fault == "http_500" else "unknown"), first["status_reason"]
    assert [str(i) for i in first["tweet_ids"]] == [p["id"] for p in sandbox.admin.posts(DEMO_HANDLE)]
    for _ in range(4):
        run_recovery(
            store, tracker, pf, config=RecoveryConfig(stuck_after_s=0, settle_s=0), posting_config=config
        )
        store.clock.advance(5)
        if get_post(store, post["id"])["status"] == "posted":
            break
        run_posting(store, tracker, pf, config=config)
    row = get_post(store, post["id"])
    assert row["status"] == "posted", (row["status"], row["status_reason"])
    live = sandbox.admin.posts(DEMO_HANDLE)
    assert sorted(p["text"] for p in live) == sorted(PARTS)  # nothing doubled
    ids = [str(i) for i in row["tweet_ids"]]
    assert row["tweet_id"] == ids[0]
    assert chain_of(sandbox, ids) == [(PARTS[0], None), (PARTS[1], ids[0]), (PARTS[2], ids[1])]
