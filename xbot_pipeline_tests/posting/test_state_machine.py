"""The queue's state machine with a ManualClock and a scripted publisher (pure logic, real store)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from xbot_pipeline.posting.config import Limits, PostingConfig
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.base import Outcome, PublishResult, RootCause
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.store.accounts import ensure_account, get_account
from xbot_pipeline.store.attempts import attempts_for
from xbot_pipeline.store.posts import get_post
from xbot_pipeline.store.schema import system_events

OPEN = Limits(
    per_hour=100, replies_per_hour=100, min_spacing_s=0, threads_per_hour=100, threads_per_day=100, per_run=10
)


def cfg(**changes) -> PostingConfig:
    return replace(PostingConfig(limits=OPEN), **changes)


def events(store, event_type: str) -> list[dict]:
    with store.connect() as conn:
        rows = conn.execute(sa.select(system_events).where(system_events.c.event_type == event_type))
        return [dict(r._mapping) for r in rows]


def run(store, tracker, pub, clock, config=None, **kw):
    return run_posting(store, tracker, lambda account: pub, config=config or cfg(), **kw)


def test_posted_records_attempt_before_and_after(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "hello there")
    seen = []

    def check_write_ahead(pub, request):
        seen.extend(attempts_for(store, post["id"]))  # what the store says while X is being called
        return PublishResult(
            Outcome.POSTED, tweet_id="1234567890123456789", tweet_ids=["1234567890123456789"]
        )

    pub = scripted([check_write_ahead])
    report = run(store, tracker, pub, clock)
    assert [a["outcome"] for a in seen] == ["pending"]
    assert get_post(store, post["id"])["status"] == "posted"
    assert get_post(store, post["id"])["tweet_id"] == "1234567890123456789"
    assert attempts_for(store, post["id"])[0]["outcome"] == "posted"
    assert report.count("posted") == 1 and pub.closed == 1


def test_selection_order_cap_and_grace(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    now = clock.now()
    t = enqueue(store, "a1", "thread", ["one of two", "two of two"], scheduled_at=now - timedelta(minutes=3))
    s = enqueue(store, "a1", "single", "single text", scheduled_at=now - timedelta(minutes=2))
    r = enqueue(store, "a1", "reply", "reply text", reply_to="1234567890123456789", scheduled_at=now)
    soon = enqueue(store, "a1", "single", "in four minutes", scheduled_at=now + timedelta(minutes=4))
    later = enqueue(store, "a1", "single", "in ten minutes", scheduled_at=now + timedelta(minutes=10))
    pub = scripted()
    report = run(store, tracker, pub, clock, config=cfg(limits=replace(OPEN, per_run=2)))
    assert [line.post_id for line in report.lines if line.action == "posted"] == [r["id"], s["id"]]
    report = run(store, tracker, pub, clock, config=cfg(limits=replace(OPEN, per_run=5)))
    assert {line.post_id for line in report.lines if line.action == "posted"} == {soon["id"], t["id"]}
    assert get_post(store, later["id"])["status"] == "queued"  # beyond the 5 min grace


def test_stale_items_expire_per_kind(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    now = clock.now()
    reply = enqueue(
        store, "a1", "reply", "old reply", reply_to="42", scheduled_at=now - timedelta(minutes=61)
    )
    single = enqueue(store, "a1", "single", "old single", scheduled_at=now - timedelta(minutes=61))
    thread = enqueue(store, "a1", "thread", ["old", "thread"], scheduled_at=now - timedelta(hours=5))
    run(store, tracker, scripted(), clock, config=cfg(limits=replace(OPEN, per_run=0)))
    assert get_post(store, reply["id"])["status"] == "skipped"
    assert "stale" in get_post(store, reply["id"])["status_reason"]
    assert get_post(store, single["id"])["status"] == "queued"
    assert get_post(store, thread["id"])["status"] == "queued"
    clock.advance(hours=1)
    run(store, tracker, scripted(), clock, config=cfg(limits=replace(OPEN, per_run=0)))
    assert get_post(store, single["id"])["status"] == "skipped"
    assert get_post(store, thread["id"])["status"] == "queued"


def test_rate_limits_count_posts_without_id_and_unknown(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    config = cfg(limits=Limits())  # seed defaults: 2/h, 20 min spacing
    a = enqueue(store, "a1", "single", "first")
    b = enqueue(store, "a1", "single", "second")
    c = enqueue(store, "a1", "single", "third")
    pub = scripted(["posted_no_id", "drop", "posted"])
    report = run(store, tracker, pub, clock, config=config)
    assert report.count("posted_no_id") == 1
    assert any("spacing" in line.detail for line in report.lines if line.post_id == b["id"])
    clock.advance(minutes=21)
    run(store, tracker, pub, clock, config=config)
    assert get_post(store, b["id"])["status"] == "unknown"
    clock.advance(minutes=21)
    report = run(store, tracker, pub, clock, config=config)  # 2 in the last hour: no id + unknown both count
    assert get_post(store, c["id"])["status"] == "queued"
    assert any("per hour" in line.detail for line in report.lines)
    clock.advance(minutes=30)
    run(store, tracker, pub, clock, config=config)
    assert get_post(store, c["id"])["status"] == "posted"
    assert get_post(store, a["id"])["tweet_id"] is None


def test_per_account_limits_override(store, tracker, clock, scripted):
    ensure_account(store, "a1", limits={"per_hour": 1, "min_spacing_s": 0})
    for i in range(3):
        enqueue(store, "a1", "single", f"text {i}")
    report = run(store, tracker, scripted(), clock, config=cfg(limits=Limits()))
    assert report.count("posted") == 1


def test_thread_limits(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    config = cfg(limits=replace(OPEN, threads_per_hour=1, threads_per_day=2))
    for i in range(3):
        enqueue(store, "a1", "thread", [f"t{i} a", f"t{i} b"])
    assert run(store, tracker, scripted(), clock, config=config).count("posted") == 1
    clock.advance(minutes=61)
    assert run(store, tracker, scripted(), clock, config=config).count("posted") == 1
    clock.advance(minutes=61)
    report = run(store, tracker, scripted(), clock, config=config)
    assert report.count("posted") == 0 and any("per day" in line.detail for line in report.lines)


def test_retry_ladder_then_failed_after_timeline_check(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "retry me")
    pub = scripted(["http_500"] * 4)
    waits = []
    for _ in range(4):
        report = run(store, tracker, pub, clock)
        row = get_post(store, post["id"])
        if row["status"] == "retry_pending":
            waits.append((row["next_attempt_at"] - clock.now()).total_seconds())
            clock.advance(seconds=30)
            assert run(store, tracker, pub, clock).count("posted") == 0  # not due yet
            clock.set(row["next_attempt_at"])
    assert waits == [180, 600, 1200]
    assert get_post(store, post["id"])["status"] == "failed"
    assert report.count("failed") == 1
    errors = events(store, "error_post_failed")
    assert len(errors) == 4 and errors[0]["event_data"]["context"]["root_cause"] == "network"
    assert [a["root_cause"] for a in attempts_for(store, post["id"])] == ["network"] * 4


def test_thread_ladder(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "thread", ["a a", "b b"])
    run(store, tracker, scripted(["http_500"]), clock)
    row = get_post(store, post["id"])
    assert (row["next_attempt_at"] - clock.now()).total_seconds() == 300


def test_unknown_is_never_retried_blindly(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "maybe live")
    pub = scripted(["hang"])
    run(store, tracker, pub, clock)
    for _ in range(3):
        clock.advance(hours=1)
        run(store, tracker, pub, clock)
    assert len(pub.requests) == 1
    assert get_post(store, post["id"])["status"] == "unknown"
    assert events(store, "error_post_outcome_unknown")


def test_226_cools_the_account_down(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    a = enqueue(store, "a1", "single", "one")
    b = enqueue(store, "a1", "single", "two")
    pub = scripted(["automation"])
    report = run(store, tracker, pub, clock, config=cfg(cooldown_s=3600))
    assert get_account(store, "a1")["status"] == "cooldown"
    assert get_post(store, a["id"])["status"] == "blocked"
    assert get_post(store, b["id"])["status"] == "queued" and len(pub.requests) == 1
    assert report.accounts["a1"].startswith("account cooling down")
    clock.advance(minutes=30)
    run(store, tracker, pub, clock, config=cfg(cooldown_s=3600))
    assert len(pub.requests) == 1
    clock.advance(minutes=31)
    run(store, tracker, pub, clock, config=cfg(cooldown_s=3600))
    assert get_account(store, "a1")["status"] == "active"
    assert get_post(store, a["id"])["status"] == "posted" and get_post(store, b["id"])["status"] == "posted"


def test_expired_session_pauses_account_with_critical_event(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "one")
    run(store, tracker, scripted(["session"]), clock)
    assert get_account(store, "a1")["status"] == "paused"
    assert get_post(store, post["id"])["status"] == "blocked"
    assert events(store, "error_session_expired")[0]["severity"] == "critical"


def test_duplicate_answer_reconciles(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    live = enqueue(store, "a1", "single", "Already out there!")
    gone = enqueue(store, "a1", "single", "never went out")
    pub = scripted(["duplicate", "duplicate"])
    tid = pub.live("already out there")  # normalized match
    run(store, tracker, pub, clock)
    assert get_post(store, live["id"])["status"] == "posted"
    assert get_post(store, live["id"])["tweet_id"] == tid
    assert get_post(store, gone["id"])["status"] == "failed_permanent"
    assert "duplicate" in get_post(store, gone["id"])["status_reason"]


def test_thread_partial_continues_from_last_part(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "thread", ["part one", "part two", "part three"])

    def two_then_fail(pub, request):
        first = pub.live(request.parts[0])
        second = pub.live(request.parts[1], first)
        return PublishResult(
            Outcome.RETRYABLE,
            tweet_id=first,
            tweet_ids=[first, second],
            error_type="http_500",
            root_cause=RootCause.NETWORK,
            message="part 3 failed",
        )

    pub = scripted([two_then_fail])
    run(store, tracker, pub, clock)
    row = get_post(store, post["id"])
    assert row["status"] == "retry_pending" and len(row["tweet_ids"]) == 2
    clock.set(row["next_attempt_at"])
    run(store, tracker, pub, clock)
    row = get_post(store, post["id"])
    assert row["status"] == "posted" and len(row["tweet_ids"]) == 3
    assert pub.requests[-1].parts == ["part three"] and pub.requests[-1].reply_to == row["tweet_ids"][1]
    assert [p.text for p in reversed(pub.timeline)] == ["part one", "part two", "part three"]


def test_rate_limit_query_failure_posts_conservatively(store, tracker, clock, scripted, monkeypatch):
    import xbot_pipeline.posting.run as run_module

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(run_module, "compute_budget", broken)
    ensure_account(store, "a1")
    for i in range(3):
        enqueue(store, "a1", "single", f"text {i}")
    report = run(store, tracker, scripted(), clock)
    assert report.count("posted") == 1
    assert events(store, "error_rate_limit_check_failed")


def test_learning_handoff_failure_never_blocks_posting(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    enqueue(store, "a1", "single", "one")
    enqueue(store, "a1", "single", "two")
    got = []

    def broken(row):
        raise RuntimeError("learning is down")

    report = run(store, tracker, scripted(), clock, on_published=[broken, got.append])
    assert report.count("posted") == 2 and len(got) == 2 and got[0]["tweet_id"]
    assert len(events(store, "error_learning_handoff_failed")) == 2


def test_store_failure_after_publish_is_journaled_and_replayed(
    store, tracker, clock, scripted, tmp_path, monkeypatch
):
    import xbot_pipeline.posting.outcomes as outcomes

    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "one")
    real = outcomes.apply_published

    def down(store_, entry):
        raise sa.exc.OperationalError("UPDATE", {}, Exception("connection refused"))

    monkeypatch.setattr(outcomes, "apply_published", down)
    journal_path = tmp_path / "outcomes.jsonl"
    pub = scripted()
    report = run(store, tracker, pub, clock, config=cfg(journal_path=journal_path))
    assert report.count("store_failed") == 1 and get_post(store, post["id"])["status"] == "posting"
    assert journal_path.read_text().count("\n") == 1
    monkeypatch.setattr(outcomes, "apply_published", real)
    rep = run_recovery(store, tracker, lambda a: pub, config=RecoveryConfig(journal_path=journal_path))
    assert rep.journal_replayed == 1
    row = get_post(store, post["id"])
    assert row["status"] == "posted" and row["tweet_id"] == pub.timeline[0].tweet_id
    assert journal_path.read_text() == ""
    assert events(store, "error_store_write_failed")


def test_a_post_blocked_by_an_expired_session_names_the_command_that_resumes(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "one")
    run(store, tracker, scripted(["session"]), clock)
    assert "`xbot resume-account a1`" in get_post(store, post["id"])["status_reason"]
