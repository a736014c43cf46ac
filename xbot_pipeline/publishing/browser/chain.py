"""Threads without X's thread composer: part 1 as a single post, each next part a reply to the previous.

X's other composer layout has no add button, so a thread cannot be typed in one go; X still accepts the
same thread built as a chain of self-replies (the API publisher builds every thread that way). The
browser publisher falls back to this only when nothing has been submitted yet. A failure part-way is
reported exactly like a thread composer's partial failure: the ids of the parts that went out, in order,
so the posting layer continues from the last of them and never posts one twice.
"""

from __future__ import annotations

import logging

from playwright.sync_api import Error as PlaywrightError

from xbot_pipeline.publishing.base import Outcome, PostRequest, PublishResult, RootCause
from xbot_pipeline.publishing.browser.composer import Composer
from xbot_pipeline.publishing.browser.deadline import Deadline, OperationTimeout
from xbot_pipeline.publishing.browser.lifecycle import BrowserSession
from xbot_pipeline.publishing.browser.outcome import Abort, partial, result
from xbot_pipeline.publishing.browser.reads import ARTICLE

log = logging.getLogger("xbot_pipeline.publishing.browser")

REPLY_BUTTON = f'{ARTICLE} [data-testid="reply"]'


def publish_chain(composer: Composer, request: PostRequest, dl: Deadline) -> PublishResult:
    """Post ``request.parts`` as a reply chain within the thread's deadline ``dl``."""
    try:
        if _reply_ui_missing(composer.session, dl):
            return result(
                Outcome.RETRYABLE,
                "composer_not_found",
                RootCause.PAGE_CHANGED,
                "the thread composer has no add button and posts have no reply button (page layout changed?)",
                dl,
            )
    except Abort as done:  # e.g. logged out
        return done.result
    except (OperationTimeout, PlaywrightError):  # undecided: the parts below report their own outcome
        composer.session.drop_context()
    log.warning("no thread composer: posting %d parts as a reply chain", len(request.parts))
    ids: list[str] = []
    for index, part in enumerate(request.parts):
        files = (request.media_of(index),) if request.media_of(index) else ()
        step = (
            PostRequest("reply", [part], reply_to=ids[-1], post_id=request.post_id, media=files)
            if ids
            else PostRequest("single", [part], post_id=request.post_id, media=files)
        )
        outcome = composer.submit(step, dl)
        if outcome.outcome is not Outcome.POSTED or not outcome.tweet_id:
            n = len(request.parts)
            log.warning("reply chain stopped at part %d of %d: %s", index + 1, n, outcome.message)
            return partial(outcome, ids, request, dl)
        ids.append(str(outcome.tweet_id))
    return result(
        Outcome.POSTED,
        None,
        None,
        f"posted {len(ids)} part(s) as a reply chain (no thread composer)",
        dl,
        tweet_id=ids[0],
        tweet_ids=ids,
    )


def _reply_ui_missing(session: BrowserSession, dl: Deadline) -> bool:
    """True when the profile lists posts but none has a reply button: the chain could not go past part 1,
    so the thread is not started. A profile without posts proves nothing either way (False)."""
    page = session.open_page(dl)
    session.goto(page, f"/{session.handle}", dl)
    session.clear_consent(page, dl)
    return page.locator(ARTICLE).count() > 0 and page.locator(REPLY_BUTTON).count() == 0
