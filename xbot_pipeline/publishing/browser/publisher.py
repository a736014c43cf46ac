"""``BrowserPublisher``: the ``Publisher`` on X's web page, put together from its parts.

``lifecycle`` (the browser and the saved session), ``composer`` (posting and its outcome), ``chain``
(threads without the thread composer), ``answers`` (the page's GraphQL answers, X's errors through
``x_errors``) and ``reads`` (timeline, counts, followers). The account's own browser context, reused
across posts: from a worker's shared ``BrowserPool`` (one Chromium for many accounts) when one is given,
else from a private pool (its own Chromium, stopped by ``close()``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from xbot_pipeline.clock import Clock, SystemClock
from xbot_pipeline.publishing.base import (
    Outcome,
    PostRequest,
    PublicMetrics,
    PublishResult,
    RootCause,
    TimelinePost,
)
from xbot_pipeline.publishing.browser.chain import publish_chain
from xbot_pipeline.publishing.browser.composer import Composer
from xbot_pipeline.publishing.browser.deadline import Deadline
from xbot_pipeline.publishing.browser.lifecycle import BrowserSession, Timeouts
from xbot_pipeline.publishing.browser.outcome import NoThreadComposer, result
from xbot_pipeline.publishing.browser.pool import BrowserPool
from xbot_pipeline.publishing.browser.reads import PageReads
from xbot_pipeline.publishing.session import SessionFileError, read_session


class BrowserPublisher:
    name = "browser"

    def __init__(
        self,
        web_url: str,
        session_file: Path | str,
        handle: str,
        *,
        executable: str | None = None,
        headless: bool = True,
        clock: Clock | None = None,
        op_timeout_s: float = 90.0,
        action_timeout_s: float = 15.0,
        fallback_timeout_s: float = 5.0,
        pool: BrowserPool | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.timeouts = Timeouts(op_timeout_s, action_timeout_s, fallback_timeout_s)
        self.session = BrowserSession(
            web_url,
            session_file,
            handle,
            executable=executable,
            headless=headless,
            timeouts=self.timeouts,
            pool=pool,
        )
        self._composer = Composer(self.session, self.clock)
        self._reads = PageReads(self.session, self.clock)

    # the settings callers and tests read (and tests change between operations)
    @property
    def op_timeout_s(self) -> float:
        return self.timeouts.operation_s

    @op_timeout_s.setter
    def op_timeout_s(self, seconds: float) -> None:
        self.timeouts.operation_s = seconds

    @property
    def handle(self) -> str:
        return self.session.handle

    @property
    def session_file(self) -> Path:
        return self.session.session_file

    @property
    def executable(self) -> str | None:
        return self.session.executable

    @property
    def launches(self) -> int:
        """How many browsers were launched for this publisher: 1 with a private pool once it ran; with a
        shared pool, 1 only when it found no running Chromium (the pool's ``launches`` counts them all)."""
        return self.session.launches

    # -- Publisher ---------------------------------------------------------------------------------
    def publish(self, request: PostRequest) -> PublishResult:
        dl = Deadline(self.timeouts.operation_s, self.clock)
        if self.session.context is None:  # checked before the browser opens it (it is read once)
            try:
                read_session(self.session.session_file)
            except SessionFileError as exc:
                missing = not self.session.session_file.exists()
                kind = "session_missing" if missing else "session_invalid"
                return result(Outcome.REJECTED, kind, RootCause.SESSION, str(exc), dl)
        try:
            return self._composer.submit(request, dl)
        except NoThreadComposer:  # nothing was submitted: post the parts as a chain of replies instead
            return publish_chain(self._composer, request, dl)

    def signed_in_handle(self) -> str | None:
        return self._reads.signed_in_handle()

    def recent_posts(self, limit: int = 50, since: datetime | None = None) -> list[TimelinePost]:
        return self._reads.recent_posts(limit, since)

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, PublicMetrics]:
        return self._reads.fetch_metrics(tweet_ids)

    def followers_count(self) -> int | None:
        return self._reads.followers_count()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> BrowserPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
