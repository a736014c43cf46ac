"""The outcome journal: an append-only, fsynced file in XBOT_HOME that keeps a publish outcome when the
store cannot take it (or before the store has taken it). Recovery (and each posting run) replays it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def default_journal_path(home: Path) -> Path:
    return Path(home) / "posting" / "outcomes.jsonl"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def append(path: Path, entry: dict[str, Any]) -> None:
    """Append one outcome and fsync it before returning."""
    line = json.dumps(entry, default=str, sort_keys=True) + "\n"
    with _locked(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def replay(path: Path, apply: Callable[[dict[str, Any]], bool]) -> tuple[int, int]:
    """Apply each entry (``apply`` returns True when it is safely in the store); keep the rest.

    Returns (applied, kept). Torn last lines (a crash mid-write) are dropped: the store or the timeline
    reconciliation covers them.
    """
    if not path.exists():
        return 0, 0
    with _locked(path):
        lines = path.read_text(encoding="utf-8").splitlines()
        kept: list[str] = []
        applied = 0
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            try:
                ok = apply(entry)
            except Exception:
                ok = False
            if ok:
                applied += 1
            else:
                kept.append(line)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    return applied, len(kept)
