"""A thread composer part whose answer has no id: X's page stops there, so the later parts never went out.

The publisher must not report them live: it reports the parts found (ids in order) and the posting layer
continues the thread from the first unsent part, so every part is posted exactly once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xbot_pipeline.posting.config import fast_config
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.base import Outcome, PostRequest
from xbot_pipeline.publishing.browser import BrowserPublisher
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.sandbox.server import DEMO_HANDLE, SandboxServer
from xbot_pipeline.store.posts import get_post
from xbot_pipeline_tests.fixtures.sandbox import chain_of, demo_browser_publishers

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_chromium_left")]

PARTS = ["1/ drink water first", "2/ then move for ten minutes", "3/ then plan the day"]


@pytest.fixture
def browser(demo_browser: BrowserPublisher, sandbox: SandboxServer) -> BrowserPublisher:
    return demo_browser


@pytest.mark.parametrize("fault", ["missing_id", "drop"])
def test_middle_part_found_on_the_profile_leaves_the_rest_unsent(
    browser: BrowserPublisher, sandbox: SandboxServer, fault: str
) -> None:
    sandbox.admin.inject(fault, next_n=1, skip=1)  # part 2's answer
    result = browser.publish(PostRequest("thread", PARTS))
    assert (result.outcome, result.error_type) == (Outcome.RETRYABLE, "thread_interrupted"), result.message
    live = sandbox.admin.posts()
    assert len(live) == 2  # part 3 never went out
    assert result.tweet_ids == [p["id"] for p in reversed(live)]
    assert chain_of(sandbox, result.tweet_ids) == [(PARTS[0], None), (PARTS[1], result.tweet_ids[0])]
    assert "the thread continues from part 3" in result.message


def test_middle_part_not_yet_visible_is_posted_without_id_at_that_part(
    browser: BrowserPublisher, sandbox: SandboxServer
) -> None:
    sandbox.admin.inject("missing_id", next_n=1, skip=1, hide_s=60)
    result = browser.publish(PostRequest("thread", PARTS))
    assert (result.outcome, result.error_type) == (Outcome.POSTED_NO_ID, "missing_id"), result.message
    assert "part 2 of 3" in result.message
    live = sandbox.admin.posts()  # newest first; part 2 is hidden from the profile for now
    assert [p["text"] for p in live] == [PARTS[1], PARTS[0]]  # part 3 never went out
    assert result.tweet_ids == [live[1]["id"]]


def test_posting_layer_finishes_the_interrupted_thread_exactly_once(
    store, tracker, sandbox: SandboxServer, demo_session_file: Path
) -> None:
    pf = demo_browser_publishers(store, sandbox, demo_session_file, op_timeout_s=8)
    post = enqueue(store, DEMO_HANDLE, "thread", PARTS)
    sandbox.admin.inject("missing_id", next_n=1, skip=1)
    config = fast_config()
    run_posting(store, tracker, pf, config=config)
    first = get_post(store, post["id"])
    assert first["status"] == "retry_pending", first["status_reason"]
    assert len(first["tweet_ids"]) == 2
    for _ in range(3):
        store.clock.advance(5)
        run_posting(store, tracker, pf, config=config)
        if get_post(store, post["id"])["status"] == "posted":
            break
        run_recovery(
            store, tracker, pf, config=RecoveryConfig(stuck_after_s=0, settle_s=0), posting_config=config
        )
    row = get_post(store, post["id"])
    assert row["status"] == "posted", (row["status"], row["status_reason"])
    ids = [str(i) for i in row["tweet_ids"]]
    assert row["tweet_id"] == ids[0] and ids[:2] == [str(i) for i in first["tweet_ids"]]
    assert sorted(p["text"] for p in sandbox.admin.posts(DEMO_HANDLE)) == sorted(PARTS)  # nothing doubled
    assert chain_of(sandbox, ids) == [(PARTS[0], None), (PARTS[1], ids[0]), (PARTS[2], ids[1])]
