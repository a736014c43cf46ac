"""An append-only spool file for events the store could not take: nothing is lost while it is down.

Each line is one JSON event with its ``event_uid``. Replays insert with "ignore duplicates" on that uid,
so a crash between the insert and the truncation can never double an event. A file lock keeps several
processes from interleaving lines or replaying the same spool twice.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=True, separators=(",", ":"), default=str) + "\n"
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def pending(self) -> int:
        if not self.path.exists():
            return 0
        with self._locked(), self.path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())

    def drain(self, write_batch: Callable[[list[dict[str, Any]]], None], batch_size: int = 500) -> int:
        """Replay spooled records in order through ``write_batch``; truncate only after all succeeded.

        ``write_batch`` must be idempotent per record (insert-ignore on the uid). If it raises, the spool
        is left whole and the exception propagates. Returns how many records were replayed.
        """
        if not self.path.exists():
            return 0
        with self._locked():
            records, bad = self._read()
            for start in range(0, len(records), batch_size):
                write_batch(records[start : start + batch_size])
            if bad:
                with self.path.with_suffix(".corrupt").open("ab") as fh:
                    fh.write(b"".join(bad))
            # Truncate in place (not unlink): another process may hold the lock file only.
            with self.path.open("r+b") as fh:
                fh.truncate(0)
                os.fsync(fh.fileno())
            return len(records)

    def _read(self) -> tuple[list[dict[str, Any]], list[bytes]]:
        records: list[dict[str, Any]] = []
        bad: list[bytes] = []
        with self.path.open("rb") as fh:
            for raw in fh:
                if not raw.strip():
                    continue
                try:
                    records.append(json.loads(raw))
                except ValueError:  # a torn last line from a crash mid-append
                    bad.append(raw if raw.endswith(b"\n") else raw + b"\n")
        return records, bad
