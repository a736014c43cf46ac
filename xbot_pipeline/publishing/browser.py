"""The browser publisher: Playwright (sync) on X's web page, one browser per instance, reused across posts.

- Session: a Playwright storage state (``XBOT_SESSION_FILE``); every page visit checks for the login page.
- The id: the GraphQL ``CreateTweet`` answer (listened for before clicking), then the "sent" toast's
  link, then the newest matching post on the profile page.
- Every operation has a deadline; every Playwright call gets the time left. When time runs out the page
  and context are closed (the operation cannot go on beside the next one) and the outcome is UNKNOWN if
  the post button had been clicked, RETRYABLE otherwise.
- The browser launches lazily and is closed by ``close()`` / ``__exit__`` (and on interpreter exit).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Response, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from xbot_pipeline.clock import Clock, SystemClock
from xbot_pipeline.events.redact import redact_text, register_secret
from xbot_pipeline.publishing.base import (
    Outcome,
    PostRequest,
    PublicMetrics,
    PublishResult,
    RootCause,
    TimelinePost,
)
from xbot_pipeline.publishing.chain import publish_chain
from xbot_pipeline.publishing.detail import quote_count
from xbot_pipeline.publishing.session import session_cookies, write_session_file

log = logging.getLogger("xbot_pipeline.publishing.browser")

DEBIAN_CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--disable-gpu", "--disable-quic", "--no-sandbox"]
LOGGED_OUT = '[data-testid="loginButton"], a[href="/login"], a[href="/i/flow/login"]'
CONSENT = '[data-testid="BottomBar"], #consent, [aria-label="Cookie consent"]'
CONSENT_BUTTONS = ("Refuse non-essential cookies", "Accept all cookies", "Accept", "Close")
TEXTBOX = ('[data-testid="tweetTextarea_{i}"]', 'div[role="textbox"][contenteditable="true"] >> nth={i}')
POST_BUTTONS = (
    '[data-testid="tweetButtonInline"]',
    '[data-testid="tweetButton"]',
    '[data-testid="toolBar"] button:has-text("Post")',
    'button[aria-label="Post"]',
)
TOAST_LINK = '[data-testid="toast"] a[href*="/status/"]'
STATUS_ID = re.compile(r"/status/(\d{15,20})")


class OperationTimeout(Exception):
    """The operation's deadline passed."""


class NoThreadComposer(Exception):
    """The thread composer has no add button (X's other layout); nothing has been submitted."""


class Abort(Exception):
    """A definite answer found mid-operation (carries the result)."""

    def __init__(self, result: PublishResult) -> None:
        super().__init__(result.message)
        self.result = result


@dataclass
class Deadline:
    seconds: float
    started: float = field(default_factory=time.monotonic)

    def left_ms(self, cap_s: float | None = None) -> float:
        left = self.seconds - (time.monotonic() - self.started)
        if left <= 0.05:
            raise OperationTimeout(f"deadline of {self.seconds:.1f} s passed")
        return 1000 * (min(left, cap_s) if cap_s else left)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class _Driver:
    """One Playwright driver per thread, shared by every publisher on it (Playwright allows only one)."""

    _local = threading.local()

    @classmethod
    def acquire(cls) -> Playwright:
        if getattr(cls._local, "users", 0) == 0:
            cls._local.pw = sync_playwright().start()
            cls._local.users = 0
        cls._local.users += 1
        return cls._local.pw

    @classmethod
    def release(cls) -> None:
        cls._local.users = max(0, getattr(cls._local, "users", 1) - 1)
        if cls._local.users == 0 and getattr(cls._local, "pw", None) is not None:
            pw, cls._local.pw = cls._local.pw, None
            with contextlib.suppress(PlaywrightError):
                pw.stop()


