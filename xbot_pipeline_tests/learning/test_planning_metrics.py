"""Planning fills the queue within limits; posting hands off; metrics horizons are collected once each
(real stand-in, real API publisher); a failing learning hook never blocks posting; metrics yield the
browser to posting."""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from xbot_pipeline.content.generators import template_roster
from xbot_pipeline.learning.config import LearningConfig
from xbot_pipeline.learning.handoff import learning_hook
from xbot_pipeline.learning.metrics import metrics_pass
from xbot_pipeline.learning.planner import planning_pass
from xbot_pipeline.learning.rewards import learning_update, load_posteriors
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.browser import BrowserPublisher
from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.learning import decisions, reward_rows
from xbot_pipeline.store.leases import acquire_lease, release_lease
from xbot_pipeline.store.metrics import metrics_of
from xbot_pipeline.store.posts import get_post, list_posts
from xbot_pipeline.store.schema import follower_snapshots, system_events

ROSTER = template_roster()


def test_planning_fills_each_day_to_the_horizon_within_limits(store, clock, tracker) -> None:
    clock.set(clock.now().replace(hour=10, minute=0))
    ensure_account(store, "main")
    ensure_account(store, "paused-one")
    from xbot_pipeline.store.accounts import pause_account

    pause_account(store, "paused-one", "session expired")
    config = LearningConfig(posts_per_day=6)
    report = planning_pass(store, tracker, ROSTER, config=config, rng=random.Random(1))
    queued = list_posts(store, "main", ("queued",))
    today = [p for p in queued if p["scheduled_at"].date() == clock.now().date()]
    tomorrow = [p for p in queued if p["scheduled_at"].date() != clock.now().date()]
    assert len(today) == 6 and len(tomorrow) == 6 and report.queued == 12
    assert all(p["scheduled_at"] >= clock.now() + timedelta(minutes=10) for p in queued)
    for day in (today, tomorrow):
        hours = [p["scheduled_at"].hour for p in day]
        assert len(set(hours)) == len(hours)  # one per hour slot: 2/h and 20 min spacing hold
        assert sum(p["kind"] == "thread" for p in day) <= 2
    assert report.accounts["paused-one"] == "not planned: paused"
    for post, d in zip(queued, decisions(store, "main"), strict=True):
        assert post["bandit_arm"] == d["generator"] in ROSTER and post["generator"] == d["generator"]
        assert post["timing_arm"] == f"hour:{d['hour']:02d}" == f"hour:{post['scheduled_at'].hour:02d}"
        assert 0 < post["propensity"] <= 1
        assert abs(post["propensity"] - d["p_generator"] * d["p_hour"]) < 1e-12
        assert d["hour"] in d["hours"] and d["generator"] in d["generators"] and d["policy"] == "thompson"
    again = planning_pass(store, tracker, ROSTER, config=config, rng=random.Random(2))
    assert again.queued == 0  # full to the horizon: nothing more


def test_published_posts_reach_learning_and_horizons_are_collected_once(
    store, clock, tracker, clocked_sandbox, api_publisher_for
) -> None:
    ensure_account(store, DEMO_HANDLE, publisher="api")
    config = LearningConfig()
    post = enqueue(
        store,
        DEMO_HANDLE,
        "single",
        "I fixed my wake time for a month. My sleep is better for it?",
        generator="storyteller",
        bandit_arm="storyteller",
        timing_arm="hour:12",
        propensity=0.2,
    )
    run = run_posting(
        store, tracker, api_publisher_for, config=PostingConfig(), on_published=(learning_hook(store),)
    )
    assert run.count("posted") == 1
    [reward] = reward_rows(store)
    posted = get_post(store, post["id"])
    assert reward["post_id"] == post["id"] and reward["hour"] == posted["posted_at"].hour
    assert reward["generator"] == "storyteller" and reward["reward"] is None
    seen: list[str] = []
    for minutes in (30, 61, 70, 6 * 60 + 1, 8 * 60, 24 * 60 + 2, 30 * 60, 48 * 60 + 5, 60 * 60, 80 * 60):
        clock.set(posted["posted_at"] + timedelta(minutes=minutes))
        report = metrics_pass(store, tracker, api_publisher_for, config=config)
        seen += sorted(report.collected)
    assert seen == ["1h", "6h", "24h", "48h"]  # each once, none after its window
    rows = metrics_of(store, post["id"])
    assert [r["horizon"] for r in rows] == ["1h", "6h", "24h", "48h"]
    assert all(r["followers"] == 1000 and r["tweet_id"] == posted["tweet_id"] for r in rows)
    assert [r["impressions"] for r in rows] == sorted(r["impressions"] for r in rows)  # counts only grow
    live = clocked_sandbox.admin.metrics([posted["tweet_id"]])[posted["tweet_id"]]
    assert rows[-1]["likes"] <= live["likes"]
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(follower_snapshots)).scalar() == 4
    _, measured, update = learning_update(store, config, clock.now(), generator_arms=sorted(ROSTER))
    assert measured == 1 and update.applied == {DEMO_HANDLE: 1}
    [reward] = reward_rows(store)
    day = rows[2]
    assert reward["engagements"] == day["likes"] + day["reposts"] + day["replies"]
    assert abs(reward["engagement_rate"] - reward["engagements"] / day["impressions"]) < 1e-12
    assert reward["reward"] == min(1.0, reward["engagement_rate"] / config.reward_scale)
    arms = load_posteriors(store, DEMO_HANDLE, config)
    assert arms.get("generator", "storyteller").observations == 1
    assert arms.get("hour", f"{posted['posted_at'].hour:02d}").observations == 1


