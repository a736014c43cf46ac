"""An append-only spool file for events the store could not take: nothing is lost while it is down.

Each line is one JSON event with its ``event_uid``. Replays insert with "ignore duplicates" on that uid,
so a crash between the insert and the truncation can never double an event. A file lock keeps several
processes from interleaving lines or replaying the same spool twice. A line that is not an event (torn,
not JSON, ``{}``, or refused by a store that is up) is quarantined (``events/quarantine.py``): it never
blocks the lines after it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from xbot_pipeline.events.quarantine import set_aside
from xbot_pipeline.store.schema import SEVERITIES

_REQUIRED = ("event_uid", "event_type", "created_at")


def is_event(record: Any) -> bool:
    """A spool line the store can take: a dict with the tracker's required fields, well-formed."""
    if not isinstance(record, dict):
        return False
    if not all(isinstance(record.get(k), str) and record[k] for k in _REQUIRED):
        return False
    if len(record["event_uid"]) > 32 or len(record["event_type"]) > 128:
        return False
    if record.get("severity") not in SEVERITIES:
        return False
    if not isinstance(record.get("event_data", {}), dict):
        return False
    try:
        datetime.fromisoformat(record["created_at"])
    except ValueError:
        return False
    return True


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.last_quarantined = 0  # lines the last drain set aside

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
        """Append one record, fsynced. Raises ``OSError`` (ENOSPC on a full disk): the caller decides."""
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, _line(record))
                os.fsync(fd)
            finally:
                os.close(fd)

    def pending(self) -> int:
        if not self.path.exists():
            return 0
        with self._locked(), self.path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())

    def drain(
        self,
        write_batch: Callable[[list[dict[str, Any]]], None],
        batch_size: int = 500,
        *,
        refused: Callable[[Exception], bool] | None = None,
    ) -> int:
        """Replay spooled records in order through ``write_batch``; truncate only after all succeeded.

        ``write_batch`` must be idempotent per record (insert-ignore on the uid). If it raises because
        the store is unavailable (``refused`` is None or says False), the spool is left whole and the
        exception propagates. If the store refused the records themselves (``refused(exc)``), the batch
        is retried record by record and the records it refuses are quarantined. Returns how many records
        were replayed.
        """
        self.last_quarantined = 0
        if not self.path.exists():
            return 0
        with self._locked():
            records, bad = self._read()
            replayed = 0
            for start in range(0, len(records), batch_size):
                batch = records[start : start + batch_size]
                try:
                    write_batch(batch)
                    replayed += len(batch)
                    continue
                except Exception as exc:
                    if refused is None or not refused(exc):
                        raise
                for record in batch:
                    try:
                        write_batch([record])
                        replayed += 1
                    except Exception as exc:
                        if not refused(exc):
                            raise
                        bad.append(_line(record))
            self.last_quarantined = set_aside(self.path, bad)
            # Truncate in place (not unlink): another process may hold the lock file only.
            with self.path.open("r+b") as fh:
                fh.truncate(0)
                os.fsync(fh.fileno())
            return replayed

    def _read(self) -> tuple[list[dict[str, Any]], list[bytes]]:
        records: list[dict[str, Any]] = []
        bad: list[bytes] = []
        with self.path.open("rb") as fh:
            for raw in fh:
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                except ValueError:  # a torn last line from a crash mid-append, or garbage
                    record = None
                if is_event(record):
                    records.append(record)
                else:
                    bad.append(raw)
        return records, bad


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=True, separators=(",", ":"), default=str) + "\n").encode("ascii")
