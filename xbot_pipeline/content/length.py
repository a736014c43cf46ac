"""X's weighted length (twitter-text v3): the one rule every text must pass before it is queued."""

from __future__ import annotations

import unicodedata

from twitter_text import parse_tweet

MAX_WEIGHTED_LENGTH = 280


def weighted_length(text: str) -> int:
    """Weighted length by twitter-text v3 (NFC, URLs count 23, emoji sequences 2, CJK 2)."""
    return parse_tweet(unicodedata.normalize("NFC", text)).weightedLength


def fits(text: str, limit: int = MAX_WEIGHTED_LENGTH) -> bool:
    return 0 < weighted_length(text) <= limit
