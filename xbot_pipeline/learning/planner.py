"""``planning_pass``: keep each active account's queue planned to a horizon, choosing what and when.

A UTC day is planned whole once it starts within ``horizon_hours``: for every missing post the planner
picks an hour slot among the day's free hours and a generator among the arms (Thompson sampling over
the persisted, discounted posteriors by default), generates drafts until one passes the quality gates,
and queues it through ``enqueue`` with the generator, both arms and the joint propensity
``p(generator) * p(hour | free hours)``. One post per hour slot keeps the seed's limits (2 per hour,
20 minutes apart); threads stop at the per-day thread limit. Every rejected draft is recorded.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.clock import Clock
from xbot_pipeline.content.gates import check_draft
from xbot_pipeline.content.generators import Draft, Generator
from xbot_pipeline.events import EventTracker
from xbot_pipeline.learning.bandit import (
    Choice,
    Posteriors,
    bernoulli_posteriors,
    choose_thompson,
    choose_ucb1,
    choose_uniform,
)
from xbot_pipeline.learning.config import LearningConfig
from xbot_pipeline.learning.evergreen import EvergreenConfig, due_originals, requeue
from xbot_pipeline.learning.rewards import baseline_counts, load_posteriors
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.enqueue import ValidationError, enqueue
from xbot_pipeline.store import Store
from xbot_pipeline.store import learning as q
from xbot_pipeline.store.accounts import list_accounts

log = logging.getLogger("xbot_pipeline.learning")
BASELINES = ("ucb1", "bernoulli_thompson")  # policies that read plain counts instead of the posteriors
COMPONENT = "learning"


@dataclass
class PlanLine:
    account_id: str
    action: str  # queued | evergreen | unfilled
    post_id: int | None = None
    generator: str = ""
    hour: int | None = None
    kind: str = ""
    propensity: float | None = None
    detail: str = ""

    def __str__(self) -> str:
        what = (
            f"post {self.post_id} {self.kind} by {self.generator} at {self.hour:02d}h" if self.post_id else ""
        )
        p = f" p={self.propensity:.3f}" if self.propensity is not None else ""
        return f"[{self.account_id}] {self.action} {what}{p} {self.detail}".strip()


@dataclass
class PlanningReport:
    lines: list[PlanLine] = field(default_factory=list)
    rejections: dict[str, int] = field(default_factory=dict)  # gate -> count
    accounts: dict[str, str] = field(default_factory=dict)

    @property
    def queued(self) -> int:
        return sum(1 for line in self.lines if line.action == "queued")

    @property
    def evergreen(self) -> int:
        return sum(1 for line in self.lines if line.action == "evergreen")

    def summary(self) -> str:
        rej = ", ".join(f"{k} {v}" for k, v in sorted(self.rejections.items())) or "none"
        again = f", {self.evergreen} evergreen re-queued" if self.evergreen else ""
        return f"planning: {self.queued} queued{again}, rejections: {rej}"


class _Chooser:
    """One account's chooser for this pass (policy + state loaded once)."""

    def __init__(
        self, store: Store, account_id: str, config: LearningConfig, now: datetime, rng: random.Random
    ):
        self.config, self.rng = config, rng
        self.policy = "bernoulli_thompson" if config.policy == "seed_rule" else config.policy
        self.posteriors: Posteriors = load_posteriors(store, account_id, config, now)
        self.stats = baseline_counts(store, account_id) if self.policy in BASELINES else {}
        if self.policy == "bernoulli_thompson":
            self.posteriors = bernoulli_posteriors(self.stats, (config.prior_alpha, config.prior_beta))

    def choose(self, family: str, candidates: list[str]) -> Choice:
        if self.policy == "uniform":
            return choose_uniform(candidates, self.rng)
        if self.policy == "ucb1":
            return choose_ucb1(self.stats[family], candidates, self.rng)
        return choose_thompson(self.posteriors, family, candidates, self.rng, self.config.mc_draws)


def _days_to_plan(now: datetime, horizon_hours: float) -> list[datetime]:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    while day <= now + timedelta(hours=horizon_hours):
        out.append(day)
        day += timedelta(days=1)
    return out