def test_a_failing_learning_hook_never_blocks_posting(store, clock, tracker, api_publisher_for) -> None:
    ensure_account(store, DEMO_HANDLE, publisher="api")
    post = enqueue(store, DEMO_HANDLE, "single", "Protein at breakfast, every day, for a month.")

    def broken_hook(row: dict) -> None:
        raise RuntimeError("learning store is down")

    run = run_posting(store, tracker, api_publisher_for, config=PostingConfig(), on_published=(broken_hook,))
    assert run.count("posted") == 1 and get_post(store, post["id"])["status"] == "posted"
    with store.connect() as conn:
        [data] = conn.execute(
            sa.select(system_events.c.event_data).where(
                system_events.c.event_type == "error_learning_handoff_failed"
            )
        ).scalars()
    assert data["context"]["hook"] == "broken_hook" and "learning store is down" in data["error_message"]
    assert reward_rows(store) == []
    learning_update(store, LearningConfig(), clock.now())  # the sweep catches what the hook missed
    assert [r["post_id"] for r in reward_rows(store)] == [post["id"]]


def test_metrics_yield_the_browser_to_posting(store, clock, tracker, tmp_path) -> None:
    ensure_account(store, "acct", publisher="browser")
    post = enqueue(store, "acct", "single", "Walk ten minutes after every meal.")
    with store.begin() as conn:
        conn.execute(
            sa.text("UPDATE posts SET status='posted', tweet_id='123', posted_at=:at WHERE id=:id"),
            {"at": clock.now().replace(tzinfo=None) if store.is_sqlite else clock.now(), "id": post["id"]},
        )
    clock.advance(minutes=65)
    assert acquire_lease(store, "browser:acct", "posting-run", "posting", 60)
    browsers: list[BrowserPublisher] = []

    def publisher_for(account: dict) -> BrowserPublisher:
        browsers.append(BrowserPublisher("http://127.0.0.1:9", tmp_path / "s.json", "acct", clock=clock))
        return browsers[-1]

    report = metrics_pass(store, tracker, publisher_for, config=LearningConfig())
    assert report.total == 0 and "posting first" in report.deferred["acct"]
    assert browsers and browsers[0].launches == 0  # no browser was even started
    assert metrics_of(store, post["id"]) == []
    release_lease(store, "browser:acct", "posting-run")


def test_metrics_read_only_the_configured_horizons() -> None:
    from datetime import UTC, datetime

    from xbot_pipeline.learning.metrics import due_horizons

    posted = datetime(2026, 1, 5, tzinfo=UTC)
    config = LearningConfig(metrics_horizons="24h")
    assert LearningConfig().read_horizons() == ("1h", "6h", "24h", "48h")
    assert config.read_horizons() == ("24h",)
    at_25h = posted + timedelta(hours=25)
    assert due_horizons(posted, set(), at_25h, 86400) == ["24h"]
    assert (
        due_horizons(posted, set(), posted + timedelta(hours=1, minutes=5), 86400, config.read_horizons())
        == []
    )
    assert due_horizons(posted, set(), at_25h, 86400, config.read_horizons()) == ["24h"]
