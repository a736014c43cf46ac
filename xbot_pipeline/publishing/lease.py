"""``browser_lease``: one browser operation per account at a time, across runs and processes.

The seed's semaphore, fixed: the lease lives in the store (so every process agrees), expires (so a crashed
holder cannot block forever), gives posting priority over metrics, warns at half the deadline, and is
always released. Aborting the operation itself at the deadline is the publisher's job (its own deadline).

The wait for the lease runs on the injected clock (``clock.monotonic``/``clock.sleep``), so a test can drive
it with a ``ManualClock``; the half-deadline warning is a watchdog thread timer and runs in real time.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from xbot_pipeline.clock import Clock, SystemClock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.store import Store
from xbot_pipeline.store.leases import (
    PRIORITY_PURPOSES,
    acquire_lease,
    clear_waiting,
    mark_waiting,
    release_lease,
)

POLL_S = 0.1


class LeaseUnavailable(Exception):
    """The browser lease could not be taken in time (or a posting operation has priority)."""


@dataclass
class Lease:
    name: str
    holder: str
    purpose: str
    deadline_s: float
    clock: Clock = field(repr=False)
    started: float = field(init=False)
    warned: bool = False

    def __post_init__(self) -> None:
        self.started = self.clock.monotonic()

    @property
    def elapsed_s(self) -> float:
        return self.clock.monotonic() - self.started


def lease_name(account_id: str) -> str:
    return f"browser:{account_id}"


def new_holder(tag: str = "") -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{tag or uuid.uuid4().hex[:8]}"


@contextmanager
def browser_lease(
    store: Store,
    tracker: EventTracker | None,
    account_id: str,
    purpose: str,
    deadline_s: float,
    *,
    wait_s: float | None = None,
    holder: str | None = None,
    clock: Clock | None = None,
) -> Iterator[Lease]:
    """Hold ``browser:<account_id>`` for one operation of at most ``deadline_s`` seconds.

    Waits up to ``wait_s`` (default: ``deadline_s``) for the lease. Posting and replies wait with a
    marker that makes metrics acquirers refuse; non-priority purposes give up at once when posting waits.
    Raises ``LeaseUnavailable`` when the lease cannot be had. ``clock`` times the wait (default: the
    system clock).
    """
    name = lease_name(account_id)
    holder = holder or new_holder(purpose)
    wait_s = deadline_s if wait_s is None else wait_s
    priority = purpose in PRIORITY_PURPOSES
    clock = clock or SystemClock()
    give_up = clock.monotonic() + wait_s
    try:
        while not acquire_lease(store, name, holder, purpose, deadline_s):
            if clock.monotonic() >= give_up:
                raise LeaseUnavailable(
                    f"browser lease for {account_id} is busy ({purpose} waited {wait_s:.0f} s)"
                )
            if priority:
                mark_waiting(store, name, holder, ttl_s=max(2.0, POLL_S * 20))
            clock.sleep(POLL_S)
    finally:
        if priority:
            clear_waiting(store, name, holder)
    lease = Lease(name, holder, purpose, deadline_s, clock)

    def warn() -> None:
        lease.warned = True
        if tracker is not None:
            tracker.track_event(
                "browser_lease_slow",
                {
                    "lease": name,
                    "purpose": purpose,
                    "deadline_s": deadline_s,
                    "elapsed_s": round(lease.elapsed_s, 2),
                },
                "warning",
                component="publishing",
                account_id=account_id,
            )

    timer = threading.Timer(deadline_s * 0.5, warn)
    timer.daemon = True
    timer.start()
    try:
        yield lease
    finally:
        timer.cancel()
        release_lease(store, name, holder)


# --- the account lease: one worker drives an account at a time (the fleet, docs/SCALING.md) ---

ACCOUNT_LEASE_MARGIN_S = 60.0


def account_lease_name(account_id: str) -> str:
    return f"account:{account_id}"


@dataclass
class AccountLease:
    """``account:<id>`` held by one pass for its whole share of the account (posting or recovery).

    Taken without waiting: a busy account is another worker's this pass, and comes round again next pass.
    It expires ``ttl_s`` after its last renewal, so a killed worker's account is free again for another
    host (on the same host, a dead holder's lease is freed at once by ``release_dead_holders``).
    """

    store: Store = field(repr=False)
    account_id: str
    holder: str
    purpose: str
    ttl_s: float
    lost: bool = False

    @property
    def name(self) -> str:
        return account_lease_name(self.account_id)

    def renew(self) -> bool:
        """Extend the lease; False (and ``lost``) when it expired and another holder took it."""
        if not self.lost and not acquire_lease(self.store, self.name, self.holder, self.purpose, self.ttl_s):
            self.lost = True
        return not self.lost


log = logging.getLogger(__name__)

# Account leases this process could not release because the store did not answer: this process knows
# their runs are over, so its next account_lease releases them first instead of waiting out their TTL.
_unreleased: set[tuple[str, str]] = set()
_unreleased_lock = threading.Lock()


def _release_leftovers(store: Store) -> None:
    with _unreleased_lock:
        leftovers = list(_unreleased)
    for name, holder in leftovers:
        try:
            release_lease(store, name, holder)
        except Exception:  # still out: kept for the next try (or the TTL frees it)
            return
        with _unreleased_lock:
            _unreleased.discard((name, holder))


@contextmanager
def account_lease(
    store: Store, account_id: str, holder: str, purpose: str, ttl_s: float
) -> Iterator[AccountLease | None]:
    """Yield the held ``AccountLease``, or None when another holder drives the account now; released on
    every path. A release the store does not answer never raises over the pass's own outcome: it is
    retried by this process's next ``account_lease`` (other processes wait for the TTL)."""
    _release_leftovers(store)
    if not acquire_lease(store, account_lease_name(account_id), holder, purpose, ttl_s):
        yield None
        return
    lease = AccountLease(store, account_id, holder, purpose, ttl_s)
    try:
        yield lease
    finally:
        try:
            release_lease(store, lease.name, holder)
        except Exception as exc:
            log.warning("releasing %s failed (%s); retried by the next pass", lease.name, exc)
            with _unreleased_lock:
                _unreleased.add((lease.name, holder))
