"""The circuit breaker per account and publisher, persisted so every run and process agrees.

closed --(N consecutive failures)--> open --(wait: base, doubling, capped)--> half_open
half_open --(one probe succeeds)--> closed;  half_open --(probe fails)--> open (longer wait)
``force_open`` holds it open until a known time (e.g. X's rate-limit reset), whatever the counters say.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.events import EventTracker
from xbot_pipeline.store import Store
from xbot_pipeline.store.breakers import claim_probe, load_breaker, save_breaker

COMPONENT = "posting"


@dataclass(frozen=True)
class BreakerPolicy:
    threshold: int = 5
    base_wait_s: float = 60
    max_wait_s: float = 480

    def wait_s(self, open_count: int) -> float:
        return min(self.max_wait_s, self.base_wait_s * (2 ** max(0, open_count - 1)))


def subject(account_id: str, publisher: str) -> str:
    return f"breaker:{account_id}:{publisher}"


def state_of(store: Store, account_id: str, publisher: str) -> dict[str, Any]:
    row = load_breaker(store, account_id, publisher)
    return row or {"state": "closed", "consecutive_failures": 0, "open_count": 0, "forced_until": None}


def _opened(
    tracker: EventTracker | None,
    account_id: str,
    publisher: str,
    until: datetime,
    reason: str,
    info: dict[str, Any],
) -> None:
    if tracker is None:
        return
    data = {"account_id": account_id, "publisher": publisher, "until": until.isoformat(), "reason": reason}
    tracker.track_event(
        "circuit_breaker_opened",
        {**data, **info},
        "warning",
        component=COMPONENT,
        account_id=account_id,
        subject=subject(account_id, publisher),
    )
    tracker.track_error(
        COMPONENT,
        "circuit_breaker_open",
        f"circuit breaker for {account_id}/{publisher} opened until {until.isoformat()}: {reason}",
        "error",
        {**data, **info},
        account_id=account_id,
        subject=subject(account_id, publisher),
    )


def allow(
    store: Store, account_id: str, publisher: str, now: datetime, probe_timeout_s: float = 300
) -> tuple[bool, str]:
    """May a publish go through now? Returns (allowed, breaker state description)."""
    row = state_of(store, account_id, publisher)
    forced = row.get("forced_until")
    if forced is not None and forced > now:
        return False, f"forced open until {forced.isoformat()}"
    state = row["state"]
    if state == "closed":
        return True, "closed"
    if state == "open":
        until = row.get("open_until")
        if until is not None and until > now:
            return False, f"open until {until.isoformat()}"
        to_half_open(store, account_id, publisher, now)
        state = "half_open"
        row = state_of(store, account_id, publisher)
    if state == "half_open":
        probe = row.get("probe_started_at")
        if probe is not None and probe < now - timedelta(seconds=probe_timeout_s):  # the prober died
            save_breaker(store, account_id, publisher, now, probe_started_at=None)
        if claim_probe(store, account_id, publisher, now):
            return True, "half_open (probe)"
        return False, "half_open (probe in flight)"
    return True, state


def release_probe(store: Store, account_id: str, publisher: str, now: datetime) -> None:
    """The probe ended without an outcome (deferred, lost the claim): let the next caller probe."""
    row = load_breaker(store, account_id, publisher)
    if row is not None and row["state"] == "half_open" and row.get("probe_started_at") is not None:
        save_breaker(store, account_id, publisher, now, probe_started_at=None)


def to_half_open(store: Store, account_id: str, publisher: str, now: datetime) -> bool:
    """Open -> half_open once its wait (and any forced hold) is over; True when it changed."""
    row = load_breaker(store, account_id, publisher)
    if row is None or row["state"] != "open":
        return False
    if row.get("open_until") and row["open_until"] > now:
        return False
    if row.get("forced_until") and row["forced_until"] > now:
        return False
    save_breaker(store, account_id, publisher, now, state="half_open", probe_started_at=None)
    return True


def record_success(
    store: Store, tracker: EventTracker | None, account_id: str, publisher: str, now: datetime
) -> None:
    row = load_breaker(store, account_id, publisher)
    if row is None or (row["state"] == "closed" and row["consecutive_failures"] == 0):
        return
    was = row["state"]
    save_breaker(
        store,
        account_id,
        publisher,
        now,
        state="closed",
        consecutive_failures=0,
        open_count=0,
        opened_at=None,
        open_until=None,
        probe_started_at=None,
        reason=None,
    )
    if was != "closed" and tracker is not None:
        tracker.track_event(
            "circuit_breaker_closed",
            {"account_id": account_id, "publisher": publisher, "was": was},
            component=COMPONENT,
            account_id=account_id,
            subject=subject(account_id, publisher),
        )
        tracker.mark_recovered(subject=subject(account_id, publisher))


def record_failure(
    store: Store,
    tracker: EventTracker | None,
    account_id: str,
    publisher: str,
    now: datetime,
    policy: BreakerPolicy,
    reason: str,
) -> str:
    """Count one failure; opens the breaker at the threshold (or when a probe fails). Returns the state."""
    row = state_of(store, account_id, publisher)
    failures = int(row.get("consecutive_failures") or 0) + 1
    opens = row["state"] == "half_open" or (row["state"] == "closed" and failures >= policy.threshold)
    if not opens:
        save_breaker(store, account_id, publisher, now, consecutive_failures=failures, reason=reason)
        return row["state"]
    open_count = int(row.get("open_count") or 0) + 1
    until = now + timedelta(seconds=policy.wait_s(open_count))
    save_breaker(
        store,
        account_id,
        publisher,
        now,
        state="open",
        consecutive_failures=failures,
        open_count=open_count,
        opened_at=now,
        open_until=until,
        probe_started_at=None,
        reason=reason,
    )
    _opened(tracker, account_id, publisher, until, reason, {"failures": failures, "open_count": open_count})
    return "open"


def force_open(
    store: Store,
    account_id: str,
    publisher: str,
    until: datetime,
    reason: str,
    tracker: EventTracker | None,
) -> None:
    """Hold the breaker open until ``until`` (e.g. X's rate-limit reset); public API for every domain."""
    now = store.clock.now()
    row = state_of(store, account_id, publisher)
    save_breaker(
        store,
        account_id,
        publisher,
        now,
        state="open",
        consecutive_failures=int(row.get("consecutive_failures") or 0),
        open_count=int(row.get("open_count") or 0),
        opened_at=now,
        open_until=until,
        forced_until=until,
        probe_started_at=None,
        reason=reason,
    )
    _opened(tracker, account_id, publisher, until, reason, {"forced": True})


def half_open_due(
    store: Store, now: datetime, account_ids: Collection[str] | None = None
) -> list[tuple[str, str]]:
    """Move every breaker (of ``account_ids``, if given) whose wait is over to half_open (the recovery
    job); returns which moved."""
    from xbot_pipeline.store.breakers import list_breakers

    moved = []
    for row in list_breakers(store):
        if account_ids is not None and row["account_id"] not in account_ids:
            continue
        if row["state"] == "open" and to_half_open(store, row["account_id"], row["publisher"], now):
            moved.append((row["account_id"], row["publisher"]))
    return moved
