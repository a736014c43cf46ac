"""The DuckDB snapshot carries media counts per post and the media list (no local paths, no upload ids)."""

from __future__ import annotations

import duckdb

from xbot_pipeline.posting.enqueue import MediaSpec, enqueue
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.warehouse.sync import sync_snapshot
from xbot_pipeline_tests.media.images import write_gif, write_png


def test_snapshot_has_media_counts_per_post(store, tmp_path):
    ensure_account(store, "main")
    media_dir = tmp_path / "media"
    plain = enqueue(store, "main", "single", "text only")
    three = enqueue(
        store,
        "main",
        "single",
        "three pictures",
        media=[MediaSpec(str(write_png(tmp_path, i)), alt=f"alt {i}") for i in range(3)],
        media_dir=media_dir,
    )
    thread = enqueue(
        store,
        "main",
        "thread",
        ["one", "two"],
        media=[MediaSpec(str(write_png(tmp_path, 9))), MediaSpec(str(write_gif(tmp_path)), part=2)],
        media_dir=media_dir,
    )
    path = tmp_path / "warehouse.duckdb"
    result = sync_snapshot(store, path, store.clock.now())
    assert result.tables["post_media"] == 5
    con = duckdb.connect(str(path), read_only=True)
    try:
        counts = dict(con.execute("SELECT id, media_count FROM posts ORDER BY id").fetchall())
        columns = [r[0] for r in con.execute("DESCRIBE post_media").fetchall()]
        alts = [
            r[0]
            for r in con.execute(
                "SELECT alt_text FROM post_media WHERE post_id = ? ORDER BY position", [three["id"]]
            ).fetchall()
        ]
    finally:
        con.close()
    assert counts == {plain["id"]: 0, three["id"]: 3, thread["id"]: 2}
    assert alts == ["alt 0", "alt 1", "alt 2"]
    assert "path" not in columns and "media_id" not in columns
