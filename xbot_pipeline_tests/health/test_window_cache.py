"""The incremental 24 h window equals a fresh full read, step after step."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import polars as pl

from xbot_pipeline.analytics.window import error_window_cached
from xbot_pipeline.clock import ManualClock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.store import Store
from xbot_pipeline.store import health as q
from xbot_pipeline_tests.fixtures.health import add_event


def _same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.sort("id").equals(b.sort("id")), (a.height, b.height)


def test_cached_window_matches_a_full_read(
    store: Store, clock: ManualClock, tracker: EventTracker, tmp_path: Path
) -> None:
    rng = random.Random(3)
    cache = tmp_path / "window.parquet"
    for i in range(60):
        add_event(
            store,
            "error_timeout",
            clock.now() - timedelta(minutes=rng.randint(1, 30 * 60)),
            subject=f"post:{i}",
        )
    for step in range(8):
        clock.advance(minutes=30)
        now = clock.now()
        for i in range(rng.randint(0, 6)):
            tracker.track_error(
                "posting", rng.choice(["timeout", "network"]), "boom", subject=f"post:s{step}{i}"
            )
        if step % 2:  # a late commit: created earlier, inside the overlap
            add_event(store, "error_db", now - timedelta(minutes=4), component="store")
        tracker.mark_recovered(subject=f"post:{rng.randint(0, 59)}")  # old errors recover after the fact
        tracker.mark_recovered(subject=f"post:s{step}0")
        cached = error_window_cached(store, now, cache)
        _same(cached, q.read_errors(store, now - timedelta(hours=24), now))
    assert cache.exists()


def test_clock_going_back_or_a_long_gap_forces_a_full_read(
    store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    cache = tmp_path / "window.parquet"
    add_event(store, "error_timeout", clock.now() - timedelta(minutes=5))
    error_window_cached(store, clock.now(), cache)
    clock.advance(hours=30)
    add_event(store, "error_timeout", clock.now() - timedelta(minutes=5))
    now = clock.now()
    _same(error_window_cached(store, now, cache), q.read_errors(store, now - timedelta(hours=24), now))
    earlier = now - timedelta(hours=2)
    _same(
        error_window_cached(store, earlier, cache),
        q.read_errors(store, earlier - timedelta(hours=24), earlier),
    )
