"""`xbot enqueue --media/--alt` through the real console entry point: good files are stored
content-addressed and referenced from the post; bad ones get one clear line, exit 2, store unchanged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from xbot_pipeline.content.media import MAX_IMAGE_BYTES
from xbot_pipeline.store import metadata
from xbot_pipeline.store.media import media_for
from xbot_pipeline_tests.cli.forkserver import Result, run_xbot
from xbot_pipeline_tests.cli.hostile import Case, one_line_failure, run_cases
from xbot_pipeline_tests.media.images import png_bytes, write_gif, write_png


def xbot(env: dict, *args: str) -> Result:
    return run_xbot(env, *args, timeout_s=60)


@pytest.fixture
def env(settings):
    return {**os.environ, "XBOT_HOME": str(settings.home), "XBOT_DATABASE_URL": settings.database_url}


def bad_cases(tmp: Path) -> list[Case]:
    big = tmp / "big.png"
    big.write_bytes(png_bytes(1) + b"\0" * MAX_IMAGE_BYTES)
    text = tmp / "notes.png"
    text.write_text("this is not an image\n")
    five = [str(write_png(tmp, 10 + i)) for i in range(5)]
    ok = str(write_png(tmp, 20))
    gif = str(write_gif(tmp, 1))
    return [
        Case("too big", ["enqueue", "hello", "--media", str(big)], "X takes images up to 5 MB"),
        Case("not an image", ["enqueue", "hello", "--media", str(text)], "is not a PNG, JPEG, WebP or GIF"),
        Case("five images", ["enqueue", "hello", *[a for p in five for a in ("--media", p)]], "has 5 images"),
        Case("long alt", ["enqueue", "hello", "--media", ok, "--alt", "x" * 1001], "is 1001 characters"),
        Case("gif and image", ["enqueue", "hello", "--media", gif, "--media", ok], "a GIF goes alone"),
        Case("missing", ["enqueue", "hello", "--media", str(tmp / "missing.png")], "is not a file"),
        Case(
            "no such part", ["enqueue", "hello", "--media", f"2:{ok}"], "media for part 2, but the post has 1"
        ),
        Case("alt without media", ["enqueue", "hello", "--alt", "x"], "1 --alt value(s) for 0 --media"),
    ]


def table_counts(store) -> dict[str, int]:
    with store.connect() as conn:
        found = {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
    return {name: int(n) for name, n in found.items() if n}


def test_enqueue_media_good_and_bad(store, env, settings, tmp_path):
    """Bad media (one line, exit 2), then a good thread whose files land content-addressed, in one driver
    process: afterwards the store holds exactly the good post (nothing a refused enqueue wrote) and the
    media folder exactly its files."""
    assert table_counts(store) == {}
    cases = bad_cases(tmp_path)
    image, gif = write_png(tmp_path, 1), write_gif(tmp_path, 2)
    renamed = tmp_path / "photo.dat"  # the type comes from the bytes, not the name
    renamed.write_bytes(png_bytes(3))
    good = [
        "enqueue", "--kind", "thread", "first part", "second part", "--json",
        "--media", str(image), "--alt", "a red square",
        "--media", str(renamed), "--alt", "",
        "--media", f"2:{gif}", "--alt", "a blinking dot",
    ]  # fmt: skip
    base = {k: env[k] for k in ("XBOT_HOME", "XBOT_DATABASE_URL")}
    *results, out = run_cases([*cases, Case("good", list(good), "")], base, tmp_path)
    problems = [
        why for case, result in zip(cases, results, strict=True) if (why := one_line_failure(case, result))
    ]
    assert problems == []
    assert {r["rc"] for r in results} == {2}
    assert out["rc"] == 0, out["stderr"]
    assert table_counts(store) == {"accounts": 1, "posts": 1, "post_media": 3}
    rows = media_for(store, json.loads(out["stdout"])["id"])
    assert [(r["part"], r["position"], r["mime"], r["alt_text"]) for r in rows] == [
        (1, 0, "image/png", "a red square"),
        (1, 1, "image/png", None),
        (2, 0, "image/gif", "a blinking dot"),
    ]
    media = settings.home / "media"
    assert sorted(p.name for p in media.iterdir()) == sorted(f"{r['sha256']}.{r['mime'][6:]}" for r in rows)
    assert all(Path(r["path"]).parent == media for r in rows)
