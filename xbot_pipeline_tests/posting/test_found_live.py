"""A post found live is recorded the same way by posting and by recovery (``posting.live``).

Posting used to leave the attempt X answered "duplicate" (or the last retry) as rejected/retryable on a
post it then marked posted; recovery closed the open attempts as posted. One rule now, checked on both.
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from xbot_pipeline.posting.config import Limits, PostingConfig
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.attempts import attempts_for
from xbot_pipeline.store.posts import get_post
from xbot_pipeline.store.schema import system_events

CONFIG = PostingConfig(limits=replace(Limits(), per_hour=100, min_spacing_s=0, per_run=10))


def events_of(store, subject: str) -> list[dict]:
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(system_events).where(system_events.c.subject == subject).order_by(system_events.c.id)
        )
        return [dict(r._mapping) for r in rows]


def assert_found_live(store, post_id: int, tweet_id: str, *, was: str, component: str) -> None:
    row = get_post(store, post_id)
    assert row["status"] == "posted" and row["tweet_id"] == tweet_id and row["status_reason"] is None
    last = attempts_for(store, post_id)[-1]
    assert last["outcome"] == "posted" and last["tweet_id"] == tweet_id and last["finished_at"] is not None
    evs = events_of(store, f"post:{post_id}")
    reconciled = [e for e in evs if e["event_type"] == "post_reconciled"]
    assert len(reconciled) == 1 and reconciled[0]["event_component"] == component
    assert reconciled[0]["event_data"]["was"] == was and reconciled[0]["event_data"]["tweet_id"] == tweet_id
    errors = [e for e in evs if e["is_error"]]
    assert errors and all(e["recovered"] for e in errors)


def test_posting_duplicate_answer_closes_its_attempt_as_posted(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "Already out there!")
    pub = scripted(["duplicate"])
    tid = pub.live("already out there")
    report = run_posting(store, tracker, lambda a: pub, config=CONFIG)
    assert report.count("reconciled") == 1
    assert_found_live(store, post["id"], tid, was="posting", component="posting")
    assert attempts_for(store, post["id"])[-1]["error_type"] == "duplicate_content"  # X's answer is kept


def test_posting_last_retry_found_live_closes_its_attempt_as_posted(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "went out on a 500")
    config = replace(CONFIG, retry_ladder_s={"single": ()})  # no retries: the first failure is the last
    pub = scripted(["http_500"])
    tid = pub.live("went out on a 500")
    report = run_posting(store, tracker, lambda a: pub, config=config)
    assert report.count("reconciled") == 1
    assert_found_live(store, post["id"], tid, was="posting", component="posting")


def test_recovery_unknown_found_live_follows_the_same_rule(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "dropped but live")
    pub = scripted(["drop"])
    run_posting(store, tracker, lambda a: pub, config=CONFIG)
    assert get_post(store, post["id"])["status"] == "unknown"
    report = run_recovery(store, tracker, lambda a: pub, config=RecoveryConfig(), posting_config=CONFIG)
    assert report.reconciled_posted == [post["id"]]
    assert_found_live(store, post["id"], pub.timeline[0].tweet_id, was="unknown", component="recovery")
