"""Quote counts for the browser publisher, from the ``TweetDetail`` GraphQL answer X's status page loads.

X's status page prints replies, reposts, likes, bookmarks and views, but no quote count (the stats row
with "Quotes" went away in the 2023 redesign; ``/status/<id>/quotes`` lists quotes without a total). The
web client's own ``TweetDetail`` answer carries ``legacy.quote_count`` for the post, so the publisher
listens for it while the page loads, as it listens for ``CreateTweet`` when posting.
"""

from __future__ import annotations

from typing import Any


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
