"""The learning simulation: many simulated days against the stand-in, through the real jobs' code.

Per policy: a fresh SQLite store and a fresh stand-in (``SandboxServer``) share one ``ManualClock``. Every
20 simulated minutes the loop runs what the schedules run in production: hourly the learning update
(rewards + posteriors) and ``planning_pass``; then ``run_posting`` through the real API publisher over
HTTP, with learning's hand-off hook; then ``metrics_pass``. The audience model decides every reaction.

The truth used for regret is the audience model's expected engagement rate per (generator, hour),
estimated once per world by averaging ``engagement_rate`` over many drafts of each generator.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from xbot_pipeline.clock import ManualClock
from xbot_pipeline.content.generators import Generator, template_roster
from xbot_pipeline.events import EventTracker
from xbot_pipeline.learning.config import LearningConfig
from xbot_pipeline.learning.handoff import learning_hook
from xbot_pipeline.learning.metrics import metrics_pass
from xbot_pipeline.learning.planner import planning_pass
from xbot_pipeline.learning.rewards import learning_update, load_posteriors
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.publishers import publisher_for_map
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.sandbox import audience
from xbot_pipeline.store import Store
from xbot_pipeline.store import learning as q
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import due_posts

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=20)
ACCOUNT = "xbot_demo"


@dataclass
class Truth:
    """Expected engagement rate and expected reward per (generator, hour) in one simulated world."""

    rate: dict[str, list[float]]
    reward: dict[str, list[float]]

    def best_rate(self, generators: Sequence[str], hours: Sequence[int]) -> float:
        return max(self.rate[g][h] for g in generators for h in hours)


def world_truth(
    generators: dict[str, Generator], world_seed: int, config: LearningConfig, samples: int = 150
) -> Truth:
    """Average the audience model over ``samples`` drafts per generator at every hour (minute 10)."""
    rng = random.Random(world_seed * 7919 + 1)
    z = [math.exp(0.35 * zq - 0.35**2 / 2) for zq in _normal_quantiles(32)]  # per-post noise quadrature
    rate: dict[str, list[float]] = {}
    reward: dict[str, list[float]] = {}
    for name, gen in generators.items():
        drafts = [gen.generate(rng) for _ in range(samples)]
        rate[name], reward[name] = [], []
        for h in range(24):
            at = START.replace(hour=h, minute=10)
            rates = [
                audience.engagement_rate(d.text, at, seed=world_seed, is_thread=d.kind == "thread")
                for d in drafts
            ]
            rate[name].append(sum(rates) / len(rates))
            rewards = [
                sum(min(1.0, min(r * k, 0.9) / config.reward_scale) for k in z) / len(z) for r in rates
            ]
            reward[name].append(sum(rewards) / len(rewards))
    return Truth(rate, reward)


def _normal_quantiles(n: int) -> list[float]:
    from statistics import NormalDist

    nd = NormalDist()
    return [nd.inv_cdf((i + 0.5) / n) for i in range(n)]


@dataclass
class PolicyRun:
    policy: str
    world_seed: int
    days: int
    decisions: list[dict[str, Any]] = field(default_factory=list)  # one per planned post, with outcomes
    final_arms: list[dict[str, Any]] = field(default_factory=list)
    rejections: int = 0
    seconds: float = 0.0

    @property
    def measured(self) -> list[dict[str, Any]]:
        return [d for d in self.decisions if d.get("reward") is not None]

    def summary(self) -> dict[str, float]:
        rows = self.measured
        n = len(rows) or 1
        return {
            "posts": len(rows),
            "engagements": sum(d["engagements"] for d in rows),
            "impressions": sum(d["impressions"] for d in rows),
            "mean_rate": sum(d["engagement_rate"] for d in rows) / n,
            "mean_expected_rate": sum(d["expected_rate"] for d in rows) / n,
            "mean_reward": sum(d["reward"] for d in rows) / n,
            "regret": sum(d["regret"] for d in rows),
            "seconds": self.seconds,
        }


def run_policy(
    policy: str,
    *,
    days: int,
    world_seed: int,
    rng_seed: int,
    truth: Truth,
    workdir: Path | None = None,
    posts_per_day: int = 6,
    config: LearningConfig | None = None,
    database_url: str | None = None,
) -> PolicyRun:
    """Simulate ``days`` days of one policy; returns every decision with its measured and expected value."""
    from xbot_pipeline.sandbox.server import SandboxServer

    started = time.perf_counter()
    config = (config or LearningConfig()).with_changes(
        policy=policy, posts_per_day=posts_per_day, use_llm=False
    )
    with tempfile.TemporaryDirectory(prefix=f"xbot-sim-{policy}-", dir=workdir) as tmp:
        folder = Path(tmp)
        clock = ManualClock(START)
        store = Store.open(database_url or f"sqlite:///{folder / 'store.sqlite3'}", clock=clock)
        tracker = EventTracker.for_home(store, folder)
        generators = template_roster()
        rng = random.Random(rng_seed)
        try:
            with SandboxServer(folder / "x.sqlite3", clock=clock, seed=world_seed) as x:
                x.admin.set_limits(requests_per_window=100_000, posts_per_day=1000)
                ensure_account(store, ACCOUNT, publisher="api")
                build = publisher_for_map(
                    {ACCOUNT: {"publisher": "api", "token": x.account(ACCOUNT).token, "timeout_s": 10}},
                    api_url=x.api_url,
                    web_url=x.web_url,
                    clock=clock,
                )
                shared = _KeptOpen(build({"id": ACCOUNT, "handle": ACCOUNT}))
                publisher_for = lambda account: shared  # noqa: E731  (one HTTP client for the whole run)
                hook = learning_hook(store)
                posting_config = PostingConfig()
                end = START + timedelta(days=days)
                settle = end + timedelta(hours=26)  # let the last posts reach their 24 h reading
                now = START
                while now < settle:
                    clock.set(now)
                    if now.minute == 0:
                        learning_update(store, config, now, generator_arms=sorted(generators))
                        if now < end:
                            planning_pass(
                                store,
                                tracker,
                                generators,
                                clock=clock,
                                config=config,
                                posting_config=posting_config,
                                rng=rng,
                            )
                    if due_posts(store, ACCOUNT, now, now + timedelta(seconds=posting_config.grace_s)):
                        run_posting(
                            store,
                            tracker,
                            publisher_for,
                            clock=clock,
                            config=posting_config,
                            on_published=(hook,),
                        )
                    metrics_pass(store, tracker, publisher_for, clock=clock, config=config)
                    now += STEP
                learning_update(store, config, clock.now(), generator_arms=sorted(generators))
                run = PolicyRun(policy, world_seed, days, seconds=0.0)
                run.decisions = _decisions(store, truth, end)
                run.final_arms = load_posteriors(store, ACCOUNT, config).rows()
                run.rejections = len(q.rejections(store))
                shared.inner.close()
        finally:
            store.dispose()
    run.seconds = time.perf_counter() - started
    return run


class _KeptOpen:
    """The run's one API publisher; ``close`` from a pass is ignored (building one costs ~30 ms)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def close(self) -> None:
        pass


