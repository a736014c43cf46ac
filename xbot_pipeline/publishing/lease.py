"""``browser_lease``: one browser operation per account at a time, across runs and processes.

The seed's semaphore, fixed: the lease lives in the store (so every process agrees), expires (so a crashed
holder cannot block forever), gives posting priority over metrics, warns at half the deadline, and is
always released. Aborting the operation itself at the deadline is the publisher's job (its own deadline).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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
    started: float
    warned: bool = False

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started


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
) -> Iterator[Lease]:
    """Hold ``browser:<account_id>`` for one operation of at most ``deadline_s`` seconds.

    Waits up to ``wait_s`` (default: ``deadline_s``) for the lease. Posting and replies wait with a
    marker that makes metrics acquirers refuse; non-priority purposes give up at once when posting waits.
    Raises ``LeaseUnavailable`` when the lease cannot be had.
    """
    name = lease_name(account_id)
    holder = holder or new_holder(purpose)
    wait_s = deadline_s if wait_s is None else wait_s
    priority = purpose in PRIORITY_PURPOSES
    give_up = time.monotonic() + wait_s
    try:
        while not acquire_lease(store, name, holder, purpose, deadline_s):
            if time.monotonic() >= give_up:
                raise LeaseUnavailable(
                    f"browser lease for {account_id} is busy ({purpose} waited {wait_s:.0f} s)"
                )
            if priority:
                mark_waiting(store, name, holder, ttl_s=max(2.0, POLL_S * 20))
            time.sleep(POLL_S)
    finally:
        if priority:
            clear_waiting(store, name, holder)
    lease = Lease(name, holder, purpose, deadline_s, time.monotonic())

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
