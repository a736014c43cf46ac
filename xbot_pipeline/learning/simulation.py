"""The learning simulation: many simulated days against the stand-in, through the real jobs' code.

Per (world, repetition, policy): a fresh store (SQLite file, or the database ``database_url`` names) and a
fresh stand-in (``SandboxServer``, X's default limits) share one ``ManualClock``. Every 20 simulated
minutes the loop runs what the schedules run in production: hourly the learning update (rewards +
posteriors) and ``planning_pass``; then ``run_posting`` through the real API publisher over HTTP, with
learning's hand-off hook; then ``metrics_pass``. The world (``learning/worlds.py``) decides every
reaction; the simulation tells it who wrote each published post (persona effects and fatigue).

The truth for regret is the world's expected engagement rate of every generator at the decision's free
hours, at the time the post went out, given what was posted before (fatigue) and whether the day's
thread limit still allowed a thread.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from xbot_pipeline.clock import ManualClock
from xbot_pipeline.content.generators import template_roster
from xbot_pipeline.events import EventTracker
from xbot_pipeline.learning.config import HORIZONS, LearningConfig
from xbot_pipeline.learning.handoff import learning_hook
from xbot_pipeline.learning.metrics import metrics_pass
from xbot_pipeline.learning.planner import planning_pass
from xbot_pipeline.learning.rewards import learning_update, load_posteriors
from xbot_pipeline.learning.worlds import Truth, make_world
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.factory import publisher_for_map
from xbot_pipeline.store import Store
from xbot_pipeline.store import learning as q
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import due_posts

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday
STEP = timedelta(minutes=20)
ACCOUNT = "xbot_demo"


@dataclass(frozen=True)
class Variant:
    """A policy as the simulation runs it: the planner's ``policy`` plus config changes."""

    name: str
    policy: str
    changes: tuple[tuple[str, object], ...] = ()


VARIANTS = {
    v.name: v
    for v in (
        Variant("thompson", "thompson"),
        Variant("uniform", "uniform"),
        Variant("ucb1", "ucb1"),
        Variant("bernoulli_thompson", "bernoulli_thompson"),  # = the original's rule (seed_rule)
        Variant("thompson_hl7", "thompson", (("half_life_days", 7.0),)),
        Variant("thompson_hl14", "thompson", (("half_life_days", 14.0),)),
    )
}
POLICIES = ("thompson", "uniform", "ucb1", "bernoulli_thompson")


@dataclass
class PolicyRun:
    policy: str
    world: str
    rep: int
    days: int
    decisions: list[dict[str, Any]] = field(default_factory=list)  # one per planned post, with outcomes
    published: list[dict[str, Any]] = field(default_factory=list)  # id, kind, parts, posted_at
    final_arms: list[dict[str, Any]] = field(default_factory=list)
    rejections: int = 0
    seconds: float = 0.0
    store_url: str = ""  # the store the run used (SQLite file or the Postgres database it was given)

    @property
    def measured(self) -> list[dict[str, Any]]:
        return [d for d in self.decisions if d.get("reward") is not None]

    def summary(self) -> dict[str, float]:
        rows = self.measured
        n = len(rows) or 1
        last_week = [d for d in rows if d["posted_at"] >= START + timedelta(days=max(0, self.days - 7))]
        return {
            "posts": len(rows),
            "engagements": sum(d["engagements"] for d in rows),
            "impressions": sum(d["impressions"] for d in rows),
            "mean_rate": sum(d["engagement_rate"] for d in rows) / n,
            "mean_expected_rate": sum(d["expected_rate"] for d in rows) / n,
            "mean_reward": sum(d["reward"] for d in rows) / n,
            "regret": sum(d["regret"] for d in rows),
            "best_arm_last_week": sum(d["best_generator"] for d in last_week) / (len(last_week) or 1),
            "best_hour_last_week": sum(d["best_hour"] for d in last_week) / (len(last_week) or 1),
            "threads": sum(1 for d in self.published if d["kind"] == "thread"),
            **posting_limits_seen(self.published),
            "seconds": self.seconds,
        }


def posting_limits_seen(published: Sequence[dict[str, Any]]) -> dict[str, float]:
    """What the run really did against the posting limits: the most threads in one UTC day, the most
    posts and threads within any 60 minutes, and the shortest gap between two posts (minutes)."""
    times = sorted((p["posted_at"], p["kind"]) for p in published)
    per_day: dict[Any, int] = {}
    for at, kind in times:
        per_day[at.date()] = per_day.get(at.date(), 0) + int(kind == "thread")
    hour = timedelta(hours=1)
    window = [[k for t, k in times if at <= t < at + hour] for at, _ in times]
    gaps = [(b - a).total_seconds() / 60 for (a, _), (b, _) in itertools.pairwise(times)]
    return {
        "max_threads_per_day": max(per_day.values(), default=0),
        "max_posts_per_hour": max((len(w) for w in window), default=0),
        "max_threads_per_hour": max((w.count("thread") for w in window), default=0),
        "min_spacing_min": min(gaps, default=math.inf),
    }


