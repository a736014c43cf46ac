"""The webhook's retry backoff sleeps on the injected clock: a ManualClock runs it without real waiting."""

from __future__ import annotations

import time

from xbot_pipeline.alerts.delivery import LogSender, WebhookSender, sender_for
from xbot_pipeline.clock import ManualClock


def test_backoff_runs_on_the_clock() -> None:
    clock = ManualClock()
    dead = WebhookSender("http://127.0.0.1:9/hook", timeout_s=0.5, attempts=3, backoff_s=30, clock=clock)
    started, before = time.monotonic(), clock.monotonic()
    assert dead.send("nobody listens") is False
    assert clock.monotonic() - before == 30 + 60  # two backoffs, doubled
    assert time.monotonic() - started < 10  # the 90 s were the clock's, not ours


def test_sender_for_picks_the_channel() -> None:
    assert isinstance(sender_for(None), LogSender)
    assert isinstance(sender_for("http://127.0.0.1:9/hook", clock=ManualClock()), WebhookSender)
