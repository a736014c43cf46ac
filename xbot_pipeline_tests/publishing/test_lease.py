"""The browser lease: exclusive, expiring, posting before metrics, warned at half time, always released."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from xbot_pipeline.clock import ManualClock, SystemClock
from xbot_pipeline.publishing.lease import LeaseUnavailable, browser_lease, lease_name
from xbot_pipeline.store import Store
from xbot_pipeline.store.leases import (
    WAITING_SUFFIX,
    acquire_lease,
    clear_waiting,
    get_lease,
    mark_waiting,
    release_expired_leases,
    release_lease,
)
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
    with browser_lease(store, tracker, "acct", "posting", 60):
        started = time.monotonic()
        with (
            pytest.raises(LeaseUnavailable),
            browser_lease(store, tracker, "acct", "metrics", 60, wait_s=0.3),
        ):
            pass
        # gave up after its wait_s (0.3 s), not its deadline (60 s); the wide margin absorbs a loaded machine
        assert time.monotonic() - started < 20


def test_the_wait_runs_on_the_injected_clock(store, tracker) -> None:
    """A ManualClock drives the wait: 30 s of waiting for a busy lease pass without real waiting."""
    waiting = ManualClock()
    with browser_lease(store, tracker, "acct", "posting", 60):
        started = time.monotonic()
        busy = browser_lease(store, tracker, "acct", "metrics", 60, wait_s=30, clock=waiting)
        with pytest.raises(LeaseUnavailable, match="waited 30 s"), busy:
            pass
        assert waiting.monotonic() >= 30
        assert time.monotonic() - started < 20
    with browser_lease(store, tracker, "acct", "posting", 60, clock=waiting) as lease:
        waiting.advance(7)
        assert lease.elapsed_s == 7


def _until(predicate: Callable[[], object], what: str, timeout_s: float = 30.0) -> None:
    """Wait (bounded) until another thread's progress is visible: observed, never assumed after a sleep."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(0.01)


@pytest.mark.parametrize("purpose", ["posting", "reply"])
def test_a_waiting_poster_makes_metrics_refuse_even_a_free_lease(store, clock, purpose) -> None:
    """The store half of the priority: the waiting marker, its refresh and expiry (driven by the clock)."""
    name = "browser:a"
    mark_waiting(store, name, f"{purpose}-waiter", ttl_s=2)
    assert get_lease(store, name) is None  # the lease itself is free...
    assert not acquire_lease(store, name, "m", "metrics", 60)  # ...but metrics step aside
    assert not acquire_lease(store, name, "s", "scrape", 60)  # as does every non-priority purpose
    assert acquire_lease(store, name, "other", purpose, 60)  # priority purposes are not held back
    assert release_lease(store, name, "other")
    clock.advance(1.5)
    mark_waiting(store, name, f"{purpose}-waiter", ttl_s=2)  # refreshed while it waits
    clock.advance(1.5)
    assert not acquire_lease(store, name, "m", "metrics", 60)  # 3 s after the first mark: still waiting
    clear_waiting(store, name, "somebody-else")  # only the waiter's own marker is cleared
    assert not acquire_lease(store, name, "m", "metrics", 60)
    clear_waiting(store, name, f"{purpose}-waiter")
    assert acquire_lease(store, name, "m", "metrics", 60)
    assert release_lease(store, name, "m")
    mark_waiting(store, name, "crashed-waiter", ttl_s=2)
    clock.advance(2.1)  # a waiter that died without clearing its marker blocks metrics for ttl_s only
    assert acquire_lease(store, name, "m", "metrics", 60)


@pytest.mark.parametrize("purpose", ["posting", "reply"])
def test_posting_waits_first_and_metrics_step_aside(store, purpose) -> None:
    """Real threads on the real store: while a poster waits, metrics are refused from the moment the
    lease frees up until the poster holds it, and a metrics acquirer that waited alongside goes after it.

    Without the priority (no waiting marker, or ``acquire_lease`` ignoring it) the main thread's metrics
    acquire right after the release wins the free lease (the poster polls only every ``POLL_S``).
    """
    live = Store(engine=store.engine, clock=SystemClock())  # real time: the threads really wait
    name = lease_name("acct")
    order: list[str] = []
    failures: list[BaseException] = []
    poster_may_leave = threading.Event()

    def run(fn: Callable[[], None]) -> threading.Thread:
        def guarded() -> None:
            try:
                fn()
            except BaseException as exc:  # surfaced by the main thread below
                failures.append(exc)

        thread = threading.Thread(target=guarded, daemon=True)
        thread.start()
        return thread

    def poster() -> None:
        with browser_lease(live, None, "acct", purpose, 30, wait_s=30):
            order.append(purpose)
            poster_may_leave.wait(30)

    def metrics() -> None:
        with browser_lease(live, None, "acct", "metrics", 30, wait_s=30):
            order.append("metrics")

    assert acquire_lease(live, name, "first-metrics", "metrics", 60)
    threads = [run(poster)]
    try:
        _until(lambda: get_lease(live, name + WAITING_SUFFIX) is not None, "the poster to say it waits")
        threads.append(run(metrics))  # waits alongside the poster
        assert release_lease(live, name, "first-metrics")
        deadline = time.monotonic() + 30
        while not order:  # every try from the release until the poster holds the lease is refused
            assert not acquire_lease(live, name, "late-metrics", "metrics", 60), (
                f"metrics took the free lease while {purpose} waited"
            )
            assert time.monotonic() < deadline, f"{purpose} never took the free lease"
            time.sleep(0.005)  # leave the poster thread room to run
        assert order == [purpose] and get_lease(live, name)["purpose"] == purpose
        assert get_lease(live, name + WAITING_SUFFIX) is None  # the marker goes once the poster holds it
        poster_may_leave.set()
        _until(lambda: len(order) == 2, "the waiting metrics acquirer to follow")
    finally:
        poster_may_leave.set()
        release_lease(live, name, "late-metrics")
        for thread in threads:
            thread.join(40)
    assert not failures, failures
    assert not any(t.is_alive() for t in threads)
    assert order == [purpose, "metrics"]
    assert get_lease(live, name) is None


def test_a_warning_event_at_half_the_deadline(store, tracker) -> None:
    def events() -> list[tuple]:
        with store.connect() as conn:
            rows = conn.execute(
                sa.select(system_events.c.event_type, system_events.c.severity, system_events.c.is_error)
            ).all()
        return [tuple(r) for r in rows]

    with browser_lease(store, tracker, "acct", "metrics", 0.4) as lease:
        # the timer thread writes the event: wait for it to land (bounded), not a sleep racing that thread
        _until(lambda: events(), "the half-deadline warning event")
    assert lease.warned
    assert ("browser_lease_slow", "warning", False) in events()
    with browser_lease(store, tracker, "acct", "metrics", 0.4) as quick:
        pass
    time.sleep(1.0)  # five times the 0.2 s half-deadline: an uncancelled timer would have fired by now
    assert not quick.warned  # cancelled when released in time