def _decisions(store: Store, truth: Truth, end: datetime) -> list[dict[str, Any]]:
    rewards = {r["post_id"]: r for r in q.reward_rows(store)}
    out = []
    for d in q.decisions(store):
        r = rewards.get(d["post_id"])
        hour = int(r["hour"]) if r else int(d["hour"])
        expected = truth.rate[d["generator"]][hour]
        best = truth.best_rate(d["generators"] if d["generators"] else list(truth.rate), d["hours"] or [hour])
        out.append(
            {
                **d,
                "posted_hour": hour,
                "expected_rate": expected,
                "regret": max(0.0, best - expected),
                "reward": None if r is None else r["reward"],
                "engagement_rate": None if r is None else r["engagement_rate"],
                "engagements": 0 if r is None else int(r["engagements"] or 0),
                "impressions": 0 if r is None else int(r["impressions"] or 0),
            }
        )
    return out


POLICIES = ("thompson", "uniform", "seed_rule")


def compare(
    *,
    days: int,
    seeds: Sequence[int],
    posts_per_day: int = 6,
    policies: Sequence[str] = POLICIES,
    database_for: Callable[[], str] | None = None,
) -> list[dict[str, Any]]:
    """Run every policy in every world seed; one result row per (seed, policy), with offline estimates
    (from that policy's own log) of the uniform and the greedy content policies."""
    from xbot_pipeline.learning import offline

    out = []
    generators = template_roster()
    for seed in seeds:
        truth = world_truth(generators, seed, LearningConfig())
        runs = {
            p: run_policy(
                p, days=days, world_seed=seed, rng_seed=seed, truth=truth, posts_per_day=posts_per_day
            )
            for p in policies
        }
        means = {
            a["arm"]: a["alpha"] / (a["alpha"] + a["beta"])
            for a in runs.get("thompson", next(iter(runs.values()))).final_arms
            if a["family"] == "generator"
        }
        targets = {"uniform": offline.uniform_target, "greedy": offline.greedy_target(means)}
        for policy, run in runs.items():
            row: dict[str, Any] = {"seed": seed, "policy": policy, "days": days, **run.summary()}
            row["rejections"] = run.rejections
            row["cumulative_regret"] = _cumulative([d["regret"] for d in run.measured])
            for name, target in targets.items():
                est = offline.estimate(run.measured, target)
                row[f"ope_{name}_snips"] = est["snips"]
                row[f"ope_{name}_ips"] = est["ips"]
                row[f"ope_{name}_ess"] = est["ess"]
                row[f"ope_{name}_truth"] = offline.content_truth(run.measured, target, truth.reward)
            out.append(row)
    return out


def _cumulative(values: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out
