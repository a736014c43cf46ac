"""Hand the posts of a dead posting run to recovery at once, instead of after the 10-minute stuck window.

A posting run claims a post (``status='posting'``, ``claimed_by='host:pid:run_id'``) before it talks to
X. When the run dies mid-post (worker killed, daemon's process group killed, run failed by Dagster's
run monitoring), nothing settles the claim: recovery treats a 'posting' row as stuck only after
``stuck_after_s``. Once the claimer is known to be gone, the post's fate is simply open: it may or may
not be live on X, which is exactly what ``unknown`` means. Moving it there lets the next recovery pass
reconcile it against the timeline under the usual rules (settle period, found -> posted with its id,
certainly absent -> requeued), so it is neither lost nor doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xbot_pipeline.events import EventTracker
from xbot_pipeline.store import Store
from xbot_pipeline.store.holders import holder_alive
from xbot_pipeline.store.posts import list_posts, transition

COMPONENT = "recovery"


@dataclass(frozen=True)
class Claim:
    post_id: int
    account_id: str
    holder: str

    @property
    def run_id(self) -> str:
        """The run tag of ``host:pid:run_id`` (posting passes use the Dagster run id)."""
        return self.holder.split(":", 2)[2] if self.holder.count(":") >= 2 else ""


def open_claims(store: Store) -> list[Claim]:
    """Every post currently claimed by a posting run."""
    return [
        Claim(int(p["id"]), p["account_id"], p.get("claimed_by") or "")
        for p in list_posts(store, statuses=("posting",))
    ]


def dead_claims(store: Store) -> list[Claim]:
    """Claims whose holder process, on this host, is certainly gone."""
    return [c for c in open_claims(store) if holder_alive(c.holder) is False]


def claims_of_run(store: Store, run_id: str) -> list[Claim]:
    """Claims taken by the run ``run_id`` whose process is not known to be alive.

    A failed run's holder on another host (None) is trusted to be gone: the run is over for Dagster.
    """
    return [c for c in open_claims(store) if c.run_id == run_id and holder_alive(c.holder) is not True]


def hand_over(store: Store, tracker: EventTracker, claims: list[Claim], why: str) -> list[int]:
    """Move each claimed post from 'posting' to 'unknown' (guarded: a post settled meanwhile stays as
    it is) and record why; returns the ids moved. Claim times are kept: recovery reads the timeline back
    from them."""
    now = store.clock.now()
    moved: list[int] = []
    for claim in claims:
        reason = f"{why}; its outcome is open, recovery settles it"
        if not transition(store, claim.post_id, ("posting",), "unknown", now, status_reason=reason):
            continue
        moved.append(claim.post_id)
        context: dict[str, Any] = {"post_id": claim.post_id, "run_id": claim.run_id, "reason": why}
        tracker.track_error(
            COMPONENT,
            "posting_run_lost",
            f"post {claim.post_id}: {why}",
            "warning",
            context,
            account_id=claim.account_id,
            subject=f"post:{claim.post_id}",
        )
    return moved