def pick_executable(configured: str | None) -> str | None:
    """The configured browser, else Debian's chromium, else Playwright's own download (None)."""
    if configured:
        return configured
    return DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).exists() else None


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


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
    ) -> None:
        self.web_url = web_url.rstrip("/")
        self.session_file = Path(session_file)
        self.handle = handle.lstrip("@")
        self.executable = pick_executable(executable)
        self.headless = headless
        self.clock = clock or SystemClock()
        self.op_timeout_s = op_timeout_s
        self.action_timeout_s = action_timeout_s
        self.fallback_timeout_s = fallback_timeout_s
        self.launches = 0  # how many browsers this instance started (benchmarks check it is 1)
        self._pw: Playwright | None = None
        self._browser: Browser | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._closed = False
        atexit.register(self._close_at_exit)

    # -- browser lifecycle ---------------------------------------------------------------------------
    def _ensure_page(self, deadline: Deadline | None = None) -> Page:
        if self._closed:
            raise RuntimeError("this publisher is closed")
        if self._browser is None or not self._browser.is_connected():
            self._shutdown_browser()
            self._pw = _Driver.acquire()
            self._browser = self._pw.chromium.launch(
                executable_path=self.executable,
                headless=self.headless,
                args=LAUNCH_ARGS,
                timeout=deadline.left_ms() if deadline else 60_000,
            )
            self.launches += 1
        if self._context is None:
            register_secret(*session_cookies(self.session_file))
            self._context = self._browser.new_context(storage_state=str(self.session_file))
        if self._page is None or self._page.is_closed():
            self._page = self._context.new_page()
        return self._page

    def _drop_context(self) -> None:
        """Abort whatever the page was doing: close the page and its context."""
        for closable in (self._page, self._context):
            if closable is not None:
                with contextlib.suppress(PlaywrightError):
                    closable.close()
        self._page = self._context = None

    def _save_session(self) -> None:
        """Keep the (possibly refreshed) cookies, 0600."""
        if self._context is None:
            return
        try:
            write_session_file(self._context.storage_state(), self.session_file)  # type: ignore[arg-type]
        except (PlaywrightError, OSError) as exc:
            log.warning("could not save the session file: %s", type(exc).__name__)

    def _shutdown_browser(self) -> None:
        self._drop_context()
        if self._browser is not None:
            with contextlib.suppress(PlaywrightError):
                self._browser.close()
            self._browser = None
        if self._pw is not None:
            self._pw = None
            _Driver.release()

    def close(self) -> None:
        if self._closed:
            return
        self._save_session()
        self._shutdown_browser()
        self._closed = True
        atexit.unregister(self._close_at_exit)

    def _close_at_exit(self) -> None:
        """Last resort at interpreter exit: never let a forgotten publisher leave Chromium running."""
        try:
            self.close()
        except Exception:  # a publisher from another thread cannot be closed here; the OS reaps it
            log.warning("could not close a browser publisher at exit")

    def __enter__(self) -> BrowserPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -----------------------------------------------------------------------------------
    def _result(
        self,
        outcome: Outcome,
        error_type: str | None,
        root: RootCause | None,
        message: str,
        dl: Deadline,
        **kw: Any,
    ) -> PublishResult:
        return PublishResult(
            outcome,
            error_type=error_type,
            root_cause=root,
            message=redact_text(message),
            elapsed_s=dl.elapsed,
            **kw,
        )

    def _goto(self, page: Page, path: str, dl: Deadline) -> None:
        page.goto(
            self.web_url + path, wait_until="domcontentloaded", timeout=dl.left_ms(self.action_timeout_s)
        )
        if "/i/flow/login" in page.url or "/login" in page.url or page.locator(LOGGED_OUT).count() > 0:
            raise Abort(
                self._result(
                    Outcome.REJECTED,
                    "session_expired",
                    RootCause.SESSION,
                    "logged out: the saved session is no longer valid; log in and save the session again",
                    dl,
                )
            )

    def _clear_consent(self, page: Page, dl: Deadline) -> None:
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
                self._result(
                    Outcome.RETRYABLE,
                    "consent_wall",
                    RootCause.PAGE_CHANGED,
                    "a consent layer covers the page and could not be dismissed",
                    dl,
                )
            ) from None

    def _textbox(self, scope: Page | Any, index: int, dl: Deadline) -> Any:
        for pattern in TEXTBOX:
            box = scope.locator(pattern.format(i=index))
            if box.count() and box.first.is_visible():
                return box.first
        try:  # the page may still be rendering: wait for the primary or the generic textbox
            combined = scope.locator(
                f'{TEXTBOX[0].format(i=index)}, div[role="textbox"][contenteditable="true"]'
            )
            combined.nth(index if index else 0).wait_for(
                state="visible", timeout=dl.left_ms(self.action_timeout_s)
            )
            return combined.nth(index if index else 0)
        except PlaywrightTimeout:
            raise Abort(
                self._result(
                    Outcome.RETRYABLE,
                    "composer_not_found",
                    RootCause.PAGE_CHANGED,
                    "the composer text box was not found (page layout changed?)",
                    dl,
                )
            ) from None

    def _post_button(self, scope: Page | Any, dl: Deadline) -> Any:
        button = scope.locator(", ".join(POST_BUTTONS)).first
        try:
            button.wait_for(state="visible", timeout=dl.left_ms(self.action_timeout_s))
        except PlaywrightTimeout:
            raise Abort(
                self._result(
                    Outcome.RETRYABLE,
                    "post_button_not_found",
                    RootCause.PAGE_CHANGED,
                    "the post button was not found (page layout changed?)",
                    dl,
                )
            ) from None
        return button

    # -- publish -----------------------------------------------------------------------------------
    def publish(self, request: PostRequest) -> PublishResult:
        dl = Deadline(self.op_timeout_s)
        if not self.session_file.exists():
            return self._result(
                Outcome.REJECTED,
                "session_missing",
                RootCause.SESSION,
                f"no session file at {self.session_file}: save a logged-in storage state first",
                dl,
            )
        try:
            return self._publish_in(request, dl)
        except NoThreadComposer:  # nothing was submitted: post the parts as a chain of replies instead
            return publish_chain(self, request, dl)

    def _publish_in(self, request: PostRequest, dl: Deadline) -> PublishResult:
        """One submit (a single, a reply, or a whole thread from the thread composer) within ``dl``."""
        submitted = False
        responses: list[Response] = []
        failed: list[str] = []
        try:
            page = self._ensure_page(dl)

            def on_response(response: Response) -> None:
                if "/CreateTweet" in response.url:
                    responses.append(response)

            def on_failed(req: Any) -> None:
                if "/CreateTweet" in req.url:
                    failed.append(req.failure or "failed")

            page.on("response", on_response)
            page.on("requestfailed", on_failed)
            try:
                scope = self._open_composer(page, request, dl)
                button = self._post_button(scope, dl)
                # a trial click waits until the button is enabled and clickable without clicking it
                button.click(trial=True, timeout=dl.left_ms(self.action_timeout_s))
                submitted = True  # from the click on, the post may be live
                button.click(timeout=dl.left_ms(self.action_timeout_s))
                return self._await_outcome(page, request, responses, failed, dl)
            finally:
                if not page.is_closed():
                    page.remove_listener("response", on_response)
                    page.remove_listener("requestfailed", on_failed)
        except Abort as done:
            return done.result
        except (OperationTimeout, PlaywrightTimeout) as exc:
            self._drop_context()
            return self._timeout_result(submitted, exc, dl)
        except PlaywrightError as exc:
            self._drop_context()
            outcome = Outcome.UNKNOWN if submitted else Outcome.RETRYABLE
            return self._result(
                outcome,
                "browser_error",
                RootCause.NETWORK,
                f"browser error {'after' if submitted else 'before'} submitting: {str(exc).splitlines()[0]}",
                dl,
            )

    def _timeout_result(self, submitted: bool, exc: Exception, dl: Deadline) -> PublishResult:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if submitted:
            return self._result(
                Outcome.UNKNOWN,
                "timeout_after_submit",
                RootCause.NETWORK,
                f"timed out after clicking post ({first_line}): the post may be live; reconcile",
                dl,
            )
        return self._result(
            Outcome.RETRYABLE,
            "browser_timeout",
            RootCause.NETWORK,
            f"timed out before submitting ({first_line})",
            dl,
        )

    def _open_composer(self, page: Page, request: PostRequest, dl: Deadline) -> Page | Any:
        """Navigate, check the session, clear consent layers and type every part; returns the scope."""
        if request.kind == "reply":
            if not request.reply_to:
                raise Abort(
                    self._result(Outcome.REJECTED, "invalid_request", None, "a reply needs reply_to", dl)
                )
            self._goto(page, f"/i/status/{request.reply_to}", dl)
            self._clear_consent(page, dl)
            article = page.locator('article[data-testid="tweet"]').first
            article.wait_for(state="visible", timeout=dl.left_ms(self.action_timeout_s))
            reply = article.locator('[data-testid="reply"]')
            try:  # the action bar renders with the post: a short wait tells "no reply button" apart
                reply.wait_for(state="visible", timeout=dl.left_ms(min(2.0, self.fallback_timeout_s)))
            except PlaywrightTimeout:
                raise Abort(
                    self._result(
                        Outcome.RETRYABLE,
                        "composer_not_found",
                        RootCause.PAGE_CHANGED,
                        "the post has no reply button (page layout changed?)",
                        dl,
                    )
                ) from None
            reply.click(timeout=dl.left_ms(self.action_timeout_s))
            scope: Any = page.locator('[role="dialog"]').last
            self._textbox(scope, 0, dl).fill(request.text, timeout=dl.left_ms(self.action_timeout_s))
            return scope
        if request.kind == "thread" and len(request.parts) > 1:
            self._goto(page, "/compose/post", dl)
            self._clear_consent(page, dl)
            self._textbox(page, 0, dl).fill(request.parts[0], timeout=dl.left_ms(self.action_timeout_s))
            for index, part in enumerate(request.parts[1:], start=1):
                add = page.locator('[data-testid="addButton"]')
                if add.count() == 0:  # X's other layout: nothing typed is sent, fall back to a chain
                    raise NoThreadComposer("the thread composer has no add button")
                add.first.click(timeout=dl.left_ms(self.action_timeout_s))
                self._textbox(page, index, dl).fill(part, timeout=dl.left_ms(self.action_timeout_s))
            return page
        self._goto(page, "/home", dl)
        self._clear_consent(page, dl)
        self._textbox(page, 0, dl).fill(request.text, timeout=dl.left_ms(self.action_timeout_s))
        return page

    def _await_outcome(
        self, page: Page, request: PostRequest, responses: list[Response], failed: list[str], dl: Deadline
    ) -> PublishResult:
        """Read the CreateTweet answers in order until every part has an id or something definite failed."""
        ids: list[str] = []
        read = 0
        while True:
            while read < len(responses):
                response = responses[read]
                read += 1
                verdict = self._read_create(response, dl)
                if isinstance(verdict, str):
                    ids.append(verdict)
                    continue
                if verdict is None:  # created but no id in the answer (or the answer was cut)
                    return self._recover_id(page, request, ids, dl)
                return self._partial(verdict, ids, request, dl)
            if len(ids) == len(request.parts):
                self._save_session()
                return self._result(
                    Outcome.POSTED,
                    None,
                    None,
                    f"posted {len(ids)} part(s)",
                    dl,
                    tweet_id=ids[0],
                    tweet_ids=ids,
                )
            if failed and read >= len(responses):
                return self._recover_id(page, request, ids, dl)
            page.wait_for_timeout(min(25, dl.left_ms()))

    def _read_create(self, response: Response, dl: Deadline) -> str | PublishResult | None:
        status = response.status
        try:
            body = response.json()
        except (PlaywrightError, ValueError):
            return None if status < 300 else self._http_failure(status, {}, response, dl)
        if status >= 300 or body.get("errors"):
            return self._http_failure(status, body, response, dl)
        result = (((body.get("data") or {}).get("create_tweet") or {}).get("tweet_results") or {}).get(
            "result"
        )
        rest_id = (result or {}).get("rest_id")
        return str(rest_id) if rest_id else None

    def _http_failure(
        self, status: int, body: dict[str, Any], response: Response, dl: Deadline
    ) -> PublishResult:
        errors = body.get("errors") or [{}]
        code, message = errors[0].get("code"), str(errors[0].get("message", ""))
        if status == 429 or code == 88:
            reset = response.headers.get("x-rate-limit-reset")
            retry_after = datetime.fromtimestamp(int(reset), tz=UTC) if reset and reset.isdigit() else None
            return self._result(
                Outcome.RETRYABLE,
                "rate_limited",
                RootCause.RATE_LIMIT,
                f"HTTP {status} (code 88): {message}",
                dl,
                retry_after=retry_after,
            )
        if code == 226 or "automated" in message.lower():
            return self._result(
                Outcome.REJECTED, "automation_block", RootCause.AUTOMATION_BLOCK, f"226: {message}", dl
            )
        if code == 187 or "duplicate" in message.lower():
            return self._result(
                Outcome.REJECTED,
                "duplicate_content",
                RootCause.DUPLICATE,
                f"duplicate content (187): maybe already posted: reconcile ({message})",
                dl,
            )
        if status in (401, 403) and code in (32, 353):
            return self._result(
                Outcome.REJECTED, "session_expired", RootCause.SESSION, f"HTTP {status}: {message}", dl
            )
        if status >= 500:
            return self._result(
                Outcome.RETRYABLE, f"http_{status}", RootCause.NETWORK, f"HTTP {status}: {message}", dl
            )
        return self._result(
            Outcome.REJECTED, f"http_{status}", RootCause.UNKNOWN, f"HTTP {status} {code}: {message}", dl
        )

    def _partial(
        self, failure: PublishResult, ids: list[str], request: PostRequest, dl: Deadline
    ) -> PublishResult:
        if not ids:
            return failure
        return PublishResult(
            failure.outcome,
            tweet_id=ids[0],
            tweet_ids=ids,
            error_type=failure.error_type,
            root_cause=failure.root_cause,
            message=(
                f"part {len(ids) + 1} of {len(request.parts)} failed after {len(ids)} went out: "
                f"{failure.message}"
            ),
            retry_after=failure.retry_after,
            elapsed_s=dl.elapsed,
        )

    def _recover_id(self, page: Page, request: PostRequest, ids: list[str], dl: Deadline) -> PublishResult:
        """The answer for part ``len(ids) + 1`` had no id (or was cut): try the toast's link (a single
        post), then the profile. X's composer cannot reply to a part whose id it never got, so the parts
        after it were not sent: when the part is found, the rest are reported as not yet posted and the
        posting layer continues the thread from it (never claiming an unsent part is live)."""
        sent = False
        missing_at = len(ids)
        try:
            toast = page.locator('[data-testid="toast"]')
            toast.first.wait_for(state="attached", timeout=dl.left_ms(min(1.5, self.fallback_timeout_s)))
            text = toast.first.inner_text(timeout=dl.left_ms(1))
            sent = "sent" in text.lower()
            link = page.locator(TOAST_LINK)  # the link names the first part: only useful for a single
            if link.count() and not ids and len(request.parts) == 1:
                found = STATUS_ID.search(link.first.get_attribute("href") or "")
                if found:
                    ids.append(found.group(1))
                    self._save_session()
                    return self._result(
                        Outcome.POSTED,
                        None,
                        None,
                        "id from the sent toast",
                        dl,
                        tweet_id=ids[0],
                        tweet_ids=ids,
                    )
        except (PlaywrightTimeout, OperationTimeout):
            pass
        try:
            profile = self._profile_posts(
                page, Deadline(min(self.fallback_timeout_s, max(0.5, dl.left_ms() / 1000)))
            )
            for part in request.parts[len(ids) :]:  # the missing part, then any later ones that went out
                match = next(
                    (p for p in profile if _normal(p.text) == _normal(part) and p.tweet_id not in ids), None
                )
                if match is None:
                    break
                ids.append(match.tweet_id)
        except (PlaywrightTimeout, OperationTimeout, PlaywrightError, Abort):
            pass
        n = len(request.parts)
        if len(ids) == n:
            return self._result(
                Outcome.POSTED, None, None, "id from the profile page", dl, tweet_id=ids[0], tweet_ids=ids
            )
        if len(ids) > missing_at:  # the id-less part was found; what follows it never went out
            return self._result(
                Outcome.RETRYABLE,
                "thread_interrupted",
                RootCause.UNKNOWN,
                f"part {missing_at + 1} of {n} went out without its id (found on the profile); "
                f"parts {len(ids) + 1}-{n} were not sent: the thread continues from part {len(ids) + 1}",
                dl,
                tweet_id=ids[0],
                tweet_ids=ids,
            )
        if sent:  # X confirmed part missing_at + 1; recovery finds its id, then the thread continues
            return self._result(
                Outcome.POSTED_NO_ID,
                "missing_id",
                RootCause.UNKNOWN,
                "X confirmed the post but its id was not captured"
                + (f" (part {missing_at + 1} of {n})" if n > 1 else ""),
                dl,
                tweet_id=ids[0] if ids else None,
                tweet_ids=ids,
            )
        return self._result(
            Outcome.UNKNOWN,
            "answer_lost",
            RootCause.NETWORK,
            "the post answer was lost and the post was not found on the profile: reconcile",
            dl,
            tweet_id=ids[0] if ids else None,
            tweet_ids=ids,
        )

    # -- reads -------------------------------------------------------------------------------------
    def _profile_posts(self, page: Page, dl: Deadline) -> list[TimelinePost]:
        self._goto(page, f"/{self.handle}", dl)
        posts = []
        for item in page.locator('article[data-testid="tweet"]').all():
            href = item.locator('a[href*="/status/"]:has(time)').first.get_attribute(
                "href", timeout=dl.left_ms(2)
            )
            found = STATUS_ID.search(href or "")
            if not found:
                continue
            text = item.locator('[data-testid="tweetText"]').first.inner_text(timeout=dl.left_ms(2))
            stamp = item.locator("time").first.get_attribute("datetime", timeout=dl.left_ms(2)) or ""
            parent_link = item.locator('[data-testid="replyingTo"] a')
            parent = (
                STATUS_ID.search(parent_link.first.get_attribute("href") or "")
                if parent_link.count()
                else None
            )
            created = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else self.clock.now()
            posts.append(TimelinePost(found.group(1), text, created, parent.group(1) if parent else None))
        return posts

    def _read(self, what: str, fn: Any, default: Any) -> Any:
        dl = Deadline(self.op_timeout_s)
        try:
            return fn(self._ensure_page(dl), dl)
        except Abort as exc:
            log.warning("browser %s: %s", what, exc.result.message)
        except (OperationTimeout, PlaywrightTimeout, PlaywrightError) as exc:
            self._drop_context()
            log.warning(
                "browser %s failed: %s", what, redact_text(str(exc).splitlines()[0] if str(exc) else "")
            )
        return default

    def recent_posts(self, limit: int = 50) -> list[TimelinePost]:
        return self._read("recent_posts", lambda page, dl: self._profile_posts(page, dl)[:limit], [])

    def _status_metrics(
        self, page: Page, tweet_id: str, details: list[Response], dl: Deadline
    ) -> PublicMetrics | None:
        details.clear()
        try:
            self._goto(page, f"/i/status/{tweet_id}", dl)
        except PlaywrightTimeout:
            return None
        art = page.locator(f'article[data-post-id="{tweet_id}"], article[data-testid="tweet"]').first
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

    def _detail_quotes(self, page: Page, tweet_id: str, details: list[Response], dl: Deadline) -> int:
        """The quote count from the page's TweetDetail answer; 0 when none came (documented limitation)."""
        wait = Deadline(min(2.0, self.fallback_timeout_s, max(0.1, dl.left_ms() / 1000)))
        read = 0
        while True:
            while read < len(details):
                response = details[read]
                read += 1
                try:
                    value = quote_count(response.json(), tweet_id)
                except (PlaywrightError, ValueError):
                    continue
                if value is not None:
                    return value
            try:
                page.wait_for_timeout(min(25, wait.left_ms()))
            except OperationTimeout:
                log.debug("no TweetDetail answer for %s: quotes read as 0", tweet_id)
                return 0

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, PublicMetrics]:
        """Counts from each status page; quotes from the page's own ``TweetDetail`` answer (see detail.py)."""

        def read(page: Page, dl: Deadline) -> dict[str, PublicMetrics]:
            details: list[Response] = []

            def on_response(response: Response) -> None:
                if "/TweetDetail" in response.url:
                    details.append(response)

            page.on("response", on_response)
            try:
                return {
                    tweet_id: found
                    for tweet_id in tweet_ids
                    if (found := self._status_metrics(page, tweet_id, details, dl)) is not None
                }
            finally:
                if not page.is_closed():
                    page.remove_listener("response", on_response)

        return self._read("fetch_metrics", read, {})

    def followers_count(self) -> int | None:
        def read(page: Page, dl: Deadline) -> int | None:
            self._goto(page, f"/{self.handle}", dl)
            link = page.locator('a[href$="/verified_followers"], a[href$="/followers"]')
            if link.count() == 0:
                return None
            found = re.search(r"([\d,]+)", link.first.inner_text(timeout=dl.left_ms(2)))
            return int(found.group(1).replace(",", "")) if found else None

        return self._read("followers_count", read, None)
