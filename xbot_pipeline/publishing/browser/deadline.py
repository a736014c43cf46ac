"""``Deadline``: the time one browser operation has left, read from the injected clock.

Playwright's own timeouts run in real time; every Playwright call gets what the deadline has left. The
polls that let the page run while waiting for an answer go through ``pause``, which also counts the real
time it waited as spent: an operation stays bounded even when a test's ``ManualClock`` stands still, and
a test can still end it early by moving the clock.
"""

from __future__ import annotations

from typing import Protocol

from xbot_pipeline.clock import Clock


class OperationTimeout(Exception):
    """The operation's deadline passed."""


class Waits(Protocol):
    def wait_for_timeout(self, timeout: float) -> None: ...


class Deadline:
    def __init__(self, seconds: float, clock: Clock) -> None:
        self.seconds = seconds
        self.clock = clock
        self.started = clock.monotonic()
        self._paused_s = 0.0  # real time spent in ``pause`` (a lower bound of the time spent)

    @property
    def elapsed(self) -> float:
        return max(self.clock.monotonic() - self.started, self._paused_s)

    def left_ms(self, cap_s: float | None = None) -> float:
        """Milliseconds left (at most ``cap_s`` seconds); raises ``OperationTimeout`` when time is up."""
        left = self.seconds - self.elapsed
        if left <= 0.05:
            raise OperationTimeout(f"deadline of {self.seconds:.1f} s passed")
        return 1000 * (min(left, cap_s) if cap_s else left)

    def pause(self, page: Waits, cap_s: float) -> None:
        """Let the page run (its answers arrive) for up to ``cap_s`` seconds of what is left."""
        ms = self.left_ms(cap_s)
        page.wait_for_timeout(ms)
        self._paused_s += ms / 1000
