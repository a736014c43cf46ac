"""Stable fingerprints: the same failure gets the same id whatever post, number or URL it names."""

from __future__ import annotations

import hashlib
import re

_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_UUID = re.compile(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_HEX = re.compile(r"(?i)\b(?:0x)?[0-9a-f]*\d[0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*\d[0-9a-f]*\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUOTED = re.compile(r"'[^']{0,200}'|\"[^\"]{0,200}\"")
_SPACE = re.compile(r"\s+")


def normalize_message(message: str) -> str:
    text = _URL.sub("<url>", message)
    text = _UUID.sub("<id>", text)
    text = _QUOTED.sub("<str>", text)
    text = _HEX.sub("<id>", text)
    text = _NUMBER.sub("<n>", text)
    return _SPACE.sub(" ", text).strip().lower()[:500]


def fingerprint(component: str, error_type: str, message: str) -> str:
    key = f"{component}\x1f{error_type}\x1f{normalize_message(message)}"
    return hashlib.sha1(key.encode("utf-8", "replace")).hexdigest()[:16]
