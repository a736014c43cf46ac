"""Reading the answers X's web client gets while the page works: ``CreateTweet`` (the new post's id, or
X's error, classified by ``x_errors``) and ``TweetDetail`` (the quote count the status page does not
print). The publisher listens for them before it acts (``Answers``), as the page itself would.

X's status page prints replies, reposts, likes, bookmarks and views, but no quote count (the stats row
with "Quotes" went away in the 2023 redesign; ``/status/<id>/quotes`` lists quotes without a total). The
web client's own ``TweetDetail`` answer carries ``legacy.quote_count`` for the post.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request, Response

from xbot_pipeline.publishing.x_errors import Verdict, XError, classify


class Answers:
    """The answers (and failed requests) to one GraphQL operation, in arrival order, while listening."""

    def __init__(self, operation: str) -> None:
        self.operation = operation  # e.g. "/CreateTweet"
        self.responses: list[Response] = []
        self.failed: list[str] = []

    def _on_response(self, response: Response) -> None:
        if self.operation in response.url:
            self.responses.append(response)

    def _on_failed(self, request: Request) -> None:
        if self.operation in request.url:
            self.failed.append(request.failure or "failed")

    @contextmanager
    def listening(self, page: Page) -> Iterator[Answers]:
        """Collect answers on ``page`` inside the block (listen before acting: answers can be quick)."""
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_failed)
        try:
            yield self
        finally:
            if not page.is_closed():
                page.remove_listener("response", self._on_response)
                page.remove_listener("requestfailed", self._on_failed)


def read_create(response: Response) -> str | Verdict | None:
    """A ``CreateTweet`` answer: the new post's id, X's error (classified), or None when the post was
    created but the answer has no id (or was cut off)."""
    status = response.status
    try:
        body = response.json()
    except (PlaywrightError, ValueError):
        return None if status < 300 else classify(XError.from_answer(status, None, response.headers))
    if status >= 300 or (isinstance(body, dict) and body.get("errors")):
        return classify(XError.from_answer(status, body, response.headers))
    data = body.get("data") if isinstance(body, dict) else None
    created = ((data or {}).get("create_tweet") or {}).get("tweet_results") or {}
    rest_id = (created.get("result") or {}).get("rest_id")
    return str(rest_id) if rest_id else None


def read_quotes(response: Response, tweet_id: str) -> int | None:
    """The quote count of ``tweet_id`` in a ``TweetDetail`` answer, None when it is not there."""
    try:
        return quote_count(response.json(), tweet_id)
    except (PlaywrightError, ValueError):
        return None


def quote_count(body: Any, tweet_id: str) -> int | None:
    """``legacy.quote_count`` of the post ``tweet_id`` anywhere in a GraphQL answer (entries nest in
    several ways: ``tweet_results.result``, ``TweetWithVisibilityResults.tweet``, conversation modules)."""
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            legacy = node.get("legacy")
            if str(node.get("rest_id")) == tweet_id and isinstance(legacy, dict):
                value = legacy.get("quote_count")
                if isinstance(value, int):
                    return value
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None
