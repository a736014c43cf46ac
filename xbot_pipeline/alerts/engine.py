"""One alerting pass: turn health reports, critical errors, spikes and failing checks into alerts.

Everything it remembers (cursor of the last event seen, occurrence counters, routing state) lives in
``kv_state``, so a restarted daemon carries on where it stopped instead of re-sending or forgetting.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from xbot_pipeline.store.posts import oldest_awaiting_review

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
    channel: str = "log"

    def summary(self) -> str:
        """One line for the sensor tick, e.g. ``sent 1 (health_low → webhook), suppressed 2 (cooldown:
        recovery_low, spike:posting:timeout), resolved 0``: what went out, what was held back and why."""
        sent = [d for d in self.deliveries if d.delivered]
        failed = sorted({d.key for d in self.deliveries if not d.delivered})
        attempted = {d.key for d in self.deliveries}
        silenced = sorted(set(self.silenced) - attempted)
        cooldown = sorted(set(self.fired) - attempted - set(silenced))
        resolved = sorted(set(self.resolved))
        sent_items = [
            f"{d.key}{'' if d.kind == 'fire' else ' ' + ('resolved' if d.kind == 'resolve' else d.kind)}"
            f" → {self.channel}"
            for d in sent
        ]
        held = [part for part in (_listed("cooldown", cooldown), _listed("breaker open", silenced)) if part]
        line = (
            f"sent {len(sent)}{_items(sent_items)}, "
            f"suppressed {len(cooldown) + len(silenced)}{' (' + '; '.join(held) + ')' if held else ''}, "
            f"resolved {len(resolved)}{_items(resolved)}"
        )
        if failed:
            line += f", failed to send {len(failed)}{_items(failed)} (retried next tick)"
        return line


def _join(items: Sequence[str], limit: int = 3) -> str:
    more = f", +{len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _items(items: Sequence[str]) -> str:
    return f" ({_join(items)})" if items else ""


def _listed(reason: str, keys: Sequence[str]) -> str:
    return f"{reason}: {_join(keys)}" if keys else ""


def evaluate_alerts(
    store: Store,
    tracker: EventTracker,
    sender: Sender,
    thresholds: HealthThresholds,
    *,
    checks: Sequence[FailedCheck] = (),
    batch: int = 5000,
    review_alert_minutes: float | None = None,
) -> AlertPass:
    now = store.clock.now()
    router = AlertRouter(
        store, tracker, sender, repeat_interval=timedelta(minutes=thresholds.alert_repeat_minutes)
    )
    result = AlertPass(channel=sender.channel)
    _health_rules(store, router, thresholds, result)
    _check_rules(router, checks, result)
    if review_alert_minutes is not None:
        _review_rules(store, tracker, router, review_alert_minutes, now, result)
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


def _review_rules(
    store: Store, tracker: EventTracker, router: AlertRouter, minutes: float, now: datetime, result: AlertPass
) -> None:
    """A review queue whose oldest post has waited longer than ``minutes`` alerts (warning), once per
    account while it stays stale (repeat interval); it resolves when the queue is worked off."""
    oldest = oldest_awaiting_review(store)
    for account_id, since in sorted(oldest.items()):
        key = f"review_stale:{account_id}"
        waited = (now - since).total_seconds() / 60
        if waited <= minutes:
            continue
        if not router.firing(key):
            tracker.track_event(
                "review_queue_stale",
                {"oldest_minutes": round(waited, 1), "threshold_minutes": minutes},
                "warning",
                component="alerts",
                account_id=account_id,
            )
        router.fire(
            key,
            f"Review queue of {account_id}: the oldest post has waited {waited:.0f} min (> {minutes:g} min); "
            "`xbot review` approves, edits or rejects it",
            "warning",
            account_id=account_id,
        )
        result.fired.append(key)
    for key in list(router.state):
        if key.startswith("review_stale:") and router.firing(key):
            account_id = key.split(":", 1)[1]
            first = oldest.get(account_id)
            if first is None or (now - first).total_seconds() / 60 <= minutes:
                router.resolve(key, f"Review queue of {account_id} is worked off")
                result.resolved.append(key)


def _check_rules(router: AlertRouter, checks: Sequence[FailedCheck], result: AlertPass) -> None:
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
