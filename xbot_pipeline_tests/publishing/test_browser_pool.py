"""Many accounts in one Chromium (``BrowserPool``), with real headless Chromium against the real stand-in:
one browser, one context per account (own cookies), the cap, idle closing, relaunch after a kill, and no
Chromium left after close or exit."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from xbot_pipeline.clock import ManualClock
from xbot_pipeline.publishing.base import Outcome, PostRequest
from xbot_pipeline.publishing.browser import BrowserPublisher
from xbot_pipeline.publishing.browser.pool import BrowserPool, close_shared_pools, thread_pools
from xbot_pipeline.publishing.factory import PublisherSpec, build_publisher
from xbot_pipeline.sandbox.server import SandboxServer
from xbot_pipeline_tests.fixtures.sandbox import chromium_descendants

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_chromium_left")]

OP_TIMEOUT_S = 20
HANDLES = ("xbot_demo", "xbot_second", "xbot_third")


@pytest.fixture(scope="module")
def session_files(sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A logged-in storage state per stand-in account (0600), one file each."""
    folder = tmp_path_factory.mktemp("sessions")
    return {h: sandbox_server.write_storage_state(h, folder / f"{h}.json") for h in HANDLES}


@pytest.fixture
def pool() -> Iterator[BrowserPool]:
    pool = BrowserPool(None, max_contexts=5, idle_s=600)
    try:
        yield pool
    finally:
        pool.close()


def publisher(
    sandbox: SandboxServer, files: dict[str, Path], handle: str, pool: BrowserPool
) -> BrowserPublisher:
    return BrowserPublisher(
        sandbox.web_url, files[handle], handle, pool=pool, op_timeout_s=OP_TIMEOUT_S, fallback_timeout_s=3
    )


def browsers(pids: set[int]) -> set[int]:
    """The Chromium main processes among ``pids`` (the others are its renderers, GPU, zygotes...; Chromium
    rewrites its command line into one string, so the flag is looked for anywhere in it)."""
    found = set()
    for pid in pids:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmd and b"--type=" not in cmd and _alive(pid):
            found.add(pid)
    return found


def auth_tokens(pub: BrowserPublisher) -> set[str]:
    assert pub.session.context is not None
    return {c["value"] for c in pub.session.context.cookies() if c["name"] == "auth_token"}


def single(text: str) -> PostRequest:
    return PostRequest("single", [text])


def test_two_accounts_share_one_chromium_and_post_as_themselves(
    sandbox: SandboxServer, session_files: dict[str, Path], pool: BrowserPool
) -> None:
    before = chromium_descendants()
    demo = publisher(sandbox, session_files, "xbot_demo", pool)
    second = publisher(sandbox, session_files, "xbot_second", pool)
    with demo, second:  # both open at once, posts interleaved
        results = [
            (handle, pub.publish(single(f"{handle} says {n}")))
            for n in range(2)
            for handle, pub in (("xbot_demo", demo), ("xbot_second", second))
        ]
        assert all(r.outcome is Outcome.POSTED for _, r in results), [r.message for _, r in results]
        assert len(browsers(chromium_descendants() - before)) == 1  # one Chromium for both accounts
        assert (pool.launches, demo.launches, second.launches, pool.open_contexts) == (1, 1, 0, 2)
        demo_tokens, second_tokens = auth_tokens(demo), auth_tokens(second)
        assert len(demo_tokens) == len(second_tokens) == 1 and not demo_tokens & second_tokens
        assert demo.recent_posts(5)[0].text == "xbot_demo says 1"  # each reads its own timeline
        assert second.recent_posts(5)[0].text == "xbot_second says 1"
    by_id = {p["id"]: p for p in sandbox.admin.posts()}
    assert [(h, by_id[r.tweet_id]["author"]) for h, r in results] == [(h, h) for h, _ in results]
    for handle, tokens in (("xbot_demo", demo_tokens), ("xbot_second", second_tokens)):
        saved = json.loads(session_files[handle].read_text())  # each file keeps its own cookies, 0600
        assert {c["value"] for c in saved["cookies"] if c["name"] == "auth_token"} == tokens
        assert stat.S_IMODE(session_files[handle].stat().st_mode) == 0o600
    # the publishers are closed; their contexts stay open (idle) in the running browser for the next pass
    assert pool.open_contexts == 2 and pool.running
    again = publisher(sandbox, session_files, "xbot_demo", pool)
    with again:
        assert again.publish(single("demo again")).outcome is Outcome.POSTED
    assert (pool.launches, pool.stats.opened) == (1, 2)  # the same browser and the same context
    pool.close()
    assert not chromium_descendants() - before


