"""Text normalization and content hashes: the same post is recognised however it is spelled out."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")
_URL = re.compile(r"(?i)\bhttps?://\S+")
_TRAILING_PUNCT = re.compile(r"[\s.!?…]+$")


def normalize_text(text: str) -> str:
    """NFKC, case-folded, URLs unified (t.co rewrites them), spaces collapsed, end punctuation off."""
    value = unicodedata.normalize("NFKC", text)
    value = _URL.sub("<url>", value)
    value = _SPACE.sub(" ", value).strip().casefold()
    return _TRAILING_PUNCT.sub("", value)


def content_hash(parts: list[str] | str, reply_to: str | None = None) -> str:
    """A stable hash of what would be published (all parts, and the reply target)."""
    parts = [parts] if isinstance(parts, str) else parts
    key = "\x1e".join(normalize_text(p) for p in parts) + f"\x1d{reply_to or ''}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
