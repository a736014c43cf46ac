"""Posting and recovery against the real stand-in with the real API and browser publishers."""

from __future__ import annotations

import pytest

from xbot_pipeline.posting.config import fast_config
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.factory import publisher_for_map
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.accounts import ensure_account, get_account
from xbot_pipeline.store.leases import get_lease
from xbot_pipeline.store.posts import get_post, list_posts


def timeline_texts(sandbox, handle=DEMO_HANDLE) -> list[str]:
    return [p["text"] for p in sandbox.admin.posts(handle)]


def test_api_faults_end_exactly_once(store, tracker, sandbox):
    ensure_account(store, DEMO_HANDLE)
    spec = {DEMO_HANDLE: {"publisher": "api", "token": sandbox.account().token, "timeout_s": 1.5}}
    pf = publisher_for_map(spec, api_url=sandbox.api_url, web_url=sandbox.web_url, clock=store.clock)
    texts = [f"fault check number {i}" for i in range(6)]
    for text in texts:
        enqueue(store, DEMO_HANDLE, "single", text)
    for kind in ("http_500", "drop", "missing_id", "hang", "duplicate"):
        sandbox.admin.inject(kind, next_n=1, **({"seconds": 3} if kind == "hang" else {}))
    config = fast_config()
    rconfig = RecoveryConfig(stuck_after_s=0, settle_s=0)
    for _ in range(6):
        run_posting(store, tracker, pf, config=config)
        run_recovery(store, tracker, pf, config=rconfig, posting_config=config)
        store.clock.advance(5)  # past the fast retry ladder's next step
    rows = list_posts(store)
    live = timeline_texts(sandbox)
    assert len(live) == len(set(live))
    by_text = {p["text"]: p for p in sandbox.admin.posts(DEMO_HANDLE)}
    for row in rows:
        if row["status"] == "posted":
            assert by_text[row["text"]]["id"] == row["tweet_id"]
        else:
            assert row["status"] == "failed_permanent", (
                row["status"],
                row["status_reason"],
                row["next_attempt_at"],
            )
            assert "duplicate" in row["status_reason"]
            assert row["text"] not in by_text
    assert sum(r["status"] == "posted" for r in rows) == 5


@pytest.mark.usefixtures("no_chromium_left")
def test_browser_publisher_posts_with_lease_and_recovers(store, tracker, sandbox, demo_session_file):
    ensure_account(store, DEMO_HANDLE, publisher="browser")
    spec = {
        DEMO_HANDLE: {"publisher": "browser", "session_file": str(demo_session_file), "handle": DEMO_HANDLE}
    }
    pf = publisher_for_map(spec, api_url=sandbox.api_url, web_url=sandbox.web_url, clock=store.clock)
    a = enqueue(store, DEMO_HANDLE, "single", "browser post one")
    b = enqueue(store, DEMO_HANDLE, "single", "browser post two")
    sandbox.admin.inject("missing_id", next_n=1)
    report = run_posting(store, tracker, pf, config=fast_config())
    assert report.count("posted") + report.count("posted_no_id") == 2, [str(x) for x in report.lines]
    assert get_lease(store, f"browser:{DEMO_HANDLE}") is None  # released
    run_recovery(store, tracker, pf, config=RecoveryConfig(settle_s=0))
    live = {p["text"]: p["id"] for p in sandbox.admin.posts(DEMO_HANDLE)}
    assert get_post(store, a["id"])["tweet_id"] == live["browser post one"]
    assert get_post(store, b["id"])["tweet_id"] == live["browser post two"]


def test_expired_session_pauses_the_account(store, tracker, sandbox):
    ensure_account(store, DEMO_HANDLE)
    pf = publisher_for_map(
        {DEMO_HANDLE: {"token": sandbox.account().token}},
        api_url=sandbox.api_url,
        web_url=sandbox.web_url,
        clock=store.clock,
    )
    enqueue(store, DEMO_HANDLE, "single", "session check")
    sandbox.admin.inject("session_expired", next_n=1)
    run_posting(store, tracker, pf, config=fast_config())
    assert get_account(store, DEMO_HANDLE)["status"] == "paused"
