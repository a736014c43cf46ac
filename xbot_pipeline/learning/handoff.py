"""Posting's hand-off to learning: every published post is registered for its reward.

The hook runs inside the posting run (``on_published``); posting isolates it, so an exception here is
tracked as ``error_learning_handoff_failed`` and posting goes on. ``sweep_handoffs`` (in the learning
update) registers anything a failed hook missed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xbot_pipeline.store import Store
from xbot_pipeline.store.learning import ensure_reward_row


def learning_hook(store: Store) -> Callable[[dict[str, Any]], bool]:
    def on_published(post: dict[str, Any]) -> bool:
        if not post or post.get("kind") == "reply" or post.get("origin") == "evergreen":
            return False  # replies and evergreen copies are not the bandit's choices
        return ensure_reward_row(store, post, store.clock.now())

    return on_published
