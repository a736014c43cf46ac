"""The composer: type a single post, a reply or a whole thread on X's web page, click post, and read the
outcome from the page's ``CreateTweet`` answers.

The id comes from the ``CreateTweet`` answer (listened for before clicking), then the "sent" toast's
link, then the newest matching post on the profile page. From the click on, the post may be live: a
timeout after it is UNKNOWN, before it RETRYABLE, and the page and context are closed either way (the
operation cannot go on beside the next one).
"""

from __future__ import annotations

import logging

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from xbot_pipeline.clock import Clock
from xbot_pipeline.content.normalize import same_post_text
from xbot_pipeline.publishing.base import MediaItem, Outcome, PostRequest, PublishResult, RootCause
from xbot_pipeline.publishing.browser.answers import Answers, read_create
from xbot_pipeline.publishing.browser.deadline import Deadline, OperationTimeout
from xbot_pipeline.publishing.browser.lifecycle import BrowserSession
from xbot_pipeline.publishing.browser.outcome import Abort, NoThreadComposer, partial, result
from xbot_pipeline.publishing.browser.reads import ARTICLE, STATUS_ID, profile_posts

TEXTBOX = ('[data-testid="tweetTextarea_{i}"]', 'div[role="textbox"][contenteditable="true"] >> nth={i}')
POST_BUTTONS = (
    '[data-testid="tweetButtonInline"]',
    '[data-testid="tweetButton"]',
    '[data-testid="toolBar"] button:has-text("Post")',
    'button[aria-label="Post"]',
)
TOAST_LINK = '[data-testid="toast"] a[href*="/status/"]'
# X's media button is a hidden file input; each attached file shows in the attachments with a button that
# opens the description (alt text) sheet: a text area and a Save button.
FILE_INPUT = 'input[data-testid="fileInput"], input[type="file"]'
ATTACHMENT = '[data-testid="attachments"] [data-testid="attachment"]'
ALT_BUTTON = '[data-testid="altTextButton"], [aria-label="Add description"], a[href$="/media/edit"]'
ALT_INPUT = '[data-testid="altTextInput"], textarea[aria-label="Description"]'
ALT_SAVE = '[data-testid="endEditingButton"]'
ERROR_TOAST = '[data-testid="toast"] [data-testid="error"]'

Scope = Page | Locator  # the page, or the reply dialog on it
log = logging.getLogger("xbot_pipeline.publishing.browser")


