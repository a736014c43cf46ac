"""Thompson sampling reproducible with a seed; posteriors persisted, discounted and surviving a restart."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from xbot_pipeline.learning.bandit import (
    Arm,
    Posteriors,
    bernoulli_posteriors,
    choose_thompson,
    choose_ucb1,
    choose_uniform,
    counts_observe,
)
from xbot_pipeline.learning.config import LearningConfig
from xbot_pipeline.learning.rewards import baseline_counts, load_posteriors, update_posteriors
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.engine import create_store_engine
from xbot_pipeline.store.learning import ensure_reward_row, set_reward
from xbot_pipeline_tests.fixtures.health import add_post

ARMS = ["a", "b", "c", "d"]


def test_thompson_is_reproducible_with_a_seed_and_reports_its_propensity() -> None:
    post = Posteriors(
        [Arm("generator", "a", 30, 10), Arm("generator", "b", 10, 30), Arm("generator", "c", 12, 12)]
    )
    runs = [[choose_thompson(post, "generator", ARMS, random.Random(42)) for _ in range(5)] for _ in range(2)]
    assert runs[0] == runs[1]
    seq = [choose_thompson(post, "generator", ARMS, rng) for rng in [random.Random(7)] for _ in range(200)]
    assert sum(c.arm == "a" for c in seq) > 120  # the strong arm wins most draws
    a = next(c for c in seq if c.arm == "a")
    assert 0.5 < a.propensity <= 1.0  # P(a is the argmax), by Monte Carlo
    rare = [c for c in seq if c.arm == "b"]
    assert all(0 < c.propensity < 0.05 for c in rare)
    assert choose_thompson(post, "generator", ["b"], random.Random(1)).propensity == 1.0


def test_uniform_and_ucb1_have_exact_propensities() -> None:
    assert choose_uniform(ARMS, random.Random(1)).propensity == 0.25
    stats: dict[str, list[float]] = {}
    first = choose_ucb1(stats, ARMS, random.Random(3))  # all unplayed: a four-way tie
    assert first.propensity == pytest.approx(0.25)
    for arm, reward in [("a", 0.9), ("b", 0.1), ("c", 0.2), ("d", 0.3)] * 3:
        counts_observe(stats, arm, reward, reward > 0.3)
    assert stats["a"] == pytest.approx([3.0, 2.7, 3.0])  # plain counts: nothing decays
    best = [choose_ucb1(stats, ARMS, random.Random(i)) for i in range(20)]
    assert all(c.arm == "a" and c.propensity == 1.0 for c in best)  # deterministic once every arm is tried


def test_bernoulli_thompson_reads_successes_and_failures() -> None:
    stats = {"generator": {"a": [10.0, 6.0, 8.0], "b": [10.0, 2.0, 1.0]}, "hour": {"07": [2.0, 0.5, 0.0]}}
    post = bernoulli_posteriors(stats)
    a, b, h = post.get("generator", "a"), post.get("generator", "b"), post.get("hour", "07")
    assert (
        (a.alpha, a.beta) == (9.0, 3.0)
        and (b.alpha, b.beta) == (2.0, 10.0)
        and (h.alpha, h.beta) == (1.0, 3.0)
    )
    picks = [choose_thompson(post, "generator", ["a", "b"], random.Random(i)).arm for i in range(100)]
    assert picks.count("a") > 90


def test_discounting_pulls_old_evidence_toward_the_prior() -> None:
    post = Posteriors(prior=(1.0, 1.0))
    for _ in range(10):
        post.observe("generator", "a", 1.0, weight=2.0)
    a = post.get("generator", "a")
    assert (a.alpha, a.beta, a.observations) == (21.0, 1.0, 10)
    post.decay(0.5)
    assert (a.alpha, a.beta, a.n_eff) == (11.0, 1.0, 10.0)
    post.observe_hour(23, 1.0, 1.0, 0.5)
    assert post.get("hour", "00").alpha == 1.5 and post.get("hour", "22").alpha == 1.5
    assert post.get("hour", "23").observations == 1 and post.get("hour", "00").observations == 0
    assert post.valid()


def _measured_post(store: Store, clock, generator: str, hour_offset: int, reward: float) -> None:
    posted = clock.now() - timedelta(hours=hour_offset)
    post_id = add_post(store, "posted", posted, account_id="main", tweet_id=str(10**18 + hour_offset))
    row = {
        "id": post_id,
        "bandit_arm": generator,
        "posted_at": posted,
        "kind": "single",
        "account_id": "main",
    }
    ensure_reward_row(store, row, clock.now())
    set_reward(
        store,
        post_id,
        clock.now(),
        reward=reward,
        engagement_rate=reward / 10,
        success=reward / 10 > 0.03,
        horizon="24h",
    )


def test_posteriors_survive_a_restart_and_each_reward_is_applied_once(store, clock, database_url) -> None:
    ensure_account(store, "main")
    config = LearningConfig(half_life_days=30)
    _measured_post(store, clock, "storyteller", 30, 0.9)
    _measured_post(store, clock, "hype_merchant", 29, 0.1)
    report = update_posteriors(
        store, config, clock.now(), generator_arms=["storyteller", "hype_merchant", "coach"]
    )
    assert report.applied == {"main": 2}
    before = load_posteriors(store, "main", config).rows()
    assert len(before) == 3 + 24
    again = update_posteriors(store, config, clock.now())  # nothing new: nothing double-counted
    assert again.applied == {"main": 0}
    # a new process: a fresh engine and store on the same database
    engine = create_store_engine(database_url)
    try:
        restarted = Store(engine=engine, clock=clock)
        after = load_posteriors(restarted, "main", config).rows()
    finally:
        engine.dispose()
    assert after == before
    story = next(r for r in after if r["arm"] == "storyteller")
    assert story["alpha"] == pytest.approx(1 + 4 * 0.9) and story["beta"] == pytest.approx(1 + 4 * 0.1)
    hour = next(
        r
        for r in after
        if r["family"] == "hour" and r["arm"] == f"{(clock.now() - timedelta(hours=30)).hour:02d}"
    )
    assert hour["observations"] == 1
    # the baselines' plain counts: one pull each, with the seed's success line, never decayed (the old
    # "original rule" decayed every count by 0.95 at every reward, so it never stopped exploring)
    counts = baseline_counts(store, "main")
    assert counts["generator"]["storyteller"] == pytest.approx([1.0, 0.9, 1.0])
    assert counts["generator"]["hype_merchant"] == pytest.approx([1.0, 0.1, 0.0])
    clock.advance(days=30)  # a half-life later the evidence counts half
    faded = load_posteriors(store, "main", config, clock.now()).get("generator", "storyteller")
    assert faded.alpha == pytest.approx(1 + 2 * 0.9) and faded.n_eff == pytest.approx(2.0)
