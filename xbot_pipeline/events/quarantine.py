"""Lines a replay cannot use (not JSON, or JSON without the fields it needs) are set aside, never dropped
and never allowed to block the lines after them: ``<file>.quarantine`` next to the spool or journal, 0600.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def quarantine_path(path: Path) -> Path:
    return Path(path).with_suffix(".quarantine")


def set_aside(path: Path, lines: Iterable[bytes]) -> int:
    """Append ``lines`` to ``path``'s quarantine file (fsynced, created 0600); returns how many."""
    data = [line if line.endswith(b"\n") else line + b"\n" for line in lines]
    if not data:
        return 0
    fd = os.open(quarantine_path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"".join(data))
        os.fsync(fd)
    finally:
        os.close(fd)
    return len(data)


def quarantined(path: Path) -> int:
    """How many lines sit in ``path``'s quarantine file (for ``xbot status``)."""
    q = quarantine_path(path)
    if not q.exists():
        return 0
    with q.open("rb") as fh:
        return sum(1 for line in fh if line.strip())
