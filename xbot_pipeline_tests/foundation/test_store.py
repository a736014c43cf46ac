"""The operational store: migrations on both databases, JSON round-trips, timezone-aware times."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from xbot_pipeline.store import Store, metadata
from xbot_pipeline.store.engine import create_store_engine
from xbot_pipeline.store.migrate import current_revision, downgrade, head_revision, upgrade
from xbot_pipeline.store.schema import kv_state, system_events
from xbot_pipeline_tests import dbutil


def _fresh_url(backend: str, tmp_path) -> str:
    if backend == "postgres":
        dbutil.require_postgres()
        return dbutil.create_pg_database("xbot_migr")
    return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrations_up_from_empty_down_and_up_again(backend: str, tmp_path) -> None:
    url = _fresh_url(backend, tmp_path)
    engine = create_store_engine(url)
    try:
        assert current_revision(engine) is None
        assert upgrade(engine) == head_revision()
        assert upgrade(engine) == head_revision()  # idempotent
        tables = set(sa.inspect(engine).get_table_names())
        assert {t.name for t in metadata.sorted_tables} <= tables
        # the migrations build exactly the columns the code uses
        for table in metadata.sorted_tables:
            live = {c["name"] for c in sa.inspect(engine).get_columns(table.name)}
            assert live == {c.name for c in table.columns}, table.name
        downgrade(engine, "base")
        assert not {t.name for t in metadata.sorted_tables} & set(sa.inspect(engine).get_table_names())
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
        if backend == "postgres":
            dbutil.drop_pg_database(url)


VALUES = {
    "unicode": "ünïcødé — naïve café, 中文, العربية, עברית",
    "emoji": "👩‍👩‍👧‍👦 🏳️‍🌈 👍🏽 🧬",
    "nested": {"a": [1, 2.5, None, True, {"b": "ç"}], "empty": [], "quote": 'it\'s "quoted"'},
    "big": "x" * 100_000,
    "big_unicode": "€😀" * 25_000,
}


def test_json_round_trips_unicode_emoji_and_100kb(store: Store) -> None:
    now = store.clock.now()
    with store.begin() as conn:
        for key, value in VALUES.items():
            conn.execute(kv_state.insert().values(namespace="t", key=key, value={"v": value}, updated_at=now))
    with store.connect() as conn:
        rows = {r.key: r.value["v"] for r in conn.execute(sa.select(kv_state))}
    assert rows == VALUES


def test_times_are_timezone_aware_utc_on_the_way_out(store: Store) -> None:
    when = datetime(2026, 3, 29, 1, 30, tzinfo=UTC) + timedelta(microseconds=123)
    with store.begin() as conn:
        conn.execute(
            system_events.insert().values(
                event_type="t", event_data={}, severity="info", created_at=when, event_uid=uuid.uuid4().hex
            )
        )
    with store.connect() as conn:
        got = conn.execute(sa.select(system_events.c.created_at)).scalar_one()
    assert got == when and got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), store.begin() as conn:
        conn.execute(
            kv_state.insert().values(namespace="t", key="k", value={}, updated_at=datetime(2026, 1, 1))
        )


def test_severity_is_constrained_by_the_database(store: Store) -> None:
    with pytest.raises(sa.exc.IntegrityError), store.begin() as conn:
        conn.execute(
            system_events.insert().values(
                event_type="t",
                event_data={},
                severity="fatal",
                created_at=store.clock.now(),
                event_uid=uuid.uuid4().hex,
            )
        )
