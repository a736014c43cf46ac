"""One Chromium per worker thread, one browser context per account.

A ``BrowserPool`` keeps one Chromium running and hands each account (keyed by its session file) a
``BrowserContext`` of its own, loaded from that account's saved storage state: cookies are never shared
between accounts. An account's context stays open after its publisher closes (idle), so the next pass of
that account re-uses it; a context idle longer than ``idle_s`` is saved (0600) and closed, and when
``max_contexts`` are open the least recently used idle one is saved and closed to make room.

When every open context is in use and the cap is reached, ``acquire`` raises ``PoolFull`` at once: the
pool belongs to one thread (Playwright's sync API is bound to it), so the contexts in use can only be
given back by that same thread and waiting could never succeed. The browser publisher turns it into a
retryable outcome with nothing submitted.

A Chromium that crashed or was killed is relaunched on the next ``acquire`` (its contexts are gone: the
accounts re-open theirs from their session files). Idle contexts are closed on the pool's next operation
(no background thread may call Playwright). ``close()`` saves and closes everything; at interpreter exit
the pools of the exiting thread are closed, and any other thread's Chromium ends with the Playwright
driver when the process ends.

``shared_pool()`` gives the calling thread's pool for an (executable, headless) pair; a publisher built
without one gets a private pool it closes with itself (one Chromium per publisher, as before).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from xbot_pipeline.clock import Clock, SystemClock
from xbot_pipeline.events.redact import register_secret
from xbot_pipeline.private_files import write_private_json
from xbot_pipeline.publishing.session import session_cookies

log = logging.getLogger("xbot_pipeline.publishing.browser")

DEBIAN_CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--disable-gpu", "--disable-quic", "--no-sandbox"]
DEFAULT_MAX_CONTEXTS = 25
DEFAULT_IDLE_S = 600.0

FileSig = tuple[int, int, int] | None


def pick_executable(configured: str | None) -> str | None:
    """The configured browser, else Debian's chromium, else Playwright's own download (None)."""
    if configured:
        return configured
    return DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).exists() else None


class PoolFull(Exception):
    """Every context of the pool is in use and the cap is reached (retry later; nothing was done)."""


class _Driver:
    """One Playwright driver per thread, shared by every pool on it (Playwright allows only one)."""

    _local = threading.local()

    @classmethod
    def acquire(cls) -> Playwright:
        if getattr(cls._local, "users", 0) == 0:
            cls._local.pw = sync_playwright().start()
            cls._local.users = 0
        cls._local.users += 1
        pw: Playwright = cls._local.pw
        return pw

    @classmethod
    def release(cls) -> None:
        cls._local.users = max(0, getattr(cls._local, "users", 1) - 1)
        if cls._local.users == 0 and getattr(cls._local, "pw", None) is not None:
            pw, cls._local.pw = cls._local.pw, None
            with contextlib.suppress(PlaywrightError):
                pw.stop()


def _file_sig(path: Path) -> FileSig:
    """What identifies the file's current content cheaply (a save replaces the file: a new inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass(eq=False)
class PooledContext:
    """One account's context in the pool; ``users`` counts the sessions holding it."""

    key: str
    session_file: Path
    context: BrowserContext
    generation: int  # the browser it lives in; a relaunched browser has a new generation
    file_sig: FileSig  # the session file as loaded or last saved by the pool
    last_used: float
    users: int = 0
    closed: bool = False


@dataclass
class PoolStats:
    launches: int = 0  # browsers started
    opened: int = 0  # contexts opened
    evicted: int = 0  # idle contexts closed to make room under the cap
    idle_closed: int = 0  # contexts closed after idle_s
    refused: int = 0  # acquires refused: the cap reached with every context in use
    relaunches: int = 0  # launches that replaced a dead browser
    accounts: set[str] = field(default_factory=set)  # session files served


