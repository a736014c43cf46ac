"""X handles: 1-15 letters, digits or underscores (an ``@`` in front is accepted and dropped)."""

from __future__ import annotations

import re

HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")


def parse_handle(text: str) -> str:
    """The handle without its ``@``; ValueError (one line) when X would not accept it."""
    value = str(text).strip()
    value = value[1:] if value.startswith("@") else value
    if not HANDLE.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise ValueError(f"an X handle is 1-15 letters, digits or underscores, got {shown!r}")
    return value
