"""Text normalization and content hashes: the same post is recognised however it is spelled out.

``normalize_text`` keys content hashes and the content gates; ``post_text_key`` / ``same_post_text`` are
the one matcher that decides "is this post on the timeline ours" (reconciliation, the browser's id
recovery). The matcher adds what only a timeline read needs: X shows a link without its scheme, cut to
a display form ending in an ellipsis (``example.com/some/lo…``), and the API returns it as a t.co link.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")
_URL = re.compile(r"(?i)\bhttps?://\S+")
_TRAILING_PUNCT = re.compile(r"[\s.!?…]+$")
# a link as X displays it: no scheme, host with a dot, maybe a path, maybe cut with an ellipsis
_DISPLAY_URL = re.compile(r"(?i)(?<![\w@./<])(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?(?:/\S*|…)?(?=\s|$)")


def normalize_text(text: str) -> str:
    """NFKC, case-folded, URLs unified (t.co rewrites them), spaces collapsed, end punctuation off."""
    value = unicodedata.normalize("NFKC", text)
    value = _URL.sub("<url>", value)
    value = _SPACE.sub(" ", value).strip().casefold()
    return _TRAILING_PUNCT.sub("", value)


def post_text_key(text: str) -> str:
    """What two spellings of the same post share: ``normalize_text`` with displayed links unified too."""
    value = normalize_text(text)
    return _TRAILING_PUNCT.sub("", _DISPLAY_URL.sub("<url>", value))


def same_post_text(ours: str, seen: str) -> bool:
    """True when ``seen`` (a timeline's text) is the post we wrote as ``ours``."""
    return post_text_key(ours) == post_text_key(seen)


def content_hash(parts: list[str] | str, reply_to: str | None = None) -> str:
    """A stable hash of what would be published (all parts, and the reply target)."""
    parts = [parts] if isinstance(parts, str) else parts
    key = "\x1e".join(normalize_text(p) for p in parts) + f"\x1d{reply_to or ''}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
