"""Images with alt text through the browser publisher: real Chromium, the stand-in's web composer (file
input, description sheet), the full posting pass."""

from __future__ import annotations

import hashlib

import pytest

from xbot_pipeline.posting.config import fast_config
from xbot_pipeline.posting.enqueue import MediaSpec, enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.factory import publisher_for_map
from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import get_post
from xbot_pipeline_tests.media.images import write_gif, write_png

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_chromium_left")]


def test_browser_attaches_images_and_alt_text(store, tracker, sandbox, demo_session_file, tmp_path):
    ensure_account(store, DEMO_HANDLE, publisher="browser")
    media_dir = tmp_path / "media"
    images = [write_png(tmp_path, 41), write_png(tmp_path, 42)]
    single = enqueue(
        store,
        DEMO_HANDLE,
        "single",
        "two pictures from the browser",
        media=[MediaSpec(str(images[0]), alt="a teal square"), MediaSpec(str(images[1]))],
        media_dir=media_dir,
    )
    gif = write_gif(tmp_path, 4)
    thread = enqueue(
        store,
        DEMO_HANDLE,
        "thread",
        ["browser thread, part one", "part two carries a GIF"],
        media=[MediaSpec(str(gif), alt="a dot that blinks", part=2)],
        media_dir=media_dir,
    )
    spec = {
        DEMO_HANDLE: {
            "publisher": "browser",
            "session_file": str(demo_session_file),
            "handle": DEMO_HANDLE,
            "op_timeout_s": 30,
        }
    }
    pf = publisher_for_map(spec, api_url=sandbox.api_url, web_url=sandbox.web_url, clock=store.clock)
    sandbox.admin.inject("alt_layout", next_n=1)  # the single goes through X's other composer layout
    run_posting(store, tracker, pf, config=fast_config())
    assert sandbox.admin.faults() == []  # the other layout was served (and coped with)
    for row in (single, thread):
        done = get_post(store, row["id"])
        assert done["status"] == "posted", done["status_reason"]
    live = {p["text"]: p for p in sandbox.admin.posts(DEMO_HANDLE)}
    assert len(live) == 3 and {p["channel"] for p in live.values()} == {"web"}
    shown = live["two pictures from the browser"]["media"]
    assert [m["sha256"] for m in shown] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in images]
    assert [m["alt_text"] for m in shown] == ["a teal square", None]
    assert live["browser thread, part one"]["media"] == []
    (anim,) = live["part two carries a GIF"]["media"]
    assert anim["type"] == "animated_gif" and anim["alt_text"] == "a dot that blinks"
    assert live["part two carries a GIF"]["parent_id"] == live["browser thread, part one"]["id"]