def planning_pass(
    store: Store,
    tracker: EventTracker,
    generators: Mapping[str, Generator],
    *,
    config: LearningConfig | None = None,
    posting_config: PostingConfig | None = None,
    rng: random.Random | None = None,
    account_ids: list[str] | None = None,
    evergreen: EvergreenConfig | None = None,
) -> PlanningReport:
    """One planning pass over every active account; never raises for one account's failure. With
    ``evergreen``, due evergreen posts are re-queued first (each takes a slot of the plan)."""
    clock = store.clock
    config = config or LearningConfig()
    posting_config = posting_config or PostingConfig()
    rng = rng or random.Random()
    report = PlanningReport()
    for account in list_accounts(store):
        if account_ids is not None and account["id"] not in account_ids:
            continue
        if account["status"] != "active":
            report.accounts[account["id"]] = f"not planned: {account['status']}"
            continue
        try:
            again = 0
            if evergreen is not None:
                again = _plan_evergreen(
                    store, tracker, account["id"], config, posting_config, evergreen, rng, report
                )
            n = _plan_account(store, tracker, generators, account, clock, config, posting_config, rng, report)
            report.accounts[account["id"]] = f"{n} queued" + (f", {again} evergreen" if again else "")
        except Exception as exc:
            log.exception("planning for %s failed", account["id"])
            tracker.track_error(COMPONENT, "planning_failed", exc, "error", account_id=account["id"])
            report.accounts[account["id"]] = f"planning failed: {exc}"
    return report


def _plan_account(
    store: Store,
    tracker: EventTracker,
    generators: Mapping[str, Generator],
    account: dict[str, Any],
    clock: Clock,
    config: LearningConfig,
    posting_config: PostingConfig,
    rng: random.Random,
    report: PlanningReport,
) -> int:
    account_id = account["id"]
    now = clock.now()
    limits = posting_config.limits.merged(account.get("limits"))
    chooser = _Chooser(store, account_id, config, now, rng)
    recent = q.recent_texts(store, account_id, now - timedelta(days=config.gates.dedup_window_days))
    arms = sorted(generators)
    exhausted: set[str] = set()
    queued = 0
    for day in _days_to_plan(now, config.horizon_hours):
        existing = q.planned_posts(store, account_id, day, day + timedelta(days=1))
        used = {row["at"].hour for row in existing}
        threads = sum(1 for row in existing if row["kind"] == "thread")
        earliest = now + timedelta(minutes=config.lead_minutes)
        free = [f"{h:02d}" for h in range(24) if h not in used and day + timedelta(hours=h) >= earliest]
        need = min(config.posts_per_day - len(existing), len(free))
        for _ in range(max(0, need)):
            hour = chooser.choose("hour", free)
            kind = None if threads < min(limits.threads_per_day, limits.threads_per_hour * 24) else "single"
            slot = day + timedelta(hours=int(hour.arm), minutes=rng.uniform(0, config.slot_jitter_minutes))
            # a generator whose drafts all fail the gates (its material is used up for now) leaves the
            # choice set; the logged propensity is the one over the set the choice was really made from
            candidates = [a for a in arms if a not in exhausted]
            draft, gen = None, None
            while candidates and draft is None:
                gen = chooser.choose("generator", candidates)
                draft = _gated_draft(
                    store, tracker, generators[gen.arm], account_id, kind, recent, config, rng, report
                )
                if draft is None:
                    exhausted.add(gen.arm)
                    candidates = [a for a in candidates if a != gen.arm]
            if draft is None or gen is None:
                report.lines.append(
                    PlanLine(
                        account_id,
                        "unfilled",
                        hour=int(hour.arm),
                        detail=f"no generator's draft passed the gates in {config.max_drafts} tries",
                    )
                )
                tracker.track_event(
                    "planning_slot_unfilled",
                    {"hour": int(hour.arm), "day": day.date().isoformat()},
                    "warning",
                    component=COMPONENT,
                    account_id=account_id,
                )
                break
            post = _queue(
                store,
                tracker,
                account_id,
                draft,
                gen,
                hour,
                slot,
                free,
                candidates,
                config,
                posting_config,
                report,
            )
            if post is None:
                continue
            free.remove(hour.arm)
            threads += int(draft.kind == "thread")
            recent.append((post["id"], post["normalized_text"]))
            queued += 1
    return queued


