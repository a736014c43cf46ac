"""Images and GIFs with alt text through the real API publisher and the real stand-in (HTTP on 127.0.0.1):
simple and chunked uploads, alt text, retries that never post twice, expired ids uploaded again."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from xbot_pipeline.clock import SystemClock
from xbot_pipeline.posting.config import fast_config
from xbot_pipeline.posting.enqueue import MediaSpec, enqueue
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.api import ApiPublisher
from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.attempts import attempts_for
from xbot_pipeline.store.media import media_for
from xbot_pipeline.store.posts import get_post
from xbot_pipeline_tests.media.images import write_gif, write_png


class Publishers:
    """``publisher_for`` that keeps every ApiPublisher it made (to count uploads)."""

    def __init__(self, sandbox, chunk: int = 16) -> None:
        self.sandbox, self.chunk, self.made = sandbox, chunk, []

    def __call__(self, account):
        pub = ApiPublisher(
            self.sandbox.api_url,
            self.sandbox.account(DEMO_HANDLE).token,
            clock=SystemClock(),
            timeout_s=5,
            media_chunk_bytes=self.chunk,
            media_reuse_margin_s=0.5,
            media_processing_max_s=10,
        )
        self.made.append(pub)
        return pub

    @property
    def uploads(self) -> int:
        return sum(p.uploads for p in self.made)


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def quick_sandbox(sandbox):
    sandbox.admin.set_limits(gif_processing_s=0.3, media_expiry_s=24 * 3600)
    yield sandbox
    sandbox.admin.set_limits(gif_processing_s=1.0, media_expiry_s=24 * 3600)


def run_until_done(store, tracker, pf, rounds: int = 6) -> None:
    for _ in range(rounds):
        run_posting(store, tracker, pf, config=fast_config())
        store.clock.advance(5)


def live_by_text(sandbox) -> dict[str, dict]:
    posts = sandbox.admin.posts(DEMO_HANDLE)
    texts = [p["text"] for p in posts]
    assert len(texts) == len(set(texts)), "a post went out twice"
    return {p["text"]: p for p in posts}


def test_posts_with_one_to_four_images_and_alt_text(store, tracker, quick_sandbox, tmp_path, media_dir):
    ensure_account(store, DEMO_HANDLE)
    queued = {}
    for n in range(1, 5):
        files = [write_png(tmp_path, 10 * n + i) for i in range(n)]
        specs = [
            MediaSpec(str(f), alt=f"picture {i + 1} of {n}: a small square") for i, f in enumerate(files)
        ]
        row = enqueue(
            store, DEMO_HANDLE, "single", f"a post with {n} image(s)", media=specs, media_dir=media_dir
        )
        queued[row["id"]] = files
    pf = Publishers(quick_sandbox)
    run_until_done(store, tracker, pf, rounds=2)
    live = live_by_text(quick_sandbox)
    for post_id, files in queued.items():
        row = get_post(store, post_id)
        assert row["status"] == "posted", row["status_reason"]
        shown = live[row["text"]]
        assert shown["id"] == row["tweet_id"]
        assert [m["sha256"] for m in shown["media"]] == [
            hashlib.sha256(f.read_bytes()).hexdigest() for f in files
        ]
        n = len(files)
        assert [m["alt_text"] for m in shown["media"]] == [
            f"picture {i + 1} of {n}: a small square" for i in range(n)
        ]
        assert all(m["type"] == "photo" for m in shown["media"])
        stored = media_for(store, post_id)
        assert all(Path(m["path"]).parent == media_dir and m["media_id"] for m in stored)
    assert pf.uploads == 10  # 1 + 2 + 3 + 4, each once


def test_gif_goes_through_chunked_upload_with_processing(store, tracker, quick_sandbox, tmp_path, media_dir):
    ensure_account(store, DEMO_HANDLE)
    gif = write_gif(tmp_path, 7)
    row = enqueue(
        store,
        DEMO_HANDLE,
        "single",
        "a moving picture",
        media=[MediaSpec(str(gif), alt="a blinking dot")],
        media_dir=media_dir,
    )
    pf = Publishers(quick_sandbox, chunk=16)  # a 40-byte GIF: 3 appended segments
    run_until_done(store, tracker, pf, rounds=1)
    assert get_post(store, row["id"])["status"] == "posted"
    (media,) = live_by_text(quick_sandbox)["a moving picture"]["media"]
    assert media["type"] == "animated_gif" and media["alt_text"] == "a blinking dot"
    assert media["sha256"] == hashlib.sha256(gif.read_bytes()).hexdigest()


def test_thread_parts_carry_their_own_media(store, tracker, quick_sandbox, tmp_path, media_dir):
    ensure_account(store, DEMO_HANDLE)
    specs = [
        MediaSpec(str(write_png(tmp_path, 200)), alt="first", part=1),
        MediaSpec(str(write_gif(tmp_path, 3)), alt="second", part=2),
    ]
    row = enqueue(
        store,
        DEMO_HANDLE,
        "thread",
        ["thread with pictures, 1/3", "part two has a GIF", "part three: text only"],
        media=specs,
        media_dir=media_dir,
    )
    run_until_done(store, tracker, Publishers(quick_sandbox), rounds=1)
    assert get_post(store, row["id"])["status"] == "posted"
    live = live_by_text(quick_sandbox)
    assert [m["alt_text"] for m in live["thread with pictures, 1/3"]["media"]] == ["first"]
    assert [m["alt_text"] for m in live["part two has a GIF"]["media"]] == ["second"]
    assert live["part three: text only"]["media"] == []


@pytest.mark.parametrize("fault", ["upload_chunk_failure", "processing_failure", "upload_failure"])
def test_upload_failure_retries_without_a_second_post(
    store, tracker, quick_sandbox, tmp_path, media_dir, fault
):
    ensure_account(store, DEMO_HANDLE)
    path = write_png(tmp_path, 300) if fault == "upload_failure" else write_gif(tmp_path, 9)
    row = enqueue(
        store,
        DEMO_HANDLE,
        "single",
        f"retry after {fault}",
        media=[MediaSpec(str(path), alt="alt")],
        media_dir=media_dir,
    )
    quick_sandbox.admin.inject(fault, next_n=1, **({"skip": 1} if fault == "upload_chunk_failure" else {}))
    pf = Publishers(quick_sandbox)
    run_posting(store, tracker, pf, config=fast_config())
    first = get_post(store, row["id"])
    assert first["status"] == "retry_pending", first["status_reason"]
    assert quick_sandbox.admin.posts(DEMO_HANDLE) == []  # never posted without its media
    store.clock.advance(5)
    run_posting(store, tracker, pf, config=fast_config())
    assert get_post(store, row["id"])["status"] == "posted"
    live = live_by_text(quick_sandbox)
    assert len(live) == 1 and len(live[f"retry after {fault}"]["media"]) == 1
    assert [a["outcome"] for a in attempts_for(store, row["id"])] == ["retryable", "posted"]


def test_valid_media_id_is_reused_and_an_expired_one_uploaded_again(
    store, tracker, quick_sandbox, tmp_path, media_dir
):
    ensure_account(store, DEMO_HANDLE)
    quick_sandbox.admin.set_limits(media_expiry_s=60)
    a = enqueue(
        store,
        DEMO_HANDLE,
        "single",
        "reuse my upload",
        media=[MediaSpec(str(write_png(tmp_path, 1)))],
        media_dir=media_dir,
    )
    quick_sandbox.admin.inject("http_500", next_n=1)  # the create fails after the upload
    pf = Publishers(quick_sandbox)
    run_posting(store, tracker, pf, config=fast_config())
    assert get_post(store, a["id"])["status"] == "retry_pending"
    (cached,) = media_for(store, a["id"])
    assert cached["media_id"] and cached["media_attempt_no"] == 1
    store.clock.advance(5)
    run_posting(store, tracker, pf, config=fast_config())
    assert get_post(store, a["id"])["status"] == "posted"
    assert pf.uploads == 1  # the retry reused the valid id
    assert live_by_text(quick_sandbox)["reuse my upload"]["media"][0]["media_id"] == cached["media_id"]

    quick_sandbox.admin.set_limits(media_expiry_s=1)
    b = enqueue(
        store,
        DEMO_HANDLE,
        "single",
        "my upload expires",
        media=[MediaSpec(str(write_png(tmp_path, 2)))],
        media_dir=media_dir,
    )
    quick_sandbox.admin.inject("http_500", next_n=1)
    run_posting(store, tracker, pf, config=fast_config())
    (first,) = media_for(store, b["id"])
    time.sleep(1.2)  # the stand-in's media id (1 s lifetime) expires
    store.clock.advance(5)
    run_posting(store, tracker, pf, config=fast_config())
    assert get_post(store, b["id"])["status"] == "posted"
    (second,) = media_for(store, b["id"])
    assert second["media_id"] != first["media_id"] and second["media_attempt_no"] == 2
    assert live_by_text(quick_sandbox)["my upload expires"]["media"][0]["media_id"] == second["media_id"]


def test_stand_in_refuses_an_expired_id_and_the_publisher_uploads_again(quick_sandbox, tmp_path):
    """A cached id the publisher believes valid but X has dropped: the 400 posts nothing; one re-upload."""
    from xbot_pipeline.content.media import read_media
    from xbot_pipeline.publishing.base import MediaItem, Outcome, PostRequest

    quick_sandbox.admin.set_limits(media_expiry_s=1)
    path = write_png(tmp_path, 5)
    pub = Publishers(quick_sandbox)(None)
    item = MediaItem(str(path), "image/png", read_media(path).sha256, path.stat().st_size, alt_text="late")
    uploaded = pub._upload(item)
    assert isinstance(uploaded, tuple)
    time.sleep(1.2)
    from dataclasses import replace
    from datetime import timedelta

    stale = replace(item, media_id=uploaded[0], expires_at=pub.clock.now() + timedelta(hours=1))
    result = pub.publish(PostRequest("single", ["an id X forgot"], media=((stale,),)))
    assert result.outcome is Outcome.POSTED, result.message
    (media,) = live_by_text(quick_sandbox)["an id X forgot"]["media"]
    assert media["media_id"] != uploaded[0] and media["alt_text"] == "late"
    pub.close()


def test_thread_part_two_upload_failure_continues_with_its_media(
    store, tracker, quick_sandbox, tmp_path, media_dir
):
    """Part 1 goes out, part 2's GIF fails processing: part 1 stays live (never posted again) and the
    next attempt continues the chain from it, part 2 with its GIF."""
    ensure_account(store, DEMO_HANDLE)
    row = enqueue(
        store,
        DEMO_HANDLE,
        "thread",
        ["a thread whose second part waits", "second part, with its GIF"],
        media=[MediaSpec(str(write_gif(tmp_path, 11)), alt="late dot", part=2)],
        media_dir=media_dir,
    )
    quick_sandbox.admin.inject("processing_failure", next_n=1)
    pf = Publishers(quick_sandbox)
    run_posting(store, tracker, pf, config=fast_config())
    half = get_post(store, row["id"])
    assert half["status"] == "retry_pending" and len(half["tweet_ids"]) == 1, half["status_reason"]
    assert [p["text"] for p in quick_sandbox.admin.posts(DEMO_HANDLE)] == ["a thread whose second part waits"]
    store.clock.advance(5)
    run_posting(store, tracker, pf, config=fast_config())
    done = get_post(store, row["id"])
    assert done["status"] == "posted" and done["tweet_ids"][0] == half["tweet_ids"][0]
    live = live_by_text(quick_sandbox)
    second = live["second part, with its GIF"]
    assert second["parent_id"] == half["tweet_ids"][0]
    assert [(m["type"], m["alt_text"]) for m in second["media"]] == [("animated_gif", "late dot")]
