"""Bring the analysts' snapshot up to date from the operational store.

``system_events`` is synced incrementally: rows past the snapshot's highest id plus a short
``created_at`` overlap (late commits), upserted by id; then errors the store marked recovered within the
last ``resync`` window (indexed on ``recovered_at``, however old the error) update the snapshot's rows
that are still open (errors get marked recovered after the fact). The first sync copies the table once,
in batches.
``posts`` and ``post_metrics`` are small and replaced whole; ``posts.media_count`` says how many files
each post carries and ``post_media`` lists them (type, size, alt text; no local paths, no upload ids).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from xbot_pipeline.store import Store
from xbot_pipeline.store import health as q
from xbot_pipeline.store.media import media_counts
from xbot_pipeline.warehouse.snapshot import (
    PublishResult,
    _touch_meta,
    open_for_write,
    run_sql,
    table_exists,
    write_append,
    write_replace,
    write_upsert,
)

# Like the store, the snapshot's system_events calls its columns ``event_component``/``event_error_type``:
# the seed's first query groups by the aliases ``component``/``error_type``, which a real column would shadow.
JSON_COLUMNS = {"system_events": ["event_data"], "posts": ["parts", "tweet_ids"]}
BATCH = 250_000


def sync_snapshot(
    store: Store,
    path: str | os.PathLike[str],
    now: datetime,
    *,
    replace: Mapping[str, pl.DataFrame] | None = None,
    append: Mapping[str, pl.DataFrame] | None = None,
    resync: timedelta = timedelta(hours=48),
    overlap: timedelta = timedelta(minutes=10),
) -> PublishResult:
    """One atomic publish: store tables plus the given derived tables (e.g. health frames)."""
    started = time.perf_counter()
    counts: dict[str, int] = {}
    with open_for_write(path) as con:
        if table_exists(con, "system_events"):
            hwm = int(run_sql(con, "SELECT coalesce(max(id), 0) FROM system_events")[0][0])
            fresh = q.export_events(store, after_id=hwm, since=now - overlap)
            write_upsert(con, "system_events", fresh, "id", JSON_COLUMNS["system_events"])
            _refresh_recoveries(con, store, now - resync)
        else:
            after = 0
            while True:
                batch = q.export_events(store, after_id=after, limit=BATCH)
                if after == 0 or batch.height:
                    write_append(con, "system_events", batch, JSON_COLUMNS["system_events"])
                if batch.height < BATCH:
                    break
                after = int(batch["id"].max())  # type: ignore[arg-type]  # polars types max()/min()/median() as any literal; this column is numeric
        counts["system_events"] = _touch_meta(con, "system_events", now)
        write_replace(con, "posts", _posts_with_media_counts(store), JSON_COLUMNS["posts"])
        counts["posts"] = _touch_meta(con, "posts", now)
        media = q.export_table(store, "post_media").drop("path", "media_id", "media_expires_at")
        write_replace(con, "post_media", media)
        counts["post_media"] = _touch_meta(con, "post_media", now)
        write_replace(con, "post_metrics", q.export_table(store, "post_metrics"))
        counts["post_metrics"] = _touch_meta(con, "post_metrics", now)
        for name, frame in (replace or {}).items():
            write_replace(con, name, frame, JSON_COLUMNS.get(name, ()))
            counts[name] = _touch_meta(con, name, now)
        for name, frame in (append or {}).items():
            write_append(con, name, frame, JSON_COLUMNS.get(name, ()))
            counts[name] = _touch_meta(con, name, now)
    return PublishResult(path=Path(path), tables=counts, seconds=time.perf_counter() - started)


def _posts_with_media_counts(store: Store) -> pl.DataFrame:
    """``posts`` plus ``media_count`` (0 for a text-only post)."""
    posts = q.export_table(store, "posts")
    found = media_counts(store)
    counts = pl.DataFrame(
        {"id": list(found), "media_count": list(found.values())},
        schema={"id": pl.Int64, "media_count": pl.Int64},
    )
    return posts.join(counts, on="id", how="left").with_columns(pl.col("media_count").fill_null(0))


def _refresh_recoveries(con: duckdb.DuckDBPyConnection, store: Store, since: datetime) -> int:
    """Copy recovery marks made since ``since`` onto the snapshot's still-open errors, however old."""
    healed = q.recovered_since(store, since)
    if healed.height:
        view = "__healed"
        con.register(view, healed)
        try:
            run_sql(
                con,
                f"UPDATE system_events SET recovered = true, recovered_at = h.recovered_at, "
                f"recovery_time_ms = h.recovery_time_ms FROM {view} h "
                f"WHERE system_events.id = h.id AND NOT system_events.recovered",
            )
        finally:
            con.unregister(view)
    return healed.height
