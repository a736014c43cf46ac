"""The browser lease: exclusive, expiring, posting before metrics, warned at half time, always released."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from xbot_pipeline.publishing.lease import LeaseUnavailable, browser_lease, lease_name
from xbot_pipeline.store.leases import acquire_lease, get_lease, release_expired_leases, release_lease
from xbot_pipeline.store.schema import system_events


def test_only_one_holder_and_the_holder_can_extend(store) -> None:
    assert acquire_lease(store, "browser:a", "h1", "posting", 60)
    assert not acquire_lease(store, "browser:a", "h2", "posting", 60)
    assert acquire_lease(store, "browser:a", "h1", "posting", 120)  # re-entrant extension
    assert acquire_lease(store, "browser:b", "h2", "metrics", 60)  # other accounts are independent
    assert not release_lease(store, "browser:a", "h2")
    assert release_lease(store, "browser:a", "h1")
    assert acquire_lease(store, "browser:a", "h2", "metrics", 60)


def test_a_crashed_holders_lease_is_reclaimable_after_expiry(store, clock) -> None:
    assert acquire_lease(store, "browser:a", "crashed", "posting", 30)
    clock.advance(29)
    assert not acquire_lease(store, "browser:a", "next", "posting", 30)
    assert release_expired_leases(store) == 0
    clock.advance(2)
    assert release_expired_leases(store) == 1
    assert get_lease(store, "browser:a") is None
    assert acquire_lease(store, "browser:a", "crashed-again", "posting", 30)
    clock.advance(31)
    assert acquire_lease(store, "browser:a", "next", "posting", 30)  # expired rows are taken over
    assert get_lease(store, "browser:a")["holder"] == "next"


def test_lease_is_released_even_when_the_operation_fails(store, tracker) -> None:
    with pytest.raises(RuntimeError), browser_lease(store, tracker, "acct", "posting", 5):
        assert get_lease(store, lease_name("acct"))["purpose"] == "posting"
        raise RuntimeError("boom")
    assert get_lease(store, lease_name("acct")) is None


def test_busy_lease_times_out_for_the_waiter(store, tracker) -> None:
    with browser_lease(store, tracker, "acct", "posting", 5):
        started = time.monotonic()
        with pytest.raises(LeaseUnavailable), browser_lease(store, tracker, "acct", "metrics", 5, wait_s=0.3):
            pass
        assert time.monotonic() - started < 2


def test_posting_waits_first_and_metrics_step_aside(store, tracker) -> None:
    order: list[str] = []
    holder_done = threading.Event()

    def poster() -> None:
        with browser_lease(store, tracker, "acct", "posting", 5, wait_s=5):
            order.append("posting")

    with browser_lease(store, tracker, "acct", "metrics", 5):
        thread = threading.Thread(target=poster)
        thread.start()
        time.sleep(0.4)  # the poster is now waiting (and says so)
        # a second metrics acquirer refuses while posting waits, even once the lease frees up
        with pytest.raises(LeaseUnavailable), browser_lease(store, tracker, "acct", "metrics", 5, wait_s=0.2):
            pass
        holder_done.set()
    thread.join(5)
    assert order == ["posting"]
    assert get_lease(store, lease_name("acct")) is None


def test_a_warning_event_at_half_the_deadline(store, tracker) -> None:
    with browser_lease(store, tracker, "acct", "metrics", 0.4) as lease:
        time.sleep(0.35)
    assert lease.warned
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(system_events.c.event_type, system_events.c.severity, system_events.c.is_error)
        ).all()
    assert ("browser_lease_slow", "warning", False) in [tuple(r) for r in rows]
    with browser_lease(store, tracker, "acct", "metrics", 2) as quick:
        pass
    time.sleep(1.1)
    assert not quick.warned  # cancelled when released in time
