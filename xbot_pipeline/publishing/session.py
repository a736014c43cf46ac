"""Session files (Playwright storage state with the account's cookies): always written 0600, atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_session_file(state: dict[str, Any], path: Path | str) -> Path:
    """Write a storage state readable by its owner only; never leaves a world-readable temp file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(state, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def session_cookies(path: Path | str) -> list[str]:
    """The cookie values in a session file (to register them as secrets for redaction)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return []
    return [str(c.get("value", "")) for c in data.get("cookies", []) if c.get("value")]
