"""Scraping reads from X's web page: the account's recent posts, a post's public counts, the follower
count. A read never raises for what the page does: it logs and returns its empty answer."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from xbot_pipeline.clock import Clock
from xbot_pipeline.events.redact import redact_text
from xbot_pipeline.publishing.base import PublicMetrics, TimelinePost, TimelinePosts
from xbot_pipeline.publishing.browser.answers import Answers, read_quotes
from xbot_pipeline.publishing.browser.deadline import Deadline, OperationTimeout
from xbot_pipeline.publishing.browser.lifecycle import BrowserSession
from xbot_pipeline.publishing.browser.outcome import Abort

log = logging.getLogger("xbot_pipeline.publishing.browser")

STATUS_ID = re.compile(r"/status/(\d{15,20})")
ARTICLE = 'article[data-testid="tweet"]'
EMPTY_STATE = '[data-testid="emptyState"]'  # X's "@x hasn't posted"
SCROLL_WAIT_S = 2.0  # how long a scroll may take to load the next batch before the read calls it the end
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

T = TypeVar("T")


def profile_posts(
    session: BrowserSession,
    page: Page,
    dl: Deadline,
    clock: Clock,
    limit: int = 50,
    since: datetime | None = None,
) -> TimelinePosts:
    """The posts on the account's profile page, newest first, scrolling as X needs it.

    X renders a handful of articles and loads more as you scroll: keep scrolling until ``limit`` posts,
    or (with ``since``) a post older than ``since`` shows, or a scroll loads nothing more. Only an empty
    profile (X's empty state) proves the account has nothing older than what was read; otherwise the read
    is complete back to its oldest post (``TimelinePosts.complete_since`` None). Time running out ends
    the scroll with what was read.
    """
    session.goto(page, f"/{session.handle}", dl)
    articles = page.locator(ARTICLE)
    posts: list[TimelinePost] = []
    parsed = 0
    try:
        while len(posts) < limit:
            count = articles.count()
            for index in range(parsed, count):
                post = _article_post(articles.nth(index), dl, clock)
                if post is not None:
                    posts.append(post)
            parsed = count
            if len(posts) >= limit or (since and posts and min(p.created_at for p in posts) < since):
                break
            if count == 0 and page.locator(EMPTY_STATE).count():
                return TimelinePosts([], EPOCH)
            if not _scroll_for_more(page, articles, count, dl):
                break
    except OperationTimeout:
        log.warning("browser recent_posts: time ran out after %d post(s); the read stops there", len(posts))
    return TimelinePosts(posts[:limit])


def _article_post(item: Locator, dl: Deadline, clock: Clock) -> TimelinePost | None:
    href = item.locator('a[href*="/status/"]:has(time)').first.get_attribute("href", timeout=dl.left_ms(2))
    found = STATUS_ID.search(href or "")
    if not found:
        return None
    text = item.locator('[data-testid="tweetText"]').first.inner_text(timeout=dl.left_ms(2))
    stamp = item.locator("time").first.get_attribute("datetime", timeout=dl.left_ms(2)) or ""
    parent_link = item.locator('[data-testid="replyingTo"] a')
    parent = STATUS_ID.search(parent_link.first.get_attribute("href") or "") if parent_link.count() else None
    created = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else clock.now()
    return TimelinePost(found.group(1), text, created, parent.group(1) if parent else None)


def _scroll_for_more(page: Page, articles: Locator, count: int, dl: Deadline) -> bool:
    """Scroll to the end and wait (bounded) for more articles; False when none came."""
    page.mouse.wheel(0, 4000)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    waited = Deadline(SCROLL_WAIT_S, dl.clock)
    while articles.count() <= count:
        try:
            waited.pause(page, 0.05)
        except OperationTimeout:
            return False
        dl.left_ms()  # the operation's own deadline still bounds the wait
    return True


class PageReads:
    """The reads of one account's page, each within an operation deadline."""

    def __init__(self, session: BrowserSession, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def _read(self, what: str, fn: Callable[[Page, Deadline], T], default: T) -> T:
        dl = Deadline(self.session.timeouts.operation_s, self.clock)
        try:
            return fn(self.session.open_page(dl), dl)
        except Abort as exc:
            log.warning("browser %s: %s", what, exc.result.message)
        except (OperationTimeout, PlaywrightTimeout, PlaywrightError) as exc:
            self.session.drop_context()
            log.warning(
                "browser %s failed: %s", what, redact_text(str(exc).splitlines()[0] if str(exc) else "")
            )
        return default

    def recent_posts(self, limit: int = 50, since: datetime | None = None) -> list[TimelinePost]:
        return self._read(
            "recent_posts",
            lambda page, dl: profile_posts(self.session, page, dl, self.clock, limit, since),
            [],
        )

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, PublicMetrics]:
        """Counts from each status page; quotes from the page's own ``TweetDetail`` answer."""

        def read(page: Page, dl: Deadline) -> dict[str, PublicMetrics]:
            details = Answers("/TweetDetail")
            with details.listening(page):
                return {
                    tweet_id: found
                    for tweet_id in tweet_ids
                    if (found := self._status_metrics(page, tweet_id, details, dl)) is not None
                }

        return self._read("fetch_metrics", read, {})

    def followers_count(self) -> int | None:
        def read(page: Page, dl: Deadline) -> int | None:
            self.session.goto(page, f"/{self.session.handle}", dl)
            link = page.locator('a[href$="/verified_followers"], a[href$="/followers"]')
            if link.count() == 0:
                return None
            found = re.search(r"([\d,]+)", link.first.inner_text(timeout=dl.left_ms(2)))
            return int(found.group(1).replace(",", "")) if found else None

        return self._read("followers_count", read, None)

    def signed_in_handle(self) -> str | None:
        """The signed-in user's handle, from the page's own profile link; None when the page has none."""

        def read(page: Page, dl: Deadline) -> str | None:
            self.session.goto(page, "/home", dl)
            link = page.locator('[data-testid="AppTabBar_Profile_Link"]')
            if link.count() == 0:
                return None
            href = link.first.get_attribute("href", timeout=dl.left_ms(2)) or ""
            return href.strip("/").split("/")[0] or None

        return self._read("signed_in_handle", read, None)

    def _status_metrics(
        self, page: Page, tweet_id: str, details: Answers, dl: Deadline
    ) -> PublicMetrics | None:
        details.responses.clear()
        try:
            self.session.goto(page, f"/i/status/{tweet_id}", dl)
        except PlaywrightTimeout:
            return None
        art = page.locator(f'article[data-post-id="{tweet_id}"], {ARTICLE}').first
        if art.count() == 0:
            return None

        def label_count(selector: str) -> int:
            loc = art.locator(selector)
            if loc.count() == 0:
                return 0
            label = loc.first.get_attribute("aria-label", timeout=dl.left_ms(2)) or ""
            found = re.match(r"\s*([\d,]+)", label)
            return int(found.group(1).replace(",", "")) if found else 0

        return PublicMetrics(
            tweet_id=tweet_id,
            impressions=label_count('a[href$="/analytics"]'),
            likes=label_count('[data-testid="like"]'),
            reposts=label_count('[data-testid="retweet"]'),
            replies=label_count('[data-testid="reply"]'),
            quotes=self._detail_quotes(page, tweet_id, details, dl),
            bookmarks=label_count('[data-testid="bookmark"]'),
        )

    def _detail_quotes(self, page: Page, tweet_id: str, details: Answers, dl: Deadline) -> int:
        """The quote count from the page's TweetDetail answer; 0 when none came (documented limitation)."""
        wait = Deadline(min(2.0, self.session.timeouts.fallback_s, max(0.1, dl.left_ms() / 1000)), self.clock)
        read = 0
        while True:
            while read < len(details.responses):
                value = read_quotes(details.responses[read], tweet_id)
                read += 1
                if value is not None:
                    return value
            try:
                wait.pause(page, 0.025)
            except OperationTimeout:
                log.debug("no TweetDetail answer for %s: quotes read as 0", tweet_id)
                return 0
