"""Issue 11 item 10, end to end: a posting process (browser publisher, slow composer, an answer without id)
is SIGKILLed right after the stand-in accepted the post; then more than a profile page of newer posts goes
out on the account. Recovery must end with the post `posted` with its id, or `unknown` with an alert; never
`failed_permanent` while it is live, and never posted twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx

from xbot_pipeline.posting.config import fast_config
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.posts import get_post
from xbot_pipeline_tests.fixtures.sandbox import demo_browser_publishers
from xbot_pipeline_tests.recovery.test_recovery import errors

TEXT = "Killed right after X took it: this post must never be called failed."
NEWER = 12  # the stand-in's profile renders 5 articles, 5 more per scroll


def test_a_post_killed_after_x_took_it_is_never_failed_or_doubled(
    store, tracker, clock, sandbox, demo_session_file, database_url, xbot_home, tmp_path
) -> None:
    clock.set(datetime.now(UTC))
    pf = demo_browser_publishers(store, sandbox, demo_session_file, op_timeout_s=20)
    post = enqueue(store, DEMO_HANDLE, "single", TEXT)
    sandbox.admin.inject("slow_button", next_n=1, account=DEMO_HANDLE, seconds=2.0)
    sandbox.admin.inject("missing_id", next_n=1, account=DEMO_HANDLE, hide_s=5)
    config_path = tmp_path / "runner.json"
    spec = {"publisher": "browser", "session_file": str(demo_session_file), "handle": DEMO_HANDLE}
    config_path.write_text(
        json.dumps(
            {
                "database_url": database_url,
                "home": str(xbot_home),
                "api_url": sandbox.api_url,
                "web_url": sandbox.web_url,
                "accounts": {DEMO_HANDLE: spec},
                "fast": True,
                "passes": 1,
            }
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "xbot_pipeline.passes.runner", "posting", str(config_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not sandbox.admin.posts(DEMO_HANDLE) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the process and its browser, as a killed run
        proc.wait(timeout=30)
    [live] = sandbox.admin.posts(DEMO_HANDLE)
    assert live["text"] == TEXT
    token = sandbox.account().token
    with httpx.Client(base_url=sandbox.api_url, headers={"Authorization": f"Bearer {token}"}) as http:
        for i in range(NEWER):  # more than a page of newer posts before recovery looks
            assert http.post("/2/tweets", json={"text": f"a newer post, number {i}"}).status_code == 201
    time.sleep(5.5)  # past hide_s: the post is on the profile, far below the first screen

    for _ in range(4):
        clock.set(datetime.now(UTC))
        run_recovery(
            store,
            tracker,
            pf,
            config=RecoveryConfig(stuck_after_s=0, settle_s=0),
            posting_config=fast_config(),
        )
        row = get_post(store, post["id"])
        assert row["status"] != "failed_permanent", row["status_reason"]
        if row["status"] == "posted":
            break
        run_posting(store, tracker, pf, config=fast_config())
    row = get_post(store, post["id"])
    print(f"outcome: {row['status']} {row['tweet_id']} {row['status_reason']}")
    assert [p["text"] for p in sandbox.admin.posts(DEMO_HANDLE)].count(TEXT) == 1  # never doubled
    if row["status"] == "posted":
        assert str(row["tweet_id"]) == live["id"]
    else:
        assert row["status"] == "unknown", (row["status"], row["status_reason"])
        alerts = [
            e for e in errors(store, f"post:{post['id']}") if e["event_type"].endswith("post_unsettled")
        ]
        assert alerts and alerts[0]["severity"] == "critical"
