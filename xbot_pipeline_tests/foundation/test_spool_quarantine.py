"""Issue 11 item 5: a bad spool line is quarantined and reported, never blocks the events after it; a
full disk under the spool loses only the event that had nowhere to go, with one log line."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from xbot_pipeline.events import EventTracker
from xbot_pipeline.events.quarantine import quarantine_path, quarantined
from xbot_pipeline.events.spool import Spool
from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import system_events
from xbot_pipeline.store.status import status_summary


def _types(store: Store) -> list[str]:
    with store.connect() as conn:
        return [
            r[0] for r in conn.execute(sa.select(system_events.c.event_type).order_by(system_events.c.id))
        ]


@pytest.mark.parametrize(
    "poison",
    [
        b"{}\n",
        b"not json at all\n",
        b"[1, 2]\n",
        b'{"event_uid": "x", "event_type": "error_x", "created_at": "yesterday", "severity": "error"}\n',
        b'{"event_uid": "y", "event_type": "error_x", "created_at": "2026-01-01T00:00:00", '
        b'"severity": "loud"}\n',
    ],
    ids=["empty-object", "not-json", "array", "bad-time", "bad-severity"],
)
def test_a_poisoned_spool_line_is_quarantined_and_never_blocks_replay(
    tracker: EventTracker, store: Store, poison: bytes
) -> None:
    tracker.spool.path.parent.mkdir(parents=True, exist_ok=True)
    tracker.spool.path.write_bytes(poison)
    os.chmod(tracker.spool.path, 0o600)
    first = tracker.track_error("posting", "store_write_failed", "first after the poison")
    assert first is not None and first.stored, "the poisoned line blocked the store write"
    second = tracker.track_error("posting", "queue_processing_failed", "second")
    assert second is not None and second.stored
    assert tracker.spool.pending() == 0
    assert quarantine_path(tracker.spool.path).read_bytes() == poison
    assert oct(quarantine_path(tracker.spool.path).stat().st_mode & 0o777) == "0o600"
    assert quarantined(tracker.spool.path) == 1
    types = _types(store)
    assert "error_spool_quarantined" in types  # reported
    assert "error_store_write_failed" in types and "error_queue_processing_failed" in types
    assert status_summary(store)["errors_24h"] >= 2  # `xbot status` no longer says 0


def test_a_record_the_store_refuses_is_quarantined_while_the_rest_replays(
    tracker: EventTracker, store: Store
) -> None:
    good = {
        "event_uid": "good01",
        "event_type": "error_x",
        "event_data": {},
        "severity": "error",
        "created_at": store.clock.now().isoformat(),
        "is_error": True,
    }
    # well-formed JSON the checks pass, but a NUL in a text column: Postgres refuses it, SQLite takes it
    odd = {**good, "event_uid": "odd01", "component": "a\u0000b"}
    tracker.spool.append(odd)
    tracker.spool.append(good)
    assert tracker.flush_spool() >= 1
    assert tracker.spool.pending() == 0
    with store.connect() as conn:
        uids = {r[0] for r in conn.execute(sa.select(system_events.c.event_uid))}
    assert "good01" in uids
    assert "odd01" in uids or quarantined(tracker.spool.path) == 1


def test_disk_full_under_the_spool_with_the_store_down_logs_one_line_and_never_raises(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full to simulate ENOSPC")
    spool_path = tmp_path / "spool" / "events.jsonl"
    spool_path.parent.mkdir()
    spool_path.symlink_to("/dev/full")  # every write fails with ENOSPC
    down = Store(engine=sa.create_engine("sqlite:////nonexistent-dir/x.db"), clock=store.clock)
    tracker = EventTracker(store=down, spool=Spool(spool_path))
    with caplog.at_level(logging.WARNING, logger="xbot_pipeline.events"):
        ev = tracker.track_error("posting", "store_write_failed", "while everything is down")
    assert ev is None  # nothing took it
    lost = [r for r in caplog.records if "event lost" in r.getMessage()]
    assert len(lost) == 1 and "No space left on device" in lost[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)  # a line, not a traceback
