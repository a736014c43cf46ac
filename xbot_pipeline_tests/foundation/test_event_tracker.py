"""The event tracker: contract keys, fingerprints, recovery marking, redaction, and the spool."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from xbot_pipeline.events import EventTracker
from xbot_pipeline.events.quarantine import quarantine_path
from xbot_pipeline.events.redact import register_secret
from xbot_pipeline.events.spool import Spool
from xbot_pipeline.store import Store
from xbot_pipeline.store.engine import _sqlite_pragmas, create_store_engine
from xbot_pipeline.store.schema import system_events
from xbot_pipeline_tests.netutil import OutageProxy


def _rows(store: Store) -> list[dict]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(system_events).order_by(system_events.c.id))]


def test_errors_use_the_contract_keys(tracker: EventTracker, store: Store) -> None:
    ev = tracker.track_error(
        "posting",
        "post_failed",
        "HTTP 500 for post 123",
        "error",
        {"post_id": 123},
        account_id="main",
        subject="post:123",
    )
    assert ev is not None and ev.stored
    (row,) = _rows(store)
    assert row["event_type"] == "error_post_failed"
    assert row["severity"] == "error"
    assert row["is_error"] is True and row["recovered"] is False
    data = row["event_data"]
    assert data["component"] == "posting"
    assert data["error_type"] == "post_failed"
    assert data["error_message"] == "HTTP 500 for post 123"
    assert data["context"] == {"post_id": 123}
    assert row["fingerprint"] == data["fingerprint"]


def test_fingerprint_ignores_ids_numbers_and_urls(tracker: EventTracker) -> None:
    a = tracker.track_error("posting", "timeout", "post 1789 timed out after 30s at https://x.com/a/status/1")
    b = tracker.track_error("posting", "timeout", "post 42 timed out after 180s at https://x.com/b/status/9")
    c = tracker.track_error("posting", "timeout", "composer not found")
    assert a and b and c
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_report_and_alert_rows_are_never_named_error(tracker: EventTracker, store: Store) -> None:
    tracker.track_event("error_spike_alert", {"count": 5}, "warning")
    tracker.track_event("system_health_report", {"overallHealth": 80}, "info")
    types = [r["event_type"] for r in _rows(store)]
    assert not any(t.startswith("error_") for t in types)
    assert all(r["is_error"] is False for r in _rows(store))


def test_mark_recovered_records_the_time_it_took(tracker: EventTracker, store: Store, clock) -> None:
    tracker.track_error("posting", "missing_tweet_id", "no id for post 7", subject="post:7")
    tracker.track_error("posting", "missing_tweet_id", "no id for post 8", subject="post:8")
    clock.advance(90)
    assert len(tracker.mark_recovered(subject="post:7")) == 1
    rows = {r["subject"]: r for r in _rows(store)}
    assert rows["post:7"]["recovered"] is True
    assert rows["post:7"]["recovery_time_ms"] == 90_000
    assert rows["post:7"]["recovered_at"] == clock.now()
    assert rows["post:8"]["recovered"] is False
    assert tracker.mark_recovered(subject="post:7") == []  # only once


SECRETS = {
    "bearer": "Bearer AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid",
    "cookie": "auth_token=0123456789abcdef0123456789abcdef01234567; ct0=deadbeefcafebabe",
    "webhook": "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
    "password": "postgresql://bot:s3cr3t-pass@db:5432/xbot",
}


def test_secrets_never_reach_stored_rows_or_logs(
    tracker: EventTracker, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    register_secret("registered-token-value-42")
    caplog.set_level(logging.DEBUG)
    tracker.track_error(
        "publisher",
        "http_401",
        f"request failed: {SECRETS['bearer']} cookie {SECRETS['cookie']} url {SECRETS['password']}",
        context={
            "headers": {"Authorization": "Bearer zzzzzzzzzzzz"},
            "cookie": "ct0=abc",
            "note": "token registered-token-value-42 used",
            "webhook_url": SECRETS["webhook"],
        },
    )
    tracker.track_event("alert_sent", {"target": SECRETS["webhook"], "password": "hunter22"})
    stored = json.dumps([r["event_data"] for r in _rows(store)])
    logged = caplog.text
    for needle in (
        "AAAAAAAAAAAAAAAAAAAAAMLhe",
        "0123456789abcdef0123456789abcdef01234567",
        "deadbeefcafebabe",
        "XXXXXXXXXXXXXXXX",
        "s3cr3t-pass",
        "zzzzzzzzzzzz",
        "registered-token-value-42",
        "hunter22",
    ):
        assert needle not in stored, needle
        assert needle not in logged, needle
    assert "[REDACTED]" in stored


# -- bad input ---------------------------------------------------------------------------------------


def test_bad_input_is_stored_safely(tracker: EventTracker, store: Store) -> None:
    tracker.track_error("posting", "x", "m", severity="catastrophic")
    tracker.track_error("", "", "empty component and type")
    tracker.track_error("post\x00ing", "nul", "before\x00after", context={"k\x00": "v\x00"})
    tracker.track_error("posting", "surrogate", "lone \ud800 surrogate \udfff here", context={"s": "\udc80"})
    tracker.track_error("posting", "huge", "m" * 1_000_000)
    tracker.track_event("odd", {"obj": object(), "set": {1, 2}, "bytes": b"\x00\xff"}, severity="")
    rows = _rows(store)
    assert len(rows) == 6
    assert rows[0]["severity"] == "error" and rows[0]["event_data"]["invalid_severity"] == "catastrophic"
    assert rows[1]["event_data"]["component"] == "unknown" and rows[1]["event_type"] == "error_unknown"
    assert (
        "\x00" not in json.dumps(rows[2]["event_data"])
        and "before\ufffdafter" in rows[2]["event_data"]["error_message"]
    )
    assert "\ufffd" in rows[3]["event_data"]["error_message"]
    assert len(rows[4]["event_data"]["error_message"]) < 20_000
    assert "truncated" in rows[4]["event_data"]["error_message"]
    assert rows[5]["severity"] == "warning"


def test_tracker_never_raises_even_when_store_and_spool_are_broken(store: Store, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the spool folder should be")
    broken = EventTracker(
        store=Store(engine=sa.create_engine("sqlite:////nonexistent/dir/db.sqlite3")),
        spool=Spool(blocker / "spool.jsonl"),
    )
    assert broken.track_error("c", "t", "m") is None  # logged, not raised
    assert broken.track_event("e", {}) is None
    assert broken.mark_recovered(subject="post:1") == []
    assert broken.flush_spool() == 0


# -- outage and replay ---------------------------------------------------------------------------------


def _outage_store(database_url: str, tmp_path: Path, clock):
    """A store reached through something the test can break: a TCP proxy (Postgres) or a lock (SQLite)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        proxy = OutageProxy(url.host or "127.0.0.1", url.port or 5432)
        proxy.__enter__()
        engine = create_store_engine(
            url.set(host="127.0.0.1", port=proxy.port).render_as_string(False), connect_timeout_s=2
        )
        return Store(engine=engine, clock=clock), proxy.cut, proxy.restore, proxy.cut

    # SQLite: another connection holds the write lock; our engine gives up after 0.2 s.
    engine = sa.create_engine(database_url, connect_args={"timeout": 0.2})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    sa.event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA busy_timeout=200"))
    holder: dict[str, sqlite3.Connection] = {}

    def cut() -> None:
        conn = sqlite3.connect(url.database, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        holder["c"] = conn

    def restore() -> None:
        conn = holder.pop("c")
        conn.execute("ROLLBACK")
        conn.close()

    return Store(engine=engine, clock=clock), cut, restore, lambda: None


def test_outage_mid_run_every_event_arrives_exactly_once_in_order(
    store: Store, database_url: str, tmp_path: Path, clock
) -> None:
    outage_store, cut, restore, close = _outage_store(database_url, tmp_path, clock)
    tracker = EventTracker(store=outage_store, spool=Spool(tmp_path / "spool" / "events.jsonl"))
    try:
        for i in range(10):
            assert tracker.track_error("posting", "seq", f"event {i}", context={"i": i}).stored
            clock.advance(1)
        cut()
        for i in range(10, 20):
            ev = tracker.track_error("posting", "seq", f"event {i}", context={"i": i})
            assert ev is not None and not ev.stored
            clock.advance(1)
        assert tracker.spool.pending() == 10
        restore()
        for i in range(20, 30):
            assert tracker.track_error("posting", "seq", f"event {i}", context={"i": i}).stored
            clock.advance(1)
        assert tracker.spool.pending() == 0
    finally:
        close()
        outage_store.dispose()
    rows = _rows(store)
    assert [r["event_data"]["context"]["i"] for r in rows] == list(range(30))
    assert len({r["event_uid"] for r in rows}) == 30
    created = [r["created_at"] for r in rows]
    assert created == sorted(created)


def test_replay_after_a_crash_between_insert_and_truncate_does_not_double(
    tracker: EventTracker, store: Store
) -> None:
    # events spooled, then replayed into the store, but the process "died" before truncating the spool
    for i in range(5):
        tracker.spool.append(
            {
                "event_uid": f"uid{i:02d}",
                "event_type": "error_x",
                "event_data": {"i": i},
                "severity": "error",
                "created_at": store.clock.now().isoformat(),
                "component": "c",
                "error_type": "x",
                "fingerprint": None,
                "account_id": None,
                "subject": None,
                "is_error": True,
            }
        )
    with tracker.spool.path.open("rb") as fh:
        records = [json.loads(line) for line in fh]
    tracker._insert(records[:3])
    with tracker.spool.path.open("ab") as fh:
        fh.write(b'{"event_uid": "torn')  # a torn line from a crash mid-append
    assert tracker.flush_spool() == 5
    rows = _rows(store)
    assert sorted(r["event_uid"] for r in rows if r["event_type"] == "error_x") == [
        f"uid{i:02d}" for i in range(5)
    ]
    assert [r["event_type"] for r in rows if r["event_type"] != "error_x"] == ["error_spool_quarantined"]
    assert quarantine_path(tracker.spool.path).exists()  # the torn line is set aside (issue 11 item 5)
    assert tracker.flush_spool() == 0
