"""An account's browser session: its context from the worker's ``BrowserPool`` (one Chromium per worker
thread, one context per account), its page, saving refreshed cookies, and getting to a page of X.

The context is taken from the pool lazily, held while the session is open and given back (left open,
idle, for the account's next pass) by ``close()``; a session built without a pool gets a private one and
closes its Chromium with itself. Any visit that lands on the login page ends the operation as a rejected
session.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from xbot_pipeline.clock import SystemClock
from xbot_pipeline.publishing.base import Outcome, RootCause
from xbot_pipeline.publishing.browser.deadline import Deadline
from xbot_pipeline.publishing.browser.outcome import Abort, result
from xbot_pipeline.publishing.browser.pool import (
    DEBIAN_CHROMIUM,
    LAUNCH_ARGS,
    BrowserPool,
    PooledContext,
    PoolFull,
    pick_executable,
)

__all__ = ["DEBIAN_CHROMIUM", "LAUNCH_ARGS", "BrowserSession", "Timeouts", "pick_executable"]

log = logging.getLogger("xbot_pipeline.publishing.browser")

LOGGED_OUT = '[data-testid="loginButton"], a[href="/login"], a[href="/i/flow/login"]'
CONSENT = '[data-testid="BottomBar"], #consent, [aria-label="Cookie consent"]'
CONSENT_BUTTONS = ("Refuse non-essential cookies", "Accept all cookies", "Accept", "Close")


@dataclass
class Timeouts:
    """Seconds: a whole operation, one Playwright action, the short reads that recover a lost id."""

    operation_s: float
    action_s: float
    fallback_s: float


class BrowserSession:
    """One account's logged-in browser context: taken from the pool on first use, reused, given back once."""

    def __init__(
        self,
        web_url: str,
        session_file: Path | str,
        handle: str,
        *,
        executable: str | None,
        headless: bool,
        timeouts: Timeouts,
        pool: BrowserPool | None = None,
    ) -> None:
        self.web_url = web_url.rstrip("/")
        self.session_file = Path(session_file)
        self.handle = handle.lstrip("@")
        self.timeouts = timeouts
        self._own_pool = pool is None  # a private pool (its own Chromium) ends with this session
        self.pool = pool or BrowserPool(executable, headless)
        self.executable = self.pool.executable
        self.headless = self.pool.headless
        self.launches = 0  # browsers launched for this session (a private pool: benchmarks check it is 1)
        self.page: Page | None = None
        self._lease: PooledContext | None = None
        self._closed = False
        atexit.register(self._close_at_exit)

    @property
    def context(self) -> BrowserContext | None:
        return self._lease.context if self._lease is not None else None

    def open_page(self, deadline: Deadline | None = None) -> Page:
        """The page to work on: takes the account's context from the pool (launching the browser, or
        relaunching a dead one) when needed. A full pool ends the operation as retryable."""
        if self._closed:
            raise RuntimeError("this publisher is closed")
        if self._lease is not None and not self.pool.current(self._lease):
            self._give_back()  # its browser died or it was closed: take a fresh one
        if self._lease is None:
            try:
                self._lease, launched = self.pool.acquire(
                    self.session_file, deadline.left_ms() if deadline else 60_000
                )
            except PoolFull as exc:
                dl = deadline or Deadline(0, SystemClock())
                raise Abort(
                    result(Outcome.RETRYABLE, "browser_pool_full", RootCause.UNKNOWN, str(exc), dl)
                ) from None
            self.launches += launched
        if self.page is None or self.page.is_closed():
            self.page = self._lease.context.new_page()
        return self.page

    def drop_context(self) -> None:
        """Abort whatever the page was doing: close the page and the account's context (the browser
        stays; the next operation opens a fresh context from the session file)."""
        self._close_page()
        if self._lease is not None:
            lease, self._lease = self._lease, None
            self.pool.discard(lease)
            self.pool.release(lease)

    def save(self) -> None:
        """Keep the (possibly refreshed) cookies, 0600."""
        if self._lease is not None:
            self.pool.save(self._lease)

    def goto(self, page: Page, path: str, dl: Deadline) -> None:
        """Open ``path`` of X's web page; a login page ends the operation (the session is gone)."""
        page.goto(
            self.web_url + path, wait_until="domcontentloaded", timeout=dl.left_ms(self.timeouts.action_s)
        )
        if "/i/flow/login" in page.url or "/login" in page.url or page.locator(LOGGED_OUT).count() > 0:
            raise Abort(
                result(
                    Outcome.REJECTED,
                    "session_expired",
                    RootCause.SESSION,
                    "logged out: the saved session is no longer valid; log in and save the session again",
                    dl,
                )
            )

    def clear_consent(self, page: Page, dl: Deadline) -> None:
        """Dismiss a cookie/consent layer covering the page, or end the operation as retryable."""
        layer = page.locator(CONSENT)
        if layer.count() == 0 or not layer.first.is_visible():
            return
        for label in CONSENT_BUTTONS:
            button = layer.first.get_by_role("button", name=label)
            if button.count():
                button.first.click(timeout=dl.left_ms(2))
                break
        try:
            layer.first.wait_for(state="hidden", timeout=dl.left_ms(1.5))
        except PlaywrightTimeout:
            raise Abort(
                result(
                    Outcome.RETRYABLE,
                    "consent_wall",
                    RootCause.PAGE_CHANGED,
                    "a consent layer covers the page and could not be dismissed",
                    dl,
                )
            ) from None

    def _close_page(self) -> None:
        if self.page is not None:
            with contextlib.suppress(PlaywrightError):
                self.page.close()
        self.page = None

    def _give_back(self) -> None:
        self._close_page()
        if self._lease is not None:
            lease, self._lease = self._lease, None
            self.pool.release(lease)

    def close(self) -> None:
        """Save the cookies, close the page and give the context back to the pool (it stays open, idle);
        a private pool's Chromium is stopped (idempotent)."""
        if self._closed:
            return
        try:
            self.save()
            self._give_back()
        finally:
            if self._own_pool:
                self.pool.close()
            self._closed = True
            atexit.unregister(self._close_at_exit)

    def _close_at_exit(self) -> None:
        """Last resort at interpreter exit: never let a forgotten publisher leave Chromium running."""
        try:
            self.close()
        except Exception:  # a publisher from another thread cannot be closed here; the OS reaps it
            log.warning("could not close a browser publisher at exit")
