"""The outcome journal: an append-only, fsynced file in XBOT_HOME that keeps a publish outcome when the
store cannot take it (or before the store has taken it). Recovery (and each posting run) replays it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xbot_pipeline.events.quarantine import set_aside


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


def replay(
    path: Path,
    apply: Callable[[dict[str, Any]], bool],
    *,
    check: Callable[[dict[str, Any]], object] | None = None,
) -> Replayed:
    """Apply each entry (``apply`` returns True when it is safely in the store); keep the rest.

    A line that is not an entry (not JSON, not an object, or ``check`` raises on it: a torn line from a
    crash mid-write, garbage) is quarantined next to the journal, never dropped and never retried. The
    rewritten journal stays 0600.
    """
    if not path.exists():
        return Replayed()
    with _locked(path):
        lines = path.read_bytes().splitlines()
        kept: list[bytes] = []
        bad: list[bytes] = []
        applied: list[dict[str, Any]] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
                if check is not None:
                    check(entry)
            except (ValueError, TypeError, KeyError):
                bad.append(line)
                continue
            try:
                ok = apply(entry)
            except Exception:
                ok = False
            if ok:
                applied.append(entry)
            else:
                kept.append(line)
        quarantined = set_aside(path, bad)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an older .tmp left by a crash may have other bits
            os.write(fd, b"".join(k + b"\n" for k in kept))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    return Replayed(applied, len(kept), quarantined)


@dataclass(frozen=True)
class Replayed:
    """What a replay did: the entries now in the store, how many stay for later, how many were set aside."""

    applied: list[dict[str, Any]] = field(default_factory=list)
    kept: int = 0
    quarantined: int = 0