def run_policy(
    variant: str | Variant,
    *,
    days: int,
    truth: Truth,
    rep: int = 0,
    workdir: Path | None = None,
    posts_per_day: int = 6,
    config: LearningConfig | None = None,
    database_url: str | None = None,
) -> PolicyRun:
    """Simulate ``days`` days of one policy in ``truth``'s world; every decision with its measured and
    expected value."""
    from xbot_pipeline.sandbox.server import SandboxServer

    v = VARIANTS[variant] if isinstance(variant, str) else variant
    started = time.perf_counter()
    config = (config or LearningConfig()).with_changes(
        policy=v.policy,
        posts_per_day=posts_per_day,
        use_llm=False,
        metrics_horizons=LearningConfig().reward_horizon,  # the other readings feed nothing learning uses
        **dict(v.changes),
    )
    world = replace(truth.world, personas={}, uses={})  # this run's audience remembers this run only
    truth = replace(truth, world=world)
    with tempfile.TemporaryDirectory(prefix=f"xbot-sim-{v.name}-", dir=workdir) as tmp:
        folder = Path(tmp)
        clock = ManualClock(START)
        store_url = database_url or f"sqlite:///{folder / 'store.sqlite3'}"
        store = Store.open(store_url, clock=clock)
        tracker = EventTracker.for_home(store, folder)
        generators = template_roster()
        rng = random.Random(f"{world.name}:{rep}")
        published: list[dict[str, Any]] = []
        readings: list[datetime] = []  # when a published post's reward reading falls due

        def tell_the_audience(post: dict[str, Any]) -> None:
            parts = list(post.get("parts") or [post["text"]])
            world.record(post["generator"] or "", post["posted_at"], parts)
            published.append(
                {k: post[k] for k in ("id", "kind", "posted_at", "generator")} | {"parts": parts}
            )
            for horizon in config.read_horizons():
                heapq.heappush(readings, post["posted_at"] + timedelta(seconds=HORIZONS[horizon]))

        try:
            noise_seed = sum(map(ord, world.name)) * 1000 + rep  # per-post noise: one stream per (world, rep)
            with SandboxServer(folder / "x.sqlite3", clock=clock, seed=noise_seed) as x:
                x.sandbox.world = world
                ensure_account(store, ACCOUNT, publisher="api")
                build = publisher_for_map(
                    {ACCOUNT: {"publisher": "api", "token": x.account(ACCOUNT).token, "timeout_s": 10}},
                    api_url=x.api_url,
                    web_url=x.web_url,
                    clock=clock,
                )
                shared = _KeptOpen(build({"id": ACCOUNT, "handle": ACCOUNT}))
                publisher_for = lambda account: shared  # noqa: E731  (one HTTP client for the whole run)
                hooks = (learning_hook(store), tell_the_audience)
                posting_config = PostingConfig()
                end = START + timedelta(days=days)
                settle = end + timedelta(hours=26)  # let the last posts reach their 24 h reading
                now, replan, measured = START, True, False
                slots: list[datetime] = []  # queued slots (posting is only looked at when one is due)
                while now < settle:
                    clock.set(now)
                    # the schedules' passes, except those that cannot change anything: the learning
                    # update when no reading came in since the last one, planning when the last pass
                    # filled its days (it plans a whole day once it is within the horizon: at 00:00),
                    # metrics when no reading fell due (plus a catch-up pass every day), posting when no
                    # queued slot is due (plus a look every hour)
                    if now.minute == 0:
                        if measured:
                            learning_update(store, config, now, generator_arms=sorted(generators))
                            measured = False
                        if now < end and (replan or now.hour == 0):
                            report = planning_pass(
                                store,
                                tracker,
                                generators,
                                config=config,
                                posting_config=posting_config,
                                rng=rng,
                            )
                            replan = any(line.action == "unfilled" for line in report.lines) or bool(
                                report.rejections.get("enqueue")
                            )
                            slots = _queued_slots(store, now, end)
                    grace = now + timedelta(seconds=posting_config.grace_s)
                    if ((slots and slots[0] <= grace) or now.minute == 0) and due_posts(
                        store, ACCOUNT, now, grace
                    ):
                        run_posting(
                            store,
                            tracker,
                            publisher_for,
                            config=posting_config,
                            on_published=hooks,
                        )
                        slots = _queued_slots(store, now, end)  # a post a limit held back stays due
                    if (readings and readings[0] <= now) or (now.minute == 0 and now.hour == 0):
                        metrics_pass(store, tracker, publisher_for, config=config)
                        while readings and readings[0] <= now:
                            heapq.heappop(readings)
                        measured = True
                    now += STEP
                learning_update(store, config, clock.now(), generator_arms=sorted(generators))
                run = PolicyRun(v.name, world.name, rep, days, store_url=store_url)
                run.published = published
                run.decisions = _decisions(store, truth, published)
                run.final_arms = load_posteriors(store, ACCOUNT, config).rows()
                run.rejections = len(q.rejections(store))
                shared.inner.close()
        finally:
            store.dispose()
    run.seconds = time.perf_counter() - started
    return run


