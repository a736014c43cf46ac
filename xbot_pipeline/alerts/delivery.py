"""Alert delivery: a Slack-compatible webhook (``{"text": ...}``) or, without a URL, the log only.

A sender never raises: it returns False when the alert could not be delivered, and the router keeps the
alert pending for the next tick. Retries are bounded so a dead webhook cannot stall a sensor tick; the
backoff between them sleeps on the injected clock (default: the system clock).
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

from xbot_pipeline.clock import Clock, SystemClock
from xbot_pipeline.events.redact import redact_text, register_secret

log = logging.getLogger("xbot_pipeline.alerts")


class Sender(Protocol):
    channel: str

    def send(self, text: str) -> bool:
        """Deliver one message; True when it was accepted."""


class LogSender:
    """No webhook configured: the alert goes to the log (and the ``alert_sent`` event) only."""

    channel = "log"

    def send(self, text: str) -> bool:
        log.warning("ALERT %s", redact_text(text))
        return True


class WebhookSender:
    channel = "webhook"

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 5.0,
        attempts: int = 3,
        backoff_s: float = 0.2,
        clock: Clock | None = None,
    ) -> None:
        register_secret(url)  # the URL is a secret: it never reaches logs or events
        self._url = url
        self.timeout_s = timeout_s
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.clock = clock or SystemClock()

    def send(self, text: str) -> bool:
        text = redact_text(text)  # alert texts quote error messages: never let a credential out
        for attempt in range(1, self.attempts + 1):
            try:
                response = httpx.post(self._url, json={"text": text}, timeout=self.timeout_s)
                if response.status_code < 300:
                    return True
                reason = f"HTTP {response.status_code}"
                if 400 <= response.status_code < 500 and response.status_code != 429:
                    attempt = self.attempts  # a client error will not fix itself by retrying now
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            log.warning("alert webhook attempt %d/%d failed: %s", attempt, self.attempts, redact_text(reason))
            if attempt >= self.attempts:
                break
            self.clock.sleep(self.backoff_s * 2 ** (attempt - 1))
        return False


def sender_for(url: str | None, *, clock: Clock | None = None) -> Sender:
    """The webhook sender for ``url`` (default retries), or the log when no URL is configured."""
    return WebhookSender(url, clock=clock) if url else LogSender()
