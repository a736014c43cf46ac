"""One alerting pass: turn health reports, critical errors, spikes and failing checks into alerts.

Everything it remembers (cursor of the last event seen, occurrence counters, routing state) lives in
``kv_state``, so a restarted daemon carries on where it stopped instead of re-sending or forgetting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.alerts.delivery import Sender
from xbot_pipeline.alerts.router import AlertRouter, Delivery
from xbot_pipeline.alerts.spikes import every_nth, window_spikes
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.events import EventTracker
from xbot_pipeline.store import Store
from xbot_pipeline.store import health as q

STATE_NS = "alerts.state"
QUIET = timedelta(hours=1)


@dataclass(frozen=True)
class FailedCheck:
    """A Dagster asset check whose latest evaluation failed (or passed: ``passed=True`` resolves)."""

    name: str
    asset: str
    passed: bool
    severity: str  # ERROR | WARN
    detail: str = ""


@dataclass
class AlertPass:
    deliveries: list[Delivery] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    silenced: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    def summary(self) -> str:
        sent = sum(1 for d in self.deliveries if d.delivered)
        return (
            f"{sent} sent, {len(self.pending)} pending, {len(self.fired)} firing, "
            f"{len(self.silenced)} silenced, {len(self.resolved)} resolved"
        )


def evaluate_alerts(
    store: Store,
    tracker: EventTracker,
    sender: Sender,
    thresholds: HealthThresholds,
    *,
    checks: list[FailedCheck] = (),  # type: ignore[assignment]
    batch: int = 5000,
) -> AlertPass:
    now = store.clock.now()
    router = AlertRouter(
        store, tracker, sender, repeat_interval=timedelta(minutes=thresholds.alert_repeat_minutes)
    )
    result = AlertPass()
    _health_rules(store, router, thresholds, result)
    _check_rules(router, checks, result)
    _error_rules(store, tracker, router, thresholds, now, batch, result)
    result.deliveries = router.flush()
    result.pending = router.pending()
    return result


def _health_rules(store: Store, router: AlertRouter, t: HealthThresholds, result: AlertPass) -> None:
    """Health below the minimum and recovery below 80% always alert; resolve with hysteresis."""
    latest = q.latest_event(store, "system_health_report")
    if latest is None:
        return
    data: dict[str, Any] = latest["event_data"] or {}
    health = float(data.get("overallHealth", 100))
    recovery = float(data.get("recoveryRate", 100))
    issues = "; ".join(data.get("criticalIssues") or []) or "no critical issue listed"
    if health < t.min_health:
        router.fire("health_low", f"System health {health:g}/100 (< {t.min_health:g}): {issues}", "error")
        result.fired.append("health_low")
    elif health >= t.resolve_health and router.firing("health_low"):
        router.resolve("health_low", f"System health back to {health:g}/100 (>= {t.resolve_health:g})")
        result.resolved.append("health_low")
    if recovery < t.min_recovery_rate:
        router.fire("recovery_low", f"Recovery rate {recovery:g}% (< {t.min_recovery_rate:g}%)", "warning")
        result.fired.append("recovery_low")
    elif recovery >= t.resolve_recovery_rate and router.firing("recovery_low"):
        router.resolve("recovery_low", f"Recovery rate back to {recovery:g}%")
        result.resolved.append("recovery_low")


def _check_rules(router: AlertRouter, checks: list[FailedCheck], result: AlertPass) -> None:
    """ERROR checks alert (the health score has its own rule above); WARN checks stay in the UI."""
    for check in checks:
        if check.severity != "ERROR" or check.name == "health_score_ok":
            continue
        key = f"check:{check.asset}:{check.name}"
        if not check.passed:
            router.fire(key, f"Check {check.name} on {check.asset} failed {check.detail}".strip(), "error")
            result.fired.append(key)
        elif router.firing(key):
            router.resolve(key, f"Check {check.name} on {check.asset} passes again")
            result.resolved.append(key)


def _error_rules(
    store: Store,
    tracker: EventTracker,
    router: AlertRouter,
    t: HealthThresholds,
    now: datetime,
    batch: int,
    result: AlertPass,
) -> None:
    state = q.kv_get(store, STATE_NS, "cursor", None)
    if state is None:
        # first run ever: start from now, never re-alert history
        state = {"hwm": q.max_event_id(store), "counters": {}}
    new_events = q.events_after_id(store, int(state["hwm"]), limit=batch)
    errors = [e for e in new_events if e["is_error"]]
    inhibited_accounts = q.open_breaker_accounts(store, now)

    # critical errors alert at once, one alert per fingerprint (repeat interval while it recurs)
    for event in errors:
        if event["severity"] != "critical":
            continue
        data = event["event_data"] or {}
        key = f"critical:{event['fingerprint'] or event['event_type']}"
        silenced = bool(event["account_id"] and event["account_id"] in inhibited_accounts)
        text = (
            f"Critical error in {event['event_component']}: {event['event_error_type']}: "
            f"{str(data.get('error_message', ''))[:300]}"
            + (f" (account {event['account_id']})" if event["account_id"] else "")
        )
        if not router.firing(key):
            tracker.track_event(
                "critical_error_alert",
                {
                    "component": event["event_component"],
                    "error_type": event["event_error_type"],
                    "source_event_id": event["id"],
                    "silenced": silenced,
                },
                "warning",
                component="alerts",
                account_id=event["account_id"],
            )
        router.fire(key, text, "critical", silenced=silenced, account_id=event["account_id"])
        (result.silenced if silenced else result.fired).append(key)

    # the seed's every-5th occurrence of a component + error type (counters persisted, not in memory)
    per_key: dict[str, int] = {}
    for event in errors:
        k = f"{event['event_component']}|{event['event_error_type']}"
        per_key[k] = per_key.get(k, 0) + 1
    counters, crossed = every_nth(state.get("counters", {}), per_key, 5)
    for k in crossed:
        component, error_type = k.split("|", 1)
        tracker.track_event(
            "alert_error_spike",
            {"component": component, "error_type": error_type, "frequency": counters[k], "rule": "every_5th"},
            "warning",
            component="alerts",
        )

    # windowed spike against the previous 24 h baseline
    window = timedelta(minutes=t.spike_window_minutes)
    current = q.error_counts(store, now - window, now + timedelta(microseconds=1))
    baseline = q.error_counts(store, now - window - timedelta(hours=24), now - window)
    for spike in window_spikes(current, baseline, window, factor=t.spike_factor, min_count=t.spike_min_count):
        key = f"spike:{spike.component}:{spike.error_type}"
        if not router.firing(key):
            tracker.track_event(
                "alert_error_spike",
                {
                    "component": spike.component,
                    "error_type": spike.error_type,
                    "frequency": spike.count,
                    "baseline": spike.baseline,
                    "rule": "window",
                },
                "warning",
                component="alerts",
            )
        router.fire(
            key,
            f"Error spike: {spike.count} {spike.component}/{spike.error_type} errors in "
            f"{t.spike_window_minutes:g} min (baseline {spike.baseline:g})",
            "warning",
        )
        result.fired.append(key)
    # one-off alerts that stopped recurring resolve quietly (no message), so a recurrence alerts again
    for key in list(router.state):
        if key.startswith(("critical:", "spike:")):
            router.touch_quiet(key, QUIET)

    hwm = int(new_events[-1]["id"]) if new_events else int(state["hwm"])
    q.kv_put(store, STATE_NS, "cursor", {"hwm": hwm, "counters": counters})
