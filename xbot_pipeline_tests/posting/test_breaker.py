"""The persisted circuit breaker: opens at 5, waits 60 s doubling to 8 min, one half-open probe."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from xbot_pipeline.posting import breaker
from xbot_pipeline.posting.config import Limits, PostingConfig
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.base import Outcome, PublishResult, RootCause
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.schema import system_events

POLICY = breaker.BreakerPolicy()


def names(store) -> list[str]:
    with store.connect() as conn:
        return [
            r[0] for r in conn.execute(sa.select(system_events.c.event_type).order_by(system_events.c.id))
        ]


def test_opens_after_five_failures_and_doubles(store, tracker, clock):
    for _i in range(4):
        assert breaker.record_failure(store, tracker, "a1", "api", clock.now(), POLICY, "500") == "closed"
    assert breaker.allow(store, "a1", "api", clock.now())[0]
    assert breaker.record_failure(store, tracker, "a1", "api", clock.now(), POLICY, "500") == "open"
    assert "circuit_breaker_opened" in names(store) and "error_circuit_breaker_open" in names(store)
    assert not breaker.allow(store, "a1", "api", clock.now())[0]
    clock.advance(seconds=59)
    assert not breaker.allow(store, "a1", "api", clock.now())[0]
    clock.advance(seconds=2)
    ok, state = breaker.allow(store, "a1", "api", clock.now())
    assert ok and "probe" in state
    assert not breaker.allow(store, "a1", "api", clock.now())[0]  # only one probe
    breaker.record_failure(store, tracker, "a1", "api", clock.now(), POLICY, "500")  # probe failed
    row = breaker.state_of(store, "a1", "api")
    assert row["state"] == "open" and (row["open_until"] - clock.now()).total_seconds() == 120
    waits = []
    for _ in range(4):
        clock.set(breaker.state_of(store, "a1", "api")["open_until"])
        assert breaker.allow(store, "a1", "api", clock.now())[0]
        breaker.record_failure(store, tracker, "a1", "api", clock.now(), POLICY, "500")
        waits.append((breaker.state_of(store, "a1", "api")["open_until"] - clock.now()).total_seconds())
    assert waits == [240, 480, 480, 480]
    clock.set(breaker.state_of(store, "a1", "api")["open_until"])
    assert breaker.allow(store, "a1", "api", clock.now())[0]
    breaker.record_success(store, tracker, "a1", "api", clock.now())
    assert breaker.state_of(store, "a1", "api")["state"] == "closed"
    assert "circuit_breaker_closed" in names(store)
    with store.connect() as conn:
        open_errors = conn.execute(
            sa.select(sa.func.count()).where(
                system_events.c.event_type == "error_circuit_breaker_open",
                system_events.c.recovered.is_(False),
            )
        ).scalar()
    assert open_errors == 0


def test_force_open_until_rate_limit_reset(store, tracker, clock):
    until = clock.now() + timedelta(minutes=15)
    breaker.force_open(store, "a1", "api", until, "429 reset", tracker)
    assert not breaker.allow(store, "a1", "api", clock.now() + timedelta(minutes=14))[0]
    assert breaker.half_open_due(store, clock.now() + timedelta(minutes=14)) == []
    assert breaker.half_open_due(store, until) == [("a1", "api")]


def test_breaker_is_shared_by_runs_and_429_forces_it_open(store, tracker, clock, scripted):
    ensure_account(store, "a1")
    config = PostingConfig(limits=replace(Limits(), per_hour=100, min_spacing_s=0, per_run=10))
    for i in range(8):
        enqueue(store, "a1", "single", f"text {i}")
    report = run_posting(store, tracker, lambda a: scripted(["http_500"] * 10), config=config)
    assert report.count("retry") == 5 and report.count("deferred") == 3
    assert report.breakers["a1/api"] == "open"
    # a second run (another process would read the same row) is held off by the persisted state
    report = run_posting(store, tracker, lambda a: scripted(), config=config)
    assert report.count("posted") == 0
    reset = clock.now() + timedelta(hours=1)
    clock.advance(hours=1, minutes=1)
    limited = PublishResult(
        Outcome.RETRYABLE,
        error_type="rate_limited",
        root_cause=RootCause.RATE_LIMIT,
        message="429",
        retry_after=reset + timedelta(minutes=30),
    )
    report = run_posting(store, tracker, lambda a: scripted([limited]), config=config)
    assert breaker.state_of(store, "a1", "api")["forced_until"] == reset + timedelta(minutes=30)
    clock.advance(minutes=20)
    assert run_posting(store, tracker, lambda a: scripted(), config=config).count("posted") == 0
    clock.advance(minutes=11)
    assert run_posting(store, tracker, lambda a: scripted(), config=config).count("posted") >= 1
    assert breaker.state_of(store, "a1", "api")["state"] == "closed"
