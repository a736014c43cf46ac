"""``demo_post_and_recover``: post a small queue to the local stand-in, lose one id, recover it.

Used by ``xbot demo``: shows the queue, the outcome of each post and the recovered id end to end.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting.config import fast_config
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.publishers import publisher_for_map
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import get_post


@dataclass
class DemoResult:
    post_ids: list[int]
    lines: list[str] = field(default_factory=list)
    recovered_ids: list[int] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.recovered_ids) and all(r["status"] == "posted" and r["tweet_id"] for r in self.rows)


def demo_post_and_recover(
    store: Store,
    tracker: EventTracker,
    sandbox: Any,
    *,
    account_id: str = "xbot_demo",
    publisher: str = "api",
    session_file: str | None = None,
) -> DemoResult:
    """``sandbox`` is a running ``SandboxServer``. Queues a single, a thread and a reply, makes the stand-in
    drop the first post's id, posts them, then runs recovery, which finds the id on the timeline."""
    tag = uuid.uuid4().hex[:6]
    handle = account_id
    ensure_account(store, account_id, handle=handle, publisher=publisher)
    spec = {"publisher": publisher, "token": sandbox.account(handle).token, "handle": handle}
    if session_file:
        spec["session_file"] = session_file
    publisher_for = publisher_for_map(
        {account_id: spec}, api_url=sandbox.api_url, web_url=sandbox.web_url, clock=store.clock
    )
    first = enqueue(
        store, account_id, "single", f"Demo post {tag}: the queue publishes, recovery fills gaps."
    )
    thread = enqueue(
        store, account_id, "thread", [f"Demo thread {tag}, part 1.", f"Demo thread {tag}, part 2."]
    )
    result = DemoResult([first["id"], thread["id"]])
    config = fast_config()
    sandbox.admin.inject("missing_id", next_n=1, account=handle)
    report = run_posting(store, tracker, publisher_for, config=config)
    result.lines += [str(line) for line in report.lines]
    target = get_post(store, thread["id"])["tweet_id"]
    if target:
        reply = enqueue(store, account_id, "reply", f"Demo reply {tag} to our own thread.", reply_to=target)
        result.post_ids.append(reply["id"])
        report = run_posting(store, tracker, publisher_for, config=config)
        result.lines += [str(line) for line in report.lines]
    recovery = run_recovery(
        store, tracker, publisher_for, config=replace(RecoveryConfig(), settle_s=0), posting_config=config
    )
    result.recovered_ids = list(recovery.ids_filled) + list(recovery.reconciled_posted)
    result.lines += recovery.lines
    result.rows = [get_post(store, pid) for pid in result.post_ids]
    return result