def test_factory_publishers_share_the_threads_pool(
    sandbox: SandboxServer, session_files: dict[str, Path], clock
) -> None:
    before = chromium_descendants()
    built = [
        build_publisher(
            PublisherSpec(
                "browser", h, web_url=sandbox.web_url, session_file=session_files[h], max_contexts=7
            ),
            clock=clock,
        )
        for h in HANDLES
    ]
    try:
        for pub in built:
            assert pub.publish(single(f"factory {pub.handle}")).outcome is Outcome.POSTED  # type: ignore[attr-defined]
    finally:
        for pub in built:
            pub.close()
    pools = {id(pub.session.pool) for pub in built}  # type: ignore[attr-defined]
    assert len(pools) == 1 and thread_pools()[0].max_contexts == 7 and thread_pools()[0].launches == 1
    assert {p["author"] for p in sandbox.admin.posts()} == set(HANDLES)
    assert len(browsers(chromium_descendants() - before)) == 1  # still running between passes
    close_shared_pools()
    assert not chromium_descendants() - before and thread_pools() == []


def test_the_cap_evicts_the_least_recently_used_idle_context_and_refuses_when_all_are_busy(
    sandbox: SandboxServer, session_files: dict[str, Path], pool: BrowserPool
) -> None:
    pool.max_contexts = 2
    for handle in ("xbot_demo", "xbot_second", "xbot_demo"):  # demo used last: second is the LRU one
        with publisher(sandbox, session_files, handle, pool) as pub:
            assert (
                pub.publish(single(f"{handle} {pool.stats.opened} {time.time()}")).outcome is Outcome.POSTED
            )
    with publisher(sandbox, session_files, "xbot_third", pool) as third:
        assert third.publish(single("third joins")).outcome is Outcome.POSTED
        assert pool.stats.evicted == 1 and pool.open_contexts == 2
        with publisher(sandbox, session_files, "xbot_second", pool) as second:  # evicted: re-opens fine
            assert second.publish(single("second is back")).outcome is Outcome.POSTED
            assert pool.stats.evicted == 2  # demo was the idle one left to evict
            with publisher(sandbox, session_files, "xbot_demo", pool) as demo:  # all in use: refused
                refused = demo.publish(single("no room"))
                assert (refused.outcome, refused.error_type) == (Outcome.RETRYABLE, "browser_pool_full")
                assert "XBOT_BROWSER_MAX_CONTEXTS" in refused.message
    assert "no room" not in {p["text"] for p in sandbox.admin.posts()}
    assert pool.stats.refused == 1 and pool.launches == 1
    with publisher(sandbox, session_files, "xbot_demo", pool) as demo:  # room again once they are idle
        assert demo.publish(single("room again")).outcome is Outcome.POSTED
    authors = {p["text"]: p["author"] for p in sandbox.admin.posts()}
    assert (authors["third joins"], authors["second is back"], authors["room again"]) == (
        "xbot_third",
        "xbot_second",
        "xbot_demo",
    )


def test_idle_contexts_are_saved_and_closed_after_the_idle_time(
    sandbox: SandboxServer, session_files: dict[str, Path]
) -> None:
    clock = ManualClock()
    pool = BrowserPool(None, max_contexts=5, idle_s=60, clock=clock)
    try:
        with publisher(sandbox, session_files, "xbot_demo", pool) as demo:
            assert demo.publish(single("before the pause")).outcome is Outcome.POSTED
        saved = session_files["xbot_demo"].stat().st_ino  # a save replaces the file: a new inode
        clock.advance(59)
        assert pool.sweep() == 0 and pool.open_contexts == 1
        clock.advance(2)
        with publisher(sandbox, session_files, "xbot_second", pool) as second:  # the next use sweeps
            assert second.publish(single("after the pause")).outcome is Outcome.POSTED
            assert pool.stats.idle_closed == 1 and pool.open_contexts == 1
        after = session_files["xbot_demo"].stat()  # the idle close saved it (0600) before closing it
        assert after.st_ino != saved and stat.S_IMODE(after.st_mode) == 0o600
        with publisher(sandbox, session_files, "xbot_demo", pool) as demo:  # re-opens from the saved file
            assert demo.publish(single("demo re-opened")).outcome is Outcome.POSTED
        assert (pool.launches, pool.stats.opened) == (1, 3)
    finally:
        pool.close()