class BrowserPool:
    """One Chromium and its per-account contexts, used from the thread that created it."""

    def __init__(
        self,
        executable: str | None,
        headless: bool = True,
        *,
        max_contexts: int = DEFAULT_MAX_CONTEXTS,
        idle_s: float = DEFAULT_IDLE_S,
        clock: Clock | None = None,
    ) -> None:
        self.executable = pick_executable(executable)
        self.headless = headless
        self.max_contexts = max(1, max_contexts)
        self.idle_s = idle_s
        self.clock = clock or SystemClock()
        self.stats = PoolStats()
        self.generation = 0
        self._owner: int | None = None  # the thread that launched the running browser
        self._contexts: OrderedDict[str, PooledContext] = OrderedDict()  # least recently used first
        self._pw: Playwright | None = None
        self._browser: Browser | None = None
        self._closed = False
        _register(self)

    @property
    def launches(self) -> int:
        return self.stats.launches

    @property
    def open_contexts(self) -> int:
        return len(self._contexts)

    @property
    def running(self) -> bool:
        return self._browser is not None

    def acquire(self, session_file: Path, timeout_ms: float = 60_000) -> tuple[PooledContext, bool]:
        """``session_file``'s context, marked in use; and whether a browser was launched for it.
        Raises ``PoolFull`` when the cap is reached with every context in use."""
        self._check_thread()
        self.sweep()
        launched = self._ensure_browser(timeout_ms)
        key = os.path.abspath(session_file)
        entry = self._contexts.get(key)
        if entry is not None and (
            entry.generation != self.generation or entry.file_sig != _file_sig(entry.session_file)
        ):  # its browser died, or the session file was replaced on disk (a new login): load it again
            self._close_entry(entry, save=False)
            entry = None
        if entry is None:
            self._make_room()
            try:
                context = self._new_context(session_file)
            except PlaywrightError:
                if self._browser is not None and self._browser.is_connected():
                    raise
                launched = self._ensure_browser(timeout_ms) or launched  # it died just now: once more
                context = self._new_context(session_file)
            entry = PooledContext(
                key, Path(session_file), context, self.generation, _file_sig(Path(session_file)), 0.0
            )
            self._contexts[key] = entry
            self.stats.opened += 1
            self.stats.accounts.add(key)
        entry.users += 1
        entry.last_used = self.clock.monotonic()
        self._contexts.move_to_end(key)
        return entry, launched

    def current(self, entry: PooledContext) -> bool:
        """Whether ``entry`` is still usable: open, in this browser, and the browser still alive."""
        return not entry.closed and entry.generation == self.generation and self._alive()

    def release(self, entry: PooledContext) -> None:
        """A session is done with ``entry``: it stays open (idle) for the account's next use."""
        entry.users = max(0, entry.users - 1)
        entry.last_used = self.clock.monotonic()
        if not self._closed and self._owner == threading.get_ident():
            self.sweep()

    def discard(self, entry: PooledContext) -> None:
        """Close ``entry`` now without saving (an aborted operation must not go on in it)."""
        self._close_entry(entry, save=False)

    def save(self, entry: PooledContext) -> None:
        """Write the context's (possibly refreshed) cookies to its session file, 0600. A file replaced
        on disk since the pool loaded or saved it (a newer login) is left as it is."""
        if entry.closed or entry.file_sig != _file_sig(entry.session_file):
            return
        try:
            write_private_json(entry.context.storage_state(), entry.session_file)
        except (PlaywrightError, OSError) as exc:
            log.warning("could not save the session file: %s", type(exc).__name__)
            return
        entry.file_sig = _file_sig(entry.session_file)

    def sweep(self) -> int:
        """Save and close the contexts idle longer than ``idle_s``; returns how many were closed."""
        now = self.clock.monotonic()
        stale = [e for e in self._contexts.values() if e.users == 0 and now - e.last_used >= self.idle_s]
        for entry in stale:
            self._close_entry(entry, save=True)
        self.stats.idle_closed += len(stale)
        return len(stale)

    def close(self) -> None:
        """Save and close every context, then stop the browser (idempotent)."""
        if self._closed:
            return
        self._check_thread()
        self._shutdown()
        self._closed = True
        _unregister(self)

    # -- inside -------------------------------------------------------------------------------------
    def _check_thread(self) -> None:
        if self._closed:
            raise RuntimeError("this browser pool is closed")
        if self._browser is not None and self._owner != threading.get_ident():
            raise RuntimeError("a browser pool is used only by the thread that launched its browser")

    def _alive(self) -> bool:
        """The browser is connected. A killed Chromium is noticed on a round trip to it (Playwright
        delivers the disconnect while it waits), so one cheap call is made before trusting the flag."""
        if self._browser is None or not self._browser.is_connected():
            return False
        try:
            self._browser.contexts[0].cookies("http://localhost/") if self._browser.contexts else None
        except PlaywrightError:
            return False
        return self._browser.is_connected()

    def _ensure_browser(self, timeout_ms: float) -> bool:
        if self._browser is not None and self._alive():
            return False
        dead = self._browser is not None
        self._shutdown()
        self._pw = _Driver.acquire()
        self._browser = self._pw.chromium.launch(
            executable_path=self.executable, headless=self.headless, args=LAUNCH_ARGS, timeout=timeout_ms
        )
        self._owner = threading.get_ident()
        self.generation += 1
        self.stats.launches += 1
        if dead:
            self.stats.relaunches += 1
            log.warning("the shared Chromium had died; relaunched it (its accounts re-open their sessions)")
        return True

    def _new_context(self, session_file: Path) -> BrowserContext:
        assert self._browser is not None
        register_secret(*session_cookies(session_file))
        return self._browser.new_context(storage_state=str(session_file))

    def _make_room(self) -> None:
        """Under the cap: close the least recently used idle context, or refuse when all are in use."""
        while len(self._contexts) >= self.max_contexts:
            idle = next((e for e in self._contexts.values() if e.users == 0), None)
            if idle is None:
                self.stats.refused += 1
                raise PoolFull(
                    f"all {self.max_contexts} browser contexts of this worker are in use "
                    "(XBOT_BROWSER_MAX_CONTEXTS); retry later"
                )
            self._close_entry(idle, save=True)
            self.stats.evicted += 1

    def _close_entry(self, entry: PooledContext, *, save: bool) -> None:
        if entry.closed:
            return
        if save and entry.generation == self.generation:
            self.save(entry)
        entry.closed = True
        if self._contexts.get(entry.key) is entry:
            del self._contexts[entry.key]
        with contextlib.suppress(PlaywrightError):
            entry.context.close()

    def _shutdown(self) -> None:
        for entry in list(self._contexts.values()):
            self._close_entry(entry, save=self._browser is not None and self._browser.is_connected())
        if self._browser is not None:
            with contextlib.suppress(PlaywrightError):
                self._browser.close()
            self._browser = None
        if self._pw is not None:
            self._pw = None
            _Driver.release()