class Composer:
    """Posts through one session's page; ``submit`` is one click of the post button."""

    def __init__(self, session: BrowserSession, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    @property
    def action_s(self) -> float:
        return self.session.timeouts.action_s

    @property
    def fallback_s(self) -> float:
        return self.session.timeouts.fallback_s

    def submit(self, request: PostRequest, dl: Deadline) -> PublishResult:
        """One submit (a single, a reply, or a whole thread from the thread composer) within ``dl``.
        Raises ``NoThreadComposer`` (nothing sent) when the thread composer has no add button."""
        submitted = False
        try:
            page = self.session.open_page(dl)
            with Answers("/CreateTweet").listening(page) as answers:
                scope = self._open_composer(page, request, dl)
                button = self._post_button(scope, dl)
                # a trial click waits until the button is enabled and clickable without clicking it
                button.click(trial=True, timeout=dl.left_ms(self.action_s))
                submitted = True  # from the click on, the post may be live
                button.click(timeout=dl.left_ms(self.action_s))
                return self._await_outcome(page, request, answers, dl)
        except Abort as done:
            return done.result
        except (OperationTimeout, PlaywrightTimeout) as exc:
            self.session.drop_context()
            return _timeout_result(submitted, exc, dl)
        except PlaywrightError as exc:
            self.session.drop_context()
            outcome = Outcome.UNKNOWN if submitted else Outcome.RETRYABLE
            return result(
                outcome,
                "browser_error",
                RootCause.NETWORK,
                f"browser error {'after' if submitted else 'before'} submitting: {str(exc).splitlines()[0]}",
                dl,
            )

    # -- typing ------------------------------------------------------------------------------------
    def _open_composer(self, page: Page, request: PostRequest, dl: Deadline) -> Scope:
        """Navigate, check the session, clear consent layers and type every part; returns the scope."""
        session = self.session
        if request.kind == "reply":
            if not request.reply_to:
                raise Abort(result(Outcome.REJECTED, "invalid_request", None, "a reply needs reply_to", dl))
            session.goto(page, f"/i/status/{request.reply_to}", dl)
            session.clear_consent(page, dl)
            article = page.locator(ARTICLE).first
            article.wait_for(state="visible", timeout=dl.left_ms(self.action_s))
            reply = article.locator('[data-testid="reply"]')
            try:  # the action bar renders with the post: a short wait tells "no reply button" apart
                reply.wait_for(state="visible", timeout=dl.left_ms(min(2.0, self.fallback_s)))
            except PlaywrightTimeout:
                raise Abort(
                    result(
                        Outcome.RETRYABLE,
                        "composer_not_found",
                        RootCause.PAGE_CHANGED,
                        "the post has no reply button (page layout changed?)",
                        dl,
                    )
                ) from None
            reply.click(timeout=dl.left_ms(self.action_s))
            dialog = page.locator('[role="dialog"]').last
            self._textbox(dialog, 0, dl).fill(request.text, timeout=dl.left_ms(self.action_s))
            self._attach_media(page, dialog, request.media_of(0), dl)
            return dialog
        if request.kind == "thread" and len(request.parts) > 1:
            if any(request.media):  # media belong to one part each: post the thread as a reply chain
                raise NoThreadComposer(
                    "a thread with media goes out as a chain, one part (and its files) at a time"
                )
            session.goto(page, "/compose/post", dl)
            session.clear_consent(page, dl)
            self._textbox(page, 0, dl).fill(request.parts[0], timeout=dl.left_ms(self.action_s))
            for index, part in enumerate(request.parts[1:], start=1):
                add = page.locator('[data-testid="addButton"]')
                if add.count() == 0:  # X's other layout: nothing typed is sent, fall back to a chain
                    raise NoThreadComposer("the thread composer has no add button")
                add.first.click(timeout=dl.left_ms(self.action_s))
                self._textbox(page, index, dl).fill(part, timeout=dl.left_ms(self.action_s))
            return page
        session.goto(page, "/home", dl)
        session.clear_consent(page, dl)
        self._textbox(page, 0, dl).fill(request.text, timeout=dl.left_ms(self.action_s))
        self._attach_media(page, page, request.media_of(0), dl)
        return page

    def _attach_media(self, page: Page, scope: Scope, files: tuple[MediaItem, ...], dl: Deadline) -> None:
        """Attach ``files`` through the composer's file input, wait until the page shows each one, and
        type each alt text into the description sheet where the page offers it. Nothing is submitted
        yet: any failure here is RETRYABLE (never a post without its media)."""
        if not files:
            return
        box = scope.locator(FILE_INPUT).first
        try:
            box.wait_for(state="attached", timeout=dl.left_ms(self.action_s))
        except PlaywrightTimeout:
            raise Abort(
                result(
                    Outcome.RETRYABLE,
                    "media_input_not_found",
                    RootCause.PAGE_CHANGED,
                    "the composer has no file input for media (page layout changed?)",
                    dl,
                )
            ) from None
        box.set_input_files([item.path for item in files], timeout=dl.left_ms(self.action_s))
        shown = scope.locator(ATTACHMENT)
        waited = Deadline(min(self.action_s, max(0.5, dl.left_ms() / 1000)), self.clock)
        while shown.count() < len(files):
            if page.locator(ERROR_TOAST).count():
                message = page.locator(ERROR_TOAST).first.inner_text(timeout=dl.left_ms(1))
                raise Abort(
                    result(
                        Outcome.RETRYABLE,
                        "media_upload_failed",
                        RootCause.UNKNOWN,
                        f"the page could not upload the media: {message[:200]}",
                        dl,
                    )
                )
            if waited.left_ms() <= 0:
                raise Abort(
                    result(
                        Outcome.RETRYABLE,
                        "media_upload_timeout",
                        RootCause.NETWORK,
                        f"{shown.count()} of {len(files)} media attached before the wait ran out",
                        dl,
                    )
                )
            dl.pause(page, 0.05)
        for index, item in enumerate(files):
            if not item.alt_text:
                continue
            button = shown.nth(index).locator(ALT_BUTTON)
            if button.count() == 0:
                log.warning("the page offers no alt text editor; posting media %d without it", index + 1)
                continue
            button.first.click(timeout=dl.left_ms(self.action_s))
            area = page.locator(ALT_INPUT).last
            area.fill(item.alt_text, timeout=dl.left_ms(self.action_s))
            page.locator(ALT_SAVE).last.click(timeout=dl.left_ms(self.action_s))
            area.wait_for(state="detached", timeout=dl.left_ms(self.action_s))

    def _textbox(self, scope: Scope, index: int, dl: Deadline) -> Locator:
        for pattern in TEXTBOX:
            box = scope.locator(pattern.format(i=index))
            if box.count() and box.first.is_visible():
                return box.first
        try:  # the page may still be rendering: wait for the primary or the generic textbox
            combined = scope.locator(
                f'{TEXTBOX[0].format(i=index)}, div[role="textbox"][contenteditable="true"]'
            )
            combined.nth(index if index else 0).wait_for(state="visible", timeout=dl.left_ms(self.action_s))
            return combined.nth(index if index else 0)
        except PlaywrightTimeout:
            raise Abort(
                result(
                    Outcome.RETRYABLE,
                    "composer_not_found",
                    RootCause.PAGE_CHANGED,
                    "the composer text box was not found (page layout changed?)",
                    dl,
                )
            ) from None

    def _post_button(self, scope: Scope, dl: Deadline) -> Locator:
        button = scope.locator(", ".join(POST_BUTTONS)).first
        try:
            button.wait_for(state="visible", timeout=dl.left_ms(self.action_s))
        except PlaywrightTimeout:
            raise Abort(
                result(
                    Outcome.RETRYABLE,
                    "post_button_not_found",
                    RootCause.PAGE_CHANGED,
                    "the post button was not found (page layout changed?)",
                    dl,
                )
            ) from None
        return button

    # -- the outcome -------------------------------------------------------------------------------
    def _await_outcome(
        self, page: Page, request: PostRequest, answers: Answers, dl: Deadline
    ) -> PublishResult:
        """Read the CreateTweet answers in order until every part has an id or something definite failed."""
        ids: list[str] = []
        read = 0
        while True:
            while read < len(answers.responses):
                verdict = read_create(answers.responses[read])
                read += 1
                if isinstance(verdict, str):
                    ids.append(verdict)
                    continue
                if verdict is None:  # created but no id in the answer (or the answer was cut)
                    return self._recover_id(page, request, ids, dl)
                failure = result(
                    verdict.outcome,
                    verdict.error_type,
                    verdict.root_cause,
                    verdict.message,
                    dl,
                    retry_after=verdict.retry_after,
                )
                return partial(failure, ids, request, dl)
            if len(ids) == len(request.parts):
                self.session.save()
                return result(
                    Outcome.POSTED,
                    None,
                    None,
                    f"posted {len(ids)} part(s)",
                    dl,
                    tweet_id=ids[0],
                    tweet_ids=ids,
                )
            if answers.failed and read >= len(answers.responses):
                return self._recover_id(page, request, ids, dl)
            dl.pause(page, 0.025)

    def _recover_id(self, page: Page, request: PostRequest, ids: list[str], dl: Deadline) -> PublishResult:
        """The answer for part ``len(ids) + 1`` had no id (or was cut): try the toast's link (a single
        post), then the profile. X's composer cannot reply to a part whose id it never got, so the parts
        after it were not sent: when the part is found, the rest are reported as not yet posted and the
        posting layer continues the thread from it (never claiming an unsent part is live)."""
        sent = False
        missing_at = len(ids)
        try:
            toast = page.locator('[data-testid="toast"]')
            toast.first.wait_for(state="attached", timeout=dl.left_ms(min(1.5, self.fallback_s)))
            text = toast.first.inner_text(timeout=dl.left_ms(1))
            sent = "sent" in text.lower()
            link = page.locator(TOAST_LINK)  # the link names the first part: only useful for a single
            if link.count() and not ids and len(request.parts) == 1:
                found = STATUS_ID.search(link.first.get_attribute("href") or "")
                if found:
                    ids.append(found.group(1))
                    self.session.save()
                    return result(
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
            short = Deadline(min(self.fallback_s, max(0.5, dl.left_ms() / 1000)), self.clock)
            profile = profile_posts(self.session, page, short, self.clock)
            for part in request.parts[len(ids) :]:  # the missing part, then any later ones that went out
                match = next(
                    (p for p in profile if same_post_text(part, p.text) and p.tweet_id not in ids), None
                )
                if match is None:
                    break
                ids.append(match.tweet_id)
        except (PlaywrightTimeout, OperationTimeout, PlaywrightError, Abort):
            pass
        n = len(request.parts)
        if len(ids) == n:
            return result(
                Outcome.POSTED, None, None, "id from the profile page", dl, tweet_id=ids[0], tweet_ids=ids
            )
        if len(ids) > missing_at:  # the id-less part was found; what follows it never went out
            return result(
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
            return result(
                Outcome.POSTED_NO_ID,
                "missing_id",
                RootCause.UNKNOWN,
                "X confirmed the post but its id was not captured"
                + (f" (part {missing_at + 1} of {n})" if n > 1 else ""),
                dl,
                tweet_id=ids[0] if ids else None,
                tweet_ids=ids,
            )
        return result(
            Outcome.UNKNOWN,
            "answer_lost",
            RootCause.NETWORK,
            "the post answer was lost and the post was not found on the profile: reconcile",
            dl,
            tweet_id=ids[0] if ids else None,
            tweet_ids=ids,
        )


def _timeout_result(submitted: bool, exc: Exception, dl: Deadline) -> PublishResult:
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if submitted:
        return result(
            Outcome.UNKNOWN,
            "timeout_after_submit",
            RootCause.NETWORK,
            f"timed out after clicking post ({first_line}): the post may be live; reconcile",
            dl,
        )
    return result(
        Outcome.RETRYABLE,
        "browser_timeout",
        RootCause.NETWORK,
        f"timed out before submitting ({first_line})",
        dl,
    )
