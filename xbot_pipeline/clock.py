"""The one injectable clock: everything that asks "what time is it" asks a Clock.

The ``Store`` carries the one clock of a process (``Store(engine, clock=...)``, ``open_runtime(clock=...)``):
domain code that is given a store reads ``store.clock``, store queries that stamp rows read it too, and the
event tracker stamps events with it, so a row, an event and a decision never disagree about the time.
Production opens the store with ``SystemClock()``; tests and simulations give it a ``ManualClock`` and move
time by hand. Code that has no store (publishers, the stand-in) takes a ``clock`` argument, and callers
pass ``store.clock`` (``Runtime.clock``).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""

    def sleep(self, seconds: float) -> None:
        """Wait (or pretend to wait) for ``seconds``."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going backwards."""


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to; ``sleep`` advances it instantly."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._origin = self._now
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds, **delta)
            return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs a timezone-aware time")
        with self._lock:
            self._now = when.astimezone(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)

    def monotonic(self) -> float:
        with self._lock:
            return (self._now - self._origin).total_seconds()


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as aware UTC; naive values are taken to be UTC already."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
