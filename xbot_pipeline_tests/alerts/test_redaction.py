"""Credentials inside error messages never reach the webhook, whatever shape they are written in."""

from __future__ import annotations

import pytest

from xbot_pipeline.alerts import WebhookSender, evaluate_alerts
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.events import EventTracker
from xbot_pipeline.events.redact import REDACTED, redact_text
from xbot_pipeline.store import Store
from xbot_pipeline_tests.fixtures.health import WebhookReceiver

SECRET = "s3cr3tV4lu3xyz"

# Shapes credentials take in exception texts: Playwright cookies/headers (repr and JSON, either order),
# dict literals, header tuples, Cookie header lines.
SHAPES = [
    "{'name': 'auth_token', 'value': '%s', 'domain': '.x.com', 'path': '/'}",
    '[{"name": "ct0", "value": "%s", "domain": ".x.com"}]',
    "{'value': '%s', 'name': 'twid', 'domain': '.x.com'}",
    "{'name': 'kdt', 'value': '%s'}",
    "{'name': '_twitter_sess', 'value': '%s'}",
    "{'name': 'Authorization', 'value': 'Bearer %s'}",
    "{'name': 'x-csrf-token', 'value': '%s'}",
    "headers=[('cookie', 'auth_token=%s; lang=en'), ('accept', '*/*')]",
    '("Authorization", "OAuth oauth_token=%s")',
    "{'auth_token': '%s', 'user': 'bob'}",
    '{"X-Csrf-Token": "%s"}',
    "{'oauth_token_secret': '%s'}",
    "Cookie: lang=en; twid=u%%3D1; auth_token=%s",
    "{'name': 'sessionid', 'value': '%s'}",
]


@pytest.mark.parametrize("shape", SHAPES)
def test_credential_shapes_are_redacted(shape: str) -> None:
    text = redact_text(f"storage state rejected: {shape % SECRET}")
    assert SECRET not in text and REDACTED in text


def test_harmless_pairs_and_prose_stay() -> None:
    text = "{'name': 'lang', 'value': 'en'} the token expired; a session started for account 12"
    assert redact_text(text) == text


def test_a_playwright_cookie_in_an_error_never_reaches_the_webhook(
    store: Store, tracker: EventTracker, webhook: WebhookReceiver
) -> None:
    sender = WebhookSender(webhook.url, timeout_s=2, attempts=2, backoff_s=0.01)
    thresholds = HealthThresholds()
    evaluate_alerts(store, tracker, sender, thresholds)  # first pass sets the cursor
    for i, shape in enumerate(SHAPES):
        message = f"context.add_cookies failed: {shape % SECRET}"
        tracker.track_error("auth", f"cookie_rejected_{i}", message, "critical", account_id="a1")
    evaluate_alerts(store, tracker, sender, thresholds)
    texts = webhook.texts()
    assert len(texts) == len(SHAPES)
    assert all(SECRET not in t for t in texts), [t for t in texts if SECRET in t]
    assert all(REDACTED in t for t in texts)


def test_the_sender_redacts_what_it_is_given(webhook: WebhookReceiver) -> None:
    WebhookSender(webhook.url, timeout_s=2).send(f"raw: {{'name': 'ct0', 'value': '{SECRET}'}}")
    assert SECRET not in webhook.texts()[0]
