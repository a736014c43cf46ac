"""Recovery with a ManualClock: fill ids, settle unknown/stuck posts, never requeue a live post."""

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
from xbot_pipeline.store.posts import claim, get_post
from xbot_pipeline.store.schema import system_events

CONFIG = PostingConfig(limits=replace(Limits(), per_hour=100, min_spacing_s=0, per_run=10))
RCONFIG = RecoveryConfig(stuck_after_s=600, settle_s=120)


def post_and_recover(store, tracker, clock, pub):
    run_posting(store, tracker, lambda a: pub, config=CONFIG)
    return lambda: run_recovery(store, tracker, lambda a: pub, config=RCONFIG, posting_config=CONFIG)


def errors(store, subject):
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(system_events).where(system_events.c.subject == subject, system_events.c.is_error)
        )
        return [dict(r._mapping) for r in rows]


def test_missing_id_is_filled_and_errors_marked_recovered(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "no id yet")
    pub = scripted(["posted_no_id"])
    recover = post_and_recover(store, tracker, clock, pub)
    assert get_post(store, post["id"])["tweet_id"] is None
    clock.advance(seconds=90)
    report = recover()
    assert report.ids_filled == [post["id"]]
    assert get_post(store, post["id"])["tweet_id"] == pub.timeline[0].tweet_id
    assert attempts_for(store, post["id"])[0]["tweet_id"] == pub.timeline[0].tweet_id
    errs = errors(store, f"post:{post['id']}")
    assert errs and all(e["recovered"] and e["recovery_time_ms"] == 90_000 for e in errs)


def test_unknown_but_live_becomes_posted_never_requeued(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "dropped but live")
    pub = scripted(["drop"])
    recover = post_and_recover(store, tracker, clock, pub)
    assert get_post(store, post["id"])["status"] == "unknown"
    report = recover()
    assert report.reconciled_posted == [post["id"]]
    row = get_post(store, post["id"])
    assert row["status"] == "posted" and row["tweet_id"] == pub.timeline[0].tweet_id
    assert attempts_for(store, post["id"])[0]["outcome"] == "posted"
    run_posting(store, tracker, lambda a: pub, config=CONFIG)
    assert len(pub.requests) == 1 and len(pub.timeline) == 1


def test_unknown_not_live_is_requeued_only_after_settle(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "hung, nothing created")
    pub = scripted(["hang", "posted"])
    recover = post_and_recover(store, tracker, clock, pub)
    clock.advance(seconds=60)
    assert recover().still_open == [post["id"]]
    assert get_post(store, post["id"])["status"] == "unknown"
    clock.advance(seconds=61)
    assert recover().requeued == [post["id"]]
    run_posting(store, tracker, lambda a: pub, config=CONFIG)
    assert get_post(store, post["id"])["status"] == "posted" and len(pub.timeline) == 1
    assert recover().quiet


def test_stuck_is_measured_from_claim_not_creation(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    old = enqueue(store, "a1", "single", "created long ago", scheduled_at=clock.now())
    clock.advance(hours=1)
    assert claim(store, old["id"], "otherhost:1:dead", clock.now())  # a process that died mid-post
    pub = scripted()
    report = run_recovery(store, tracker, lambda a: pub, config=RCONFIG, posting_config=CONFIG)
    assert old["id"] not in report.requeued and get_post(store, old["id"])["status"] == "posting"
    clock.advance(minutes=11)
    report = run_recovery(store, tracker, lambda a: pub, config=RCONFIG, posting_config=CONFIG)
    assert report.requeued == [old["id"]]
    assert get_post(store, old["id"])["status"] == "retry_pending"


def test_stuck_but_live_is_marked_posted(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "went out, then the process died")
    claim(store, post["id"], "otherhost:1:dead", clock.now())
    pub = scripted()
    tid = pub.live("went out, then the process died")
    clock.advance(minutes=11)
    report = run_recovery(store, tracker, lambda a: pub, config=RCONFIG, posting_config=CONFIG)
    assert report.reconciled_posted == [post["id"]] and get_post(store, post["id"])["tweet_id"] == tid


def test_unreadable_or_incomplete_timeline_never_requeues(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "fate unknown")
    pub = scripted(["hang"])
    run_posting(store, tracker, lambda a: pub, config=CONFIG)
    clock.advance(minutes=5)

    class Unreadable(type(pub)):
        def recent_posts(self, limit=50):
            raise ConnectionError("timeline down")

    broken = Unreadable(clock)
    report = run_recovery(store, tracker, lambda a: broken, config=RCONFIG, posting_config=CONFIG)
    assert report.still_open == [post["id"]]
    full = scripted()
    for i in range(5):
        full.live(f"newer post {i}")  # a full page, all newer than the claim: a miss proves nothing
    report = run_recovery(
        store,
        tracker,
        lambda a: full,
        config=replace(RCONFIG, timeline_limit=5),
        posting_config=CONFIG,
    )
    assert report.still_open == [post["id"]] and get_post(store, post["id"])["status"] == "unknown"


def test_thread_unknown_midway_reconciles_parts_and_continues(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "thread", ["first part", "second part", "third part"])

    def two_then_drop(pub, request):
        first = pub.live(request.parts[0])
        pub.live(request.parts[1], first)
        from xbot_pipeline.publishing.base import Outcome, PublishResult, RootCause

        return PublishResult(
            Outcome.UNKNOWN,
            tweet_id=first,
            tweet_ids=[first],
            root_cause=RootCause.NETWORK,
            message="dropped on part 2",
        )

    pub = scripted([two_then_drop])
    recover = post_and_recover(store, tracker, clock, pub)
    clock.advance(minutes=3)
    assert recover().requeued == [post["id"]]
    assert len(get_post(store, post["id"])["tweet_ids"]) == 2  # part 2 found on the timeline
    run_posting(store, tracker, lambda a: pub, config=CONFIG)
    row = get_post(store, post["id"])
    assert row["status"] == "posted" and len(row["tweet_ids"]) == 3
    assert sorted(p.text for p in pub.timeline) == ["first part", "second part", "third part"]
