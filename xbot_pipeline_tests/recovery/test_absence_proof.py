"""Issue 11 items 10 and 18: recovery never concludes "absent" from less than proof, a duplicate answer to a
re-post parks the post for the operator (never failed), and a post nothing can settle alerts."""

from __future__ import annotations

from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.handles import parse_handle
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import get_post
from xbot_pipeline_tests.recovery.test_recovery import CONFIG, RCONFIG, errors


def test_a_short_plain_read_proves_nothing_older(store, tracker, clock, scripted):
    """A browser read that returns a handful of posts (the profile before scrolling) is complete only back
    to its oldest post: the old code took "fewer than limit" as complete since the epoch and requeued."""
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "lost in the middle")
    pub = scripted(["hang"])
    run_posting(store, tracker, lambda a: pub, config=CONFIG)
    clock.advance(minutes=20)

    class FirstScreen(type(pub)):
        def recent_posts(self, limit=50, since=None):
            return list(self.timeline[:3])  # a plain list: no proof beyond its oldest post

    screen = FirstScreen(clock)
    for i in range(3):
        screen.live(f"newer post {i}")
    report = run_recovery(store, tracker, lambda a: screen, config=RCONFIG, posting_config=CONFIG)
    assert report.still_open == [post["id"]] and report.requeued == []
    assert get_post(store, post["id"])["status"] == "unknown"


def test_duplicate_answer_to_a_repost_parks_it_never_failed(store, tracker, clock, scripted):
    """The posting process lost the answer; recovery requeued (the read showed nothing); the re-post got X's
    duplicate answer and no read finds it: it is 'unknown', parked with a critical alert, not failed."""
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "live but invisible")
    pub = scripted(["hang", "duplicate"])
    run_posting(store, tracker, lambda a: pub, config=CONFIG)
    clock.advance(minutes=20)
    report = run_recovery(store, tracker, lambda a: pub, config=RCONFIG, posting_config=CONFIG)
    assert report.requeued == [post["id"]]
    run_posting(store, tracker, lambda a: pub, config=CONFIG)
    row = get_post(store, post["id"])
    assert row["status"] == "unknown", row
    assert row["status_reason"].startswith("parked for the operator")
    critical = [e for e in errors(store, f"post:{post['id']}") if e["severity"] == "critical"]
    assert [e["event_error_type"] for e in critical] == ["post_unsettled"]
    clock.advance(minutes=20)  # recovery leaves it parked: never requeued into another duplicate
    report = run_recovery(store, tracker, lambda a: pub, config=RCONFIG, posting_config=CONFIG)
    assert report.requeued == [] and get_post(store, post["id"])["status"] == "unknown"
    assert len(pub.requests) == 2


def test_open_post_nothing_can_settle_alerts_once(store, tracker, clock, scripted):
    """A wrong handle (the profile does not exist) leaves an 'unknown' post unreadable for ever: after the
    recovery window it raises one critical alert instead of staying open silently."""
    ensure_account(store, "a1")
    post = enqueue(store, "a1", "single", "whose profile?")
    pub = scripted(["hang"])
    run_posting(store, tracker, lambda a: pub, config=CONFIG)

    class NoProfile(type(pub)):
        def recent_posts(self, limit=50, since=None):
            return []

    ghost = NoProfile(clock)
    clock.advance(minutes=20)
    run_recovery(store, tracker, lambda a: ghost, config=RCONFIG, posting_config=CONFIG)
    assert not [e for e in errors(store, f"post:{post['id']}") if e["severity"] == "critical"]
    for _ in range(2):
        clock.advance(seconds=RCONFIG.unsettled_alert_s)
        report = run_recovery(store, tracker, lambda a: ghost, config=RCONFIG, posting_config=CONFIG)
        assert report.still_open == [post["id"]]
    critical = [e for e in errors(store, f"post:{post['id']}") if e["severity"] == "critical"]
    assert [e["event_error_type"] for e in critical] == ["post_unsettled"]
    assert get_post(store, post["id"])["status"] == "unknown"


def test_handles_are_validated():
    assert parse_handle("@Demo_User1") == "Demo_User1"
    for bad in ("", "@", "has space", "x" * 16, "dash-ed", "émile"):
        try:
            parse_handle(bad)
        except ValueError as exc:
            assert "1-15 letters" in str(exc)
        else:
            raise AssertionError(bad)