def test_a_killed_chromium_is_relaunched_on_the_next_operation(
    sandbox: SandboxServer, session_files: dict[str, Path], pool: BrowserPool
) -> None:
    before = chromium_descendants()
    demo = publisher(sandbox, session_files, "xbot_demo", pool)
    with demo:
        assert demo.publish(single("before the crash")).outcome is Outcome.POSTED
        with publisher(sandbox, session_files, "xbot_second", pool) as second:
            assert second.publish(single("second before the crash")).outcome is Outcome.POSTED
        first = chromium_descendants() - before
        for pid in first:  # the OOM killer's way; a helper may exit on its own before its turn
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        after = demo.publish(single("after the crash"))  # the same open publisher
        assert after.outcome is Outcome.POSTED, after.message
        assert (pool.launches, pool.stats.relaunches, demo.launches) == (2, 1, 2)
        with publisher(sandbox, session_files, "xbot_second", pool) as second:  # its idle context was lost
            assert second.publish(single("second after the crash")).outcome is Outcome.POSTED
    assert pool.launches == 2 and not first & chromium_descendants()
    assert len(browsers(chromium_descendants() - before)) == 1


def test_a_session_file_replaced_on_disk_is_loaded_again(
    sandbox: SandboxServer, session_files: dict[str, Path], pool: BrowserPool, tmp_path: Path
) -> None:
    own = tmp_path / "demo.json"
    own.write_bytes(session_files["xbot_demo"].read_bytes())
    with BrowserPublisher(sandbox.web_url, own, "xbot_demo", pool=pool, op_timeout_s=OP_TIMEOUT_S) as demo:
        assert demo.publish(single("logged in")).outcome is Outcome.POSTED
    own.write_text('{"cookies": [], "origins": []}')  # another process saved a logged-out session
    with BrowserPublisher(sandbox.web_url, own, "xbot_demo", pool=pool, op_timeout_s=5) as demo:
        result = demo.publish(single("who am I now"))
    assert (result.outcome, result.error_type) == (Outcome.REJECTED, "session_expired")
    assert json.loads(own.read_text()) == {"cookies": [], "origins": []}  # never saved over


def test_no_chromium_is_left_when_the_process_exits_with_contexts_open(
    sandbox: SandboxServer, session_files: dict[str, Path], tmp_path: Path
) -> None:
    """Publishers left open in a shared pool: the exit hook closes them and the browser."""
    script = tmp_path / "leave_open.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from xbot_pipeline.clock import SystemClock
            from xbot_pipeline.publishing.base import PostRequest
            from xbot_pipeline.publishing.factory import PublisherSpec, build_publisher
            from xbot_pipeline_tests.fixtures.sandbox import chromium_descendants
            files = {json.dumps({h: str(p) for h, p in session_files.items()})}
            for handle in ("xbot_demo", "xbot_second"):
                spec = PublisherSpec(
                    "browser", handle, web_url={sandbox.web_url!r}, session_file=files[handle]
                )
                pub = build_publisher(spec, clock=SystemClock())
                print(pub.publish(PostRequest("single", ["left open by " + handle])).outcome, flush=True)
            print(" ".join(map(str, sorted(chromium_descendants()))), flush=True)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    lines = done.stdout.strip().splitlines()
    assert lines[:2] == ["posted", "posted"], done.stdout + done.stderr
    pids = {int(p) for p in lines[2].split()}
    assert pids
    deadline = time.monotonic() + 5
    while (alive := {p for p in pids if _alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive, f"Chromium left running after exit: {sorted(alive)}"
    assert "could not close" not in done.stderr


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
