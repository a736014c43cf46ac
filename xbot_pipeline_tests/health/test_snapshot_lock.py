"""The snapshot writer's wait for another writer's lock runs on the injected clock."""

from __future__ import annotations

import fcntl
import time
from pathlib import Path

import pytest

from xbot_pipeline.clock import ManualClock
from xbot_pipeline.warehouse.snapshot import SnapshotLockTimeout, open_for_write


def test_a_held_lock_times_out_on_the_clock(tmp_path: Path) -> None:
    target = tmp_path / "snapshot.duckdb"
    clock = ManualClock()
    with open(target.with_name(target.name + ".lock"), "a") as other_writer:
        fcntl.flock(other_writer, fcntl.LOCK_EX | fcntl.LOCK_NB)
        started = time.monotonic()
        with pytest.raises(SnapshotLockTimeout), open_for_write(target, lock_timeout_s=600, clock=clock):
            pass
        assert clock.monotonic() > 600  # ten minutes of the clock's time ...
        assert time.monotonic() - started < 30  # ... not of ours
    assert not target.exists()