def _free_slot(
    store: Store, account_id: str, now: datetime, config: LearningConfig, rng: random.Random
) -> datetime | None:
    """The earliest free hour slot of the planned days (a day already full is skipped)."""
    earliest = now + timedelta(minutes=config.lead_minutes)
    for day in _days_to_plan(now, config.horizon_hours):
        existing = q.planned_posts(store, account_id, day, day + timedelta(days=1))
        if len(existing) >= config.posts_per_day:
            continue
        used = {row["at"].hour for row in existing}
        for h in range(24):
            if h not in used and day + timedelta(hours=h) >= earliest:
                return day + timedelta(hours=h, minutes=rng.uniform(0, config.slot_jitter_minutes))
    return None


def _plan_evergreen(
    store: Store,
    tracker: EventTracker,
    account_id: str,
    config: LearningConfig,
    posting_config: PostingConfig,
    evergreen: EvergreenConfig,
    rng: random.Random,
    report: PlanningReport,
) -> int:
    """Re-queue due evergreen posts (at most ``evergreen.per_pass``) as varied copies in free slots."""
    now = store.clock.now()
    due = due_originals(store, account_id, now, evergreen)[: evergreen.per_pass]
    if not due:
        return 0
    recent = q.recent_texts(store, account_id, now - timedelta(days=config.gates.dedup_window_days))
    done = 0
    for original in due:
        slot = _free_slot(store, account_id, now, config, rng)
        if slot is None:
            break
        post = requeue(store, tracker, original, slot, recent, evergreen, posting_config, config.gates)
        if post is None:
            continue
        recent.append((post["id"], post["normalized_text"]))
        report.lines.append(
            PlanLine(
                account_id,
                "evergreen",
                post["id"],
                original.get("generator") or "operator",
                slot.hour,
                post["kind"],
                detail=f"(copy of post {original['id']})",
            )
        )
        done += 1
    return done


def _gated_draft(
    store: Store,
    tracker: EventTracker,
    generator: Generator,
    account_id: str,
    kind: str | None,
    recent: list[tuple[int, str]],
    config: LearningConfig,
    rng: random.Random,
    report: PlanningReport,
) -> Draft | None:
    for _ in range(config.max_drafts):
        draft = generator.generate(rng, kind=kind)
        verdict = check_draft(draft, recent, config.gates)
        if verdict.passed:
            return draft
        _reject(
            store, tracker, account_id, draft, verdict.gate, verdict.reason, report, verdict.similar_post_id
        )
    return None


def _reject(
    store: Store,
    tracker: EventTracker,
    account_id: str,
    draft: Draft,
    gate: str,
    reason: str,
    report: PlanningReport,
    similar: int | None = None,
) -> None:
    report.rejections[gate] = report.rejections.get(gate, 0) + 1
    now = store.clock.now()
    q.record_rejection(
        store, account_id, draft.generator, draft.kind, "\n".join(draft.parts), gate, reason, now, similar
    )
    tracker.track_event(
        "content_rejected",
        {"generator": draft.generator, "gate": gate, "reason": reason, "kind": draft.kind},
        component="content",
        account_id=account_id,
    )


def _queue(
    store: Store,
    tracker: EventTracker,
    account_id: str,
    draft: Draft,
    gen: Choice,
    hour: Choice,
    slot: datetime,
    free: list[str],
    arms: list[str],
    config: LearningConfig,
    posting_config: PostingConfig,
    report: PlanningReport,
) -> dict[str, Any] | None:
    propensity = max(1e-9, min(1.0, gen.propensity * hour.propensity))
    try:
        post = enqueue(
            store,
            account_id,
            draft.kind,
            list(draft.parts),
            scheduled_at=slot,
            generator=draft.generator,
            bandit_arm=gen.arm,
            timing_arm=f"hour:{hour.arm}",
            propensity=propensity,
            config=posting_config,
            origin="planner",
        )
    except ValidationError as exc:
        _reject(store, tracker, account_id, draft, "enqueue", str(exc), report)
        return None
    q.record_decision(
        store,
        {
            "post_id": post["id"],
            "account_id": account_id,
            "policy": config.policy,
            "generator": gen.arm,
            "hour": int(hour.arm),
            "p_generator": gen.propensity,
            "p_hour": hour.propensity,
            "propensity": propensity,
            "generators": list(arms),
            "hours": [int(h) for h in free],
            "planned_at": store.clock.now(),
        },
    )
    report.lines.append(
        PlanLine(
            account_id,
            "queued",
            post["id"],
            gen.arm,
            int(hour.arm),
            draft.kind,
            propensity,
            f"(generator p={gen.propensity:.3f}, hour p={hour.propensity:.3f})",
        )
    )
    return post
