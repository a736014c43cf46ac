"""Rate budget per account: what may still go out now, counting posts whose id is still missing.

Counted: posted rows (with or without id), 'unknown' rows and rows being posted right now, by
``posted_at`` (else ``claimed_at``): a post that may be live counts until proven otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from xbot_pipeline.posting.config import Limits
from xbot_pipeline.store import Store
from xbot_pipeline.store.posts import recent_publications


@dataclass
class Budget:
    limits: Limits
    recent: list[tuple[str, datetime]] = field(default_factory=list)  # (kind, when), last 24 h
    used_this_run: int = 0
    attempts_this_run: int = 0

    @classmethod
    def conservative(cls, per_run: int) -> Budget:
        """When the rate-limit query fails: allow ``per_run`` posts, nothing else assumed."""
        return cls(Limits(per_hour=per_run, replies_per_hour=per_run, min_spacing_s=0, per_run=per_run))

    def _count(self, now: datetime, hours: float, kinds: tuple[str, ...] | None = None) -> int:
        since = now - timedelta(hours=hours)
        return sum(1 for kind, at in self.recent if at >= since and (kinds is None or kind in kinds))

    def allows(self, kind: str, now: datetime) -> tuple[bool, str]:
        lim = self.limits
        if self.used_this_run + self.attempts_this_run >= lim.per_run:
            return False, f"per-run cap {lim.per_run} reached"
        if self.recent and lim.min_spacing_s > 0:
            last = max(at for _, at in self.recent)
            wait = last + timedelta(seconds=lim.min_spacing_s) - now
            if wait.total_seconds() > 0:
                return (
                    False,
                    f"min spacing {lim.min_spacing_s / 60:g} min: wait {wait.total_seconds() / 60:.1f} min",
                )
        if kind == "reply":
            if self._count(now, 1, ("reply",)) >= lim.replies_per_hour:
                return False, f"replies per hour {lim.replies_per_hour} reached"
            return True, "ok"
        if self._count(now, 1, ("single", "thread")) >= lim.per_hour:
            return False, f"posts per hour {lim.per_hour} reached"
        if kind == "thread":
            if self._count(now, 1, ("thread",)) >= lim.threads_per_hour:
                return False, f"threads per hour {lim.threads_per_hour} reached"
            if self._count(now, 24, ("thread",)) >= lim.threads_per_day:
                return False, f"threads per day {lim.threads_per_day} reached"
        return True, "ok"

    def record(self, kind: str, now: datetime) -> None:
        self.recent.append((kind, now))
        self.used_this_run += 1

    def spend_attempt(self) -> None:
        """A failed attempt still uses a slot of this run (a failing account does not spin)."""
        self.attempts_this_run += 1


def compute_budget(store: Store, account_id: str, limits: Limits, now: datetime) -> Budget:
    rows = recent_publications(store, account_id, now - timedelta(hours=24))
    return Budget(limits, [(r["kind"], r["at"]) for r in rows if r["at"] is not None])