def _queued_slots(store: Store, now: datetime, end: datetime) -> list[datetime]:
    rows = q.planned_posts(store, ACCOUNT, now - timedelta(days=1), end + timedelta(days=1))
    return sorted(row["at"] for row in rows if row["status"] == "queued")


class _KeptOpen:
    """The run's one API publisher; ``close`` from a pass is ignored (building one costs ~30 ms)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def close(self) -> None:
        pass


def _decisions(store: Store, truth: Truth, published: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rewards = {r["post_id"]: r for r in q.reward_rows(store)}
    posts = {p["id"]: p for p in published}
    threads_on: dict[Any, int] = {}  # UTC day -> threads planned so far (decisions come in planning order)
    out = []
    for d in q.decisions(store):
        r, post = rewards.get(d["post_id"]), posts.get(d["post_id"])
        hour = int(r["hour"]) if r else int(d["hour"])
        at = post["posted_at"] if post else START
        day = at.date()
        single = threads_on.get(day, 0) >= PostingConfig().limits.threads_per_day
        threads_on[day] = threads_on.get(day, 0) + int(post is not None and post["kind"] == "thread")
        generators = d["generators"] or sorted(truth.content[0]["any"])
        hours = d["hours"] or [hour]
        expected = truth.rate(d["generator"], hour, at, single=single)
        best = truth.best_rate(generators, hours, at, single=single)
        best_generator = truth.best_generator(at)
        out.append(
            {
                **d,
                "posted_hour": hour,
                "posted_at": at,
                "expected_rate": expected,
                "regret": max(0.0, best - expected),
                "best_generator": d["generator"] == best_generator,
                "best_hour": hour == truth.best_hour(at),
                "true_rewards": {g: truth.reward(g, hour, at, single=single) for g in generators},
                "reward": None if r is None else r["reward"],
                "engagement_rate": None if r is None else r["engagement_rate"],
                "engagements": 0 if r is None else int(r["engagements"] or 0),
                "impressions": 0 if r is None else int(r["impressions"] or 0),
            }
        )
    return out


def compare(
    *,
    days: int,
    worlds: Sequence[str],
    reps: int = 1,
    posts_per_day: int = 6,
    policies: Sequence[str] = POLICIES,
    database_for: Callable[[], str] | None = None,
    jobs: int = 1,
) -> list[dict[str, Any]]:
    """Run every policy in every world ``reps`` times (repetition r: the planner's and the audience's
    noise seeds); one row per (world, rep, policy), with offline estimates from that run's own log of the
    uniform and the greedy content policies. ``database_for`` gives each run a fresh store URL; ``jobs``
    runs that many simulations at once (processes)."""
    generators = template_roster()
    config = LearningConfig()
    truths = {
        w: Truth.build(
            make_world(w, sorted(generators), START + timedelta(days=days / 2)),
            generators,
            config.reward_scale,
        )
        for w in worlds
    }
    tasks = [
        (p, w, r, database_for() if database_for else None)
        for w in worlds
        for r in range(reps)
        for p in policies
    ]
    args = [
        dict(variant=p, days=days, truth=truths[w], rep=r, posts_per_day=posts_per_day, database_url=url)
        for p, w, r, url in tasks
    ]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            runs = list(pool.map(_run, args))
    else:
        runs = [_run(a) for a in args]
    return [_row(run, days) for run in runs]


def _run(kwargs: dict[str, Any]) -> PolicyRun:
    return run_policy(**kwargs)


def _row(run: PolicyRun, days: int) -> dict[str, Any]:
    from xbot_pipeline.learning import offline

    means = {
        a["arm"]: a["alpha"] / (a["alpha"] + a["beta"]) for a in run.final_arms if a["family"] == "generator"
    }
    targets = {"uniform": offline.uniform_target, "greedy": offline.greedy_target(means)}
    row: dict[str, Any] = {
        "world": run.world,
        "rep": run.rep,
        "policy": run.policy,
        "days": days,
        **run.summary(),
    }
    row["rejections"] = run.rejections
    row["store_url"] = run.store_url
    row["published"] = run.published
    row["cumulative_regret"] = _cumulative([d["regret"] for d in run.measured])
    for name, target in targets.items():
        est = offline.estimate(run.measured, target)
        row[f"ope_{name}_snips"] = est["snips"]
        row[f"ope_{name}_ips"] = est["ips"]
        row[f"ope_{name}_ess"] = est["ess"]
        row[f"ope_{name}_truth"] = offline.content_truth(run.measured, target)
    return row


def _cumulative(values: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out
