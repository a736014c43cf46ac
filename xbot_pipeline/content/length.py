"""X's weighted length (twitter-text v3): the one rule every text must pass before it is queued.

The count is twitter-text's (``parse_tweet(text).weightedLength``: NFC, URLs count 23, emoji sequences 2,
CJK 2), computed in linear time from the entities of ``content.entities`` because the library's own
parser is super-linear (``"a." * 2500`` took minutes). ``measure`` can stop as soon as a text is over a
limit, so a long text is refused after reading only the part that already exceeds it.

Raw length bound. No text longer than ``MAX_RAW_CHARS`` code points (after NFC) fits in 280 weighted
units: every code point outside a URL or emoji weighs at least 1, an emoji sequence weighs 2 and has at
most ``EMOJI_MAX_LEN`` (8) code points, so at most 4 code points per unit; a URL weighs 23 whatever its
length, but twitter-text refuses URLs over 4096 characters counting the protocol (``https://`` is assumed
when absent), so one URL has at most 4096 - 7 = 4089 raw characters; and since every URL after the first
needs a preceding character of its own, at most 11 fit (12 x 23 + 11 = 287 > 280). Hence
``raw <= 4 * (280 - 23u) + 4089u = 1120 + 3997u <= 45,087`` for ``u <= 11`` URLs. The only way past the
bound is a domain padded with characters IDNA deletes (soft hyphens, zero-width joiners, variation
selectors), which twitter-text measures after deletion; we refuse those texts (stricter, on purpose).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from types import ModuleType

# The longest emoji sequence twitter-text lists, in code points (``content.entities.EMOJI_MAX_LEN``; a
# test keeps the two equal). A constant here so that importing this module stays cheap.
EMOJI_MAX_LEN = 8

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
MAX_URL_CHARS = 4096 - len("http://")
MAX_URLS = 11
MAX_RAW_CHARS = (
    EMOJI_MAX_LEN // 2 * MAX_WEIGHTED_LENGTH + (MAX_URL_CHARS - EMOJI_MAX_LEN // 2 * URL_WEIGHT) * MAX_URLS
)
# NFC never shrinks a text to less than a quarter (a code point decomposes into at most 4).
MAX_INPUT_CHARS = 4 * MAX_RAW_CHARS
# twitter-text v3: these ranges weigh 1, every other code point 2.
_LIGHT = re.compile("[\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")
# twitter-text's invalid characters (parse_tweet(...).valid is False when a text has one).
INVALID_CHARS = re.compile("[\ufffe\ufeff\uffff]")


@cache
def _entities() -> ModuleType:
    """``content.entities`` on first use: its patterns take about a second to compile, so a process that
    never measures a text (most CLI commands, the Dagster code location's load) never pays for them."""
    from xbot_pipeline.content import entities

    return entities


@dataclass(frozen=True)
class Measure:
    """A text's weighted length; ``exact`` is False when measuring stopped early (``length`` is a floor)."""

    length: int
    exact: bool


def _plain_weight(text: str, start: int, end: int) -> int:
    return 2 * (end - start) - len(_LIGHT.findall(text, start, end))


def measure(text: str, limit: int | None = None) -> Measure:
    """Weighted length of ``text`` (twitter-text v3); stops once it exceeds ``limit`` if one is given."""
    text = unicodedata.normalize("NFC", text)
    if "\r" in text:  # twitter-text counts a line ending as one character
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    n = len(text)
    found = _entities()
    urls, emojis = found.UrlFinder(text, capped=limit is not None), found.EmojiFinder(text)
    weight, i = 0, 0
    while i < n:
        # Up to the horizon, everything but URLs costs at least one unit per EMOJI_MAX_LEN / 2 characters.
        horizon = (
            n if limit is None else min(n, i + (limit - weight + 1) * (EMOJI_MAX_LEN // 2) + EMOJI_MAX_LEN)
        )
        url = urls.next_entity(i, horizon)
        emoji = emojis.next_entity(i, horizon)
        nxt = min(url["indices"][0] if url else horizon, emoji[0] if emoji else horizon)
        weight += _plain_weight(text, i, nxt)
        i = nxt
        if url is not None and url["indices"][0] == i:
            weight += URL_WEIGHT
            i += len(url["url"])
        elif emoji is not None and emoji[0] == i:
            weight += 2
            i += emoji[1]
        if limit is not None and weight > limit and i < n:
            return Measure(weight, False)
    return Measure(weight, True)


def weighted_length(text: str) -> int:
    """Weighted length by twitter-text v3 (NFC, URLs count 23, emoji sequences 2, CJK 2)."""
    return measure(text).length


def fits(text: str, limit: int = MAX_WEIGHTED_LENGTH) -> bool:
    return 0 < measure(text, limit).length <= limit