# -- the thread's shared pools and the exit hook -----------------------------------------------------
_local = threading.local()
_all: set[BrowserPool] = set()
_all_lock = threading.Lock()


def shared_pool(
    executable: str | None,
    headless: bool = True,
    *,
    max_contexts: int | None = None,
    idle_s: float | None = None,
) -> BrowserPool:
    """The calling thread's pool for this browser, created on first use; limits given here apply from
    now on (None: left as they are, the defaults for a new pool)."""
    pools: dict[tuple[str | None, bool], BrowserPool] = _local.__dict__.setdefault("pools", {})
    key = (pick_executable(executable), headless)
    pool = pools.get(key)
    if pool is None or pool._closed:
        pool = pools[key] = BrowserPool(executable, headless)
    if max_contexts is not None:
        pool.max_contexts = max(1, max_contexts)
    if idle_s is not None:
        pool.idle_s = idle_s
    return pool


def thread_pools() -> list[BrowserPool]:
    """The calling thread's open shared pools."""
    pools: dict[tuple[str | None, bool], BrowserPool] = _local.__dict__.get("pools", {})
    return [p for p in pools.values() if not p._closed]


def pool_report() -> dict[str, int]:
    """The calling thread's shared pools at a glance (a browser step's metadata): the process, browsers
    running and launched, contexts open and opened, evicted, closed idle, refused, accounts served."""
    pools = thread_pools()
    served: set[str] = set().union(*(p.stats.accounts for p in pools)) if pools else set()
    return {
        "pid": os.getpid(),
        "browsers_running": sum(p.running for p in pools),
        "launches": sum(p.stats.launches for p in pools),
        "relaunches": sum(p.stats.relaunches for p in pools),
        "contexts_open": sum(p.open_contexts for p in pools),
        "contexts_opened": sum(p.stats.opened for p in pools),
        "evicted": sum(p.stats.evicted for p in pools),
        "idle_closed": sum(p.stats.idle_closed for p in pools),
        "refused": sum(p.stats.refused for p in pools),
        "accounts_served": len(served),
    }


def close_shared_pools() -> None:
    """Close the calling thread's shared pools (their contexts saved, Chromium stopped)."""
    for pool in thread_pools():
        pool.close()
    _local.__dict__.pop("pools", None)


def _register(pool: BrowserPool) -> None:
    with _all_lock:
        _all.add(pool)


def _unregister(pool: BrowserPool) -> None:
    with _all_lock:
        _all.discard(pool)


@atexit.register
def _close_at_exit() -> None:
    """Last resort at interpreter exit: never leave a pool's Chromium running."""
    with _all_lock:
        pools = list(_all)
    for pool in pools:
        if pool._browser is not None and pool._owner != threading.get_ident():
            continue  # another thread's Playwright cannot be driven from here; its driver ends with us
        try:
            pool.close()
        except Exception:
            log.warning("could not close a browser pool at exit")
