"""Alert rules and routing against a real local webhook receiver: exactly the expected alerts, resolves
with hysteresis, no duplicates (also after a simulated restart), inhibition, retries, spikes."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from xbot_pipeline.alerts import LogSender, WebhookSender, evaluate_alerts
from xbot_pipeline.alerts.engine import FailedCheck
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.clock import ManualClock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import circuit_breakers, system_events
from xbot_pipeline_tests.fixtures.health import WebhookReceiver, add_event

T = HealthThresholds()


def _report(tracker: EventTracker, health: int, recovery: float = 100.0) -> None:
    tracker.track_event(
        "system_health_report",
        {"overallHealth": health, "errorRate": 1.0, "recoveryRate": recovery, "criticalIssues": []},
        "warning" if health < 70 else "info",
    )


def _sender(hook: WebhookReceiver) -> WebhookSender:
    return WebhookSender(hook.url, timeout_s=2, attempts=2, backoff_s=0.01)


def _events(store: Store, event_type: str) -> list[dict]:
    with store.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                sa.select(system_events.c.event_data)
                .where(system_events.c.event_type == event_type)
                .order_by(system_events.c.id)
            )
        ]


def test_low_health_fires_once_repeats_and_resolves_with_hysteresis(
    store: Store, clock: ManualClock, tracker: EventTracker, webhook: WebhookReceiver
) -> None:
    _report(tracker, 62)
    evaluate_alerts(store, tracker, _sender(webhook), T)
    evaluate_alerts(store, tracker, _sender(webhook), T)  # still low: no duplicate
    assert webhook.texts() == ["[FIRING] System health 62/100 (< 70): no critical issue listed"]
    clock.advance(minutes=T.alert_repeat_minutes + 1)
    evaluate_alerts(store, tracker, _sender(webhook), T)
    assert len(webhook.texts()) == 2 and webhook.texts()[1].startswith("[STILL FIRING]")
    _report(tracker, 72)  # above 70 but below 75: no flapping resolve
    evaluate_alerts(store, tracker, _sender(webhook), T)
    assert len(webhook.texts()) == 2
    _report(tracker, 76)
    evaluate_alerts(store, tracker, _sender(webhook), T)
    evaluate_alerts(store, tracker, _sender(webhook), T)
    assert webhook.texts()[2:] == ["[RESOLVED] System health back to 76/100 (>= 75)"]
    sent = _events(store, "alert_sent")
    assert [e["kind"] for e in sent] == ["fire", "repeat", "resolve"]
    assert all("127.0.0.1" not in str(e) and "s3cr3t" not in str(e) for e in sent)  # no URL in events


def test_recovery_below_80_alerts(store: Store, tracker: EventTracker, webhook: WebhookReceiver) -> None:
    _report(tracker, 90, recovery=79.0)
    evaluate_alerts(store, tracker, _sender(webhook), T)
    assert webhook.texts() == ["[FIRING] Recovery rate 79% (< 80%)"]


def test_failing_webhook_keeps_the_alert_pending_and_retries_next_tick(
    store: Store, tracker: EventTracker, webhook: WebhookReceiver
) -> None:
    _report(tracker, 50)
    webhook.fail = True
    result = evaluate_alerts(store, tracker, _sender(webhook), T)  # must not raise
    assert result.pending == ["health_low"] and webhook.texts() == []
    webhook.fail = False
    result = evaluate_alerts(store, tracker, _sender(webhook), T)
    assert result.pending == [] and len(webhook.texts()) == 1
    evaluate_alerts(store, tracker, _sender(webhook), T)
    assert len(webhook.texts()) == 1


def test_unreachable_webhook_never_crashes(store: Store, tracker: EventTracker) -> None:
    _report(tracker, 50)
    dead = WebhookSender("http://127.0.0.1:9/hook", timeout_s=0.5, attempts=2, backoff_s=0.01)
    assert evaluate_alerts(store, tracker, dead, T).pending == ["health_low"]


def test_critical_errors_alert_at_once_once_per_fingerprint_and_breaker_inhibits(
    store: Store, clock: ManualClock, tracker: EventTracker, webhook: WebhookReceiver
) -> None:
    evaluate_alerts(store, tracker, _sender(webhook), T)  # first pass sets the cursor at "now"
    tracker.track_error("auth", "session_expired", "session gone for account 12", "critical", account_id="a1")
    tracker.track_error("auth", "session_expired", "session gone for account 13", "critical", account_id="a1")
    evaluate_alerts(store, tracker, _sender(webhook), T)
    assert len(webhook.texts()) == 1 and "session_expired" in webhook.texts()[0]
    assert len(_events(store, "critical_error_alert")) == 1
    # a circuit breaker open on account b2 silences the per-post failures it causes
    now = clock.now()
    with store.begin() as conn:
        conn.execute(
            circuit_breakers.insert().values(
                account_id="b2",
                publisher="api",
                state="open",
                open_until=now + timedelta(minutes=10),
                updated_at=now,
            )
        )
    tracker.track_error("posting", "post_failed", "publish failed", "critical", account_id="b2")
    result = evaluate_alerts(store, tracker, _sender(webhook), T)
    assert len(webhook.texts()) == 1 and result.silenced
    # an unrelated account still alerts
    tracker.track_error("posting", "post_failed", "publish failed", "critical", account_id="c3")
    evaluate_alerts(store, tracker, _sender(webhook), T)
    assert len(webhook.texts()) == 2


def test_alerts_are_not_resent_after_a_restart(
    store: Store, clock: ManualClock, tracker: EventTracker, webhook: WebhookReceiver
) -> None:
    evaluate_alerts(store, tracker, _sender(webhook), T)
    _report(tracker, 40)
    tracker.track_error("store", "db_down", "db unreachable", "critical")
    evaluate_alerts(store, tracker, _sender(webhook), T)
    assert len(webhook.texts()) == 2
    # "restart": a brand-new tracker, sender and engine pass; state comes from the store only
    fresh_tracker = EventTracker.for_home(store, tracker.spool.path.parent.parent)
    clock.advance(minutes=5)
    evaluate_alerts(store, fresh_tracker, _sender(webhook), T)
    assert len(webhook.texts()) == 2


def test_spike_over_baseline_and_the_every_5th_rule(
    store: Store, clock: ManualClock, tracker: EventTracker, webhook: WebhookReceiver
) -> None:
    now = clock.now()
    for h in range(1, 13):  # baseline: one timeout every two hours -> 0.125 per 15 min
        add_event(store, "error_timeout", now - timedelta(hours=2 * h), component="browser")
    evaluate_alerts(store, tracker, _sender(webhook), T)  # history before the first pass is not "new"
    for i in range(4):
        add_event(store, "error_timeout", now - timedelta(minutes=i), component="browser")
    evaluate_alerts(store, tracker, _sender(webhook), T)
    assert not [t for t in webhook.texts() if "spike" in t.lower()]  # 4 < min count 5
    assert _events(store, "alert_error_spike") == []
    add_event(store, "error_timeout", now, component="browser")
    evaluate_alerts(store, tracker, _sender(webhook), T)
    spikes = [t for t in webhook.texts() if "spike" in t.lower()]
    assert len(spikes) == 1 and "5 browser/timeout errors" in spikes[0]
    rules = sorted(e["rule"] for e in _events(store, "alert_error_spike"))
    assert rules == ["every_5th", "window"]  # the 5th new occurrence and the window spike
    # a high baseline makes the same burst ordinary
    for i in range(200):  # ~2.1 per 15 min: 6 in 15 min is under 3 x baseline
        add_event(store, "error_db", now - timedelta(minutes=16 + i * 7), component="store")
    for i in range(5):
        add_event(store, "error_db", now - timedelta(minutes=i), component="store")
    evaluate_alerts(store, tracker, _sender(webhook), T)
    assert not [t for t in webhook.texts() if "store/db" in t]


def test_error_checks_alert_and_warn_checks_do_not(
    store: Store, tracker: EventTracker, webhook: WebhookReceiver
) -> None:
    checks = [
        FailedCheck("no_stuck_posts", "system_health_report", False, "ERROR"),
        FailedCheck("posting_success_ok", "system_health_report", False, "WARN"),
    ]
    evaluate_alerts(store, tracker, _sender(webhook), T, checks=checks)
    assert webhook.texts() == ["[FIRING] Check no_stuck_posts on system_health_report failed"]
    checks[0] = FailedCheck("no_stuck_posts", "system_health_report", True, "ERROR")
    evaluate_alerts(store, tracker, _sender(webhook), T, checks=checks)
    assert webhook.texts()[1] == "[RESOLVED] Check no_stuck_posts on system_health_report passes again"


def test_without_a_webhook_alerts_are_logged_and_stored(store: Store, tracker: EventTracker) -> None:
    _report(tracker, 30)
    evaluate_alerts(store, tracker, LogSender(), T)
    [sent] = _events(store, "alert_sent")
    assert sent["channel"] == "log" and sent["kind"] == "fire"
