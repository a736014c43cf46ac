"""``metrics_pass``: public metrics of recent posts at fixed horizons after ``posted_at``, append-only.

Each horizon (1 h, 6 h, 24 h, 48 h) is collected once per post (a unique index guards it), as soon as a
pass runs after it and before it is too late (the horizon's own length, at most ``metrics_late_hours``):
a reading taken much later would be mislabelled. Follower counts are read once per account per pass.
With the browser publisher every chunk of reads holds the browser lease with purpose ``metrics``, which
gives way at once when posting waits for the browser; the rest waits for the next pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.clock import Clock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.learning.config import HORIZONS, LearningConfig
from xbot_pipeline.publishing.base import Publisher
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import list_accounts
from xbot_pipeline.store.metrics import insert_metric, posts_to_measure, record_followers

log = logging.getLogger("xbot_pipeline.learning")
COMPONENT = "metrics"


@dataclass
class MetricsReport:
    collected: dict[str, int] = field(default_factory=dict)  # horizon -> rows written
    missing: int = 0  # due, but the publisher could not read the post
    deferred: dict[str, str] = field(default_factory=dict)  # account -> why (lease busy, error)
    followers: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.collected.values())

    def summary(self) -> str:
        by = ", ".join(f"{h} {n}" for h, n in sorted(self.collected.items())) or "nothing due"
        return f"metrics: {by}; missing {self.missing}; deferred {len(self.deferred)}"


def due_horizons(
    posted_at: datetime,
    collected: set[str],
    now: datetime,
    late_s: float,
    horizons: Collection[str] = tuple(HORIZONS),
) -> list[str]:
    out = []
    for horizon, seconds in HORIZONS.items():
        if horizon in collected or horizon not in horizons:
            continue
        age = (now - posted_at).total_seconds()
        if seconds <= age <= seconds + min(late_s, seconds):
            out.append(horizon)
    return out


def metrics_pass(
    store: Store,
    tracker: EventTracker,
    publisher_for: Callable[[dict[str, Any]], Publisher],
    *,
    config: LearningConfig | None = None,
    account_ids: list[str] | None = None,
    lease_deadline_s: float = 120.0,
) -> MetricsReport:
    clock = store.clock
    config = config or LearningConfig()
    report = MetricsReport()
    late_s = config.metrics_late_hours * 3600
    wanted = config.read_horizons()
    for account in list_accounts(store):
        if (account_ids is not None and account["id"] not in account_ids) or account["status"] == "paused":
            continue
        now = clock.now()
        since = now - timedelta(seconds=max(HORIZONS.values()) + late_s)
        due = []
        for row in posts_to_measure(store, account["id"], since):
            for horizon in due_horizons(row["posted_at"], row["collected"], now, late_s, wanted):
                due.append((row, horizon))
        if not due:
            continue
        publisher: Publisher | None = None
        try:
            publisher = publisher_for(account)
            _collect(store, tracker, publisher, account["id"], due, clock, config, lease_deadline_s, report)
        except Exception as exc:
            log.exception("metrics for %s failed", account["id"])
            tracker.track_error(
                COMPONENT, "metrics_collection_failed", exc, "warning", account_id=account["id"]
            )
            report.deferred[account["id"]] = f"failed: {exc}"
        finally:
            if publisher is not None:
                try:
                    publisher.close()
                except Exception as exc:
                    log.warning("closing the publisher for %s failed: %s", account["id"], exc)
    return report


def _collect(
    store: Store,
    tracker: EventTracker,
    publisher: Publisher,
    account_id: str,
    due: list[tuple[dict[str, Any], str]],
    clock: Clock,
    config: LearningConfig,
    lease_deadline_s: float,
    report: MetricsReport,
) -> None:
    browser = getattr(publisher, "name", "") == "browser"
    chunk = max(1, config.metrics_chunk) if browser else 100
    followers: int | None = None
    for start in range(0, len(due), chunk):
        part = due[start : start + chunk]
        if browser:
            from xbot_pipeline.publishing.lease import LeaseUnavailable, browser_lease

            lease: AbstractContextManager[object] = browser_lease(
                store, tracker, account_id, "metrics", lease_deadline_s, wait_s=0
            )
        else:
            lease = nullcontext()
        try:
            with lease:
                ids = sorted({str(row["tweet_id"]) for row, _ in part})
                read = publisher.fetch_metrics(ids)
                if followers is None:
                    followers = publisher.followers_count()
        except Exception as exc:
            if browser and isinstance(exc, LeaseUnavailable):
                report.deferred[account_id] = f"browser busy (posting first): {exc}"
                tracker.track_event(
                    "metrics_deferred",
                    {"reason": str(exc), "left": len(due) - start},
                    component=COMPONENT,
                    account_id=account_id,
                )
                return
            raise
        now = clock.now()
        for row, horizon in part:
            m = read.get(str(row["tweet_id"]))
            if m is None:
                report.missing += 1
                continue
            wrote = insert_metric(
                store,
                {
                    "post_id": row["id"],
                    "account_id": account_id,
                    "tweet_id": str(row["tweet_id"]),
                    "horizon": horizon,
                    "collected_at": now,
                    "impressions": m.impressions,
                    "likes": m.likes,
                    "reposts": m.reposts,
                    "replies": m.replies,
                    "quotes": m.quotes,
                    "bookmarks": m.bookmarks,
                    "followers": followers,
                },
            )
            if wrote:
                report.collected[horizon] = report.collected.get(horizon, 0) + 1
    if followers is not None:
        record_followers(store, account_id, followers, clock.now())
        report.followers[account_id] = followers
