"""Alert routing with its state in the store, so each alert is delivered once across daemon restarts.

One routing entry per alert key (e.g. a fingerprint): it fires once, repeats at an interval while it
keeps firing, and sends a resolve message when it clears. A send that fails leaves the notification
pending; the next tick retries it. Inhibited (silenced) alerts are recorded but not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.alerts.delivery import Sender
from xbot_pipeline.events import EventTracker
from xbot_pipeline.store import Store
from xbot_pipeline.store import health as q

NAMESPACE = "alerts.routing"


@dataclass
class Delivery:
    key: str
    kind: str  # fire | repeat | resolve
    text: str
    delivered: bool


class AlertRouter:
    def __init__(
        self, store: Store, tracker: EventTracker, sender: Sender, *, repeat_interval: timedelta
    ) -> None:
        self.store = store
        self.tracker = tracker
        self.sender = sender
        self.repeat_interval = repeat_interval
        self.state: dict[str, dict[str, Any]] = q.kv_items(store, NAMESPACE)
        self._dirty: set[str] = set()

    @property
    def now(self) -> datetime:
        return self.store.clock.now()

    def firing(self, key: str) -> bool:
        return self.state.get(key, {}).get("state") == "firing"

    def fire(
        self, key: str, text: str, severity: str = "warning", *, silenced: bool = False, **extra: Any
    ) -> None:
        """The condition behind ``key`` holds now; notify on the first firing and at each repeat interval."""
        now = self.now
        entry = self.state.get(key)
        if entry is None or entry.get("state") != "firing":
            entry = {"state": "firing", "first_fired_at": now.isoformat(), "last_sent_at": None, "sends": 0}
            entry["pending"] = None if silenced else "fire"
        elif not silenced and entry.get("pending") is None:
            last = entry.get("last_sent_at")
            if last is None or now - datetime.fromisoformat(last) >= self.repeat_interval:
                entry["pending"] = "fire" if last is None else "repeat"
        entry.update(text=text, severity=severity, last_seen_at=now.isoformat(), silenced=silenced, **extra)
        if silenced and entry.get("pending") in ("fire", "repeat"):
            entry["pending"] = None
        self.state[key] = entry
        self._dirty.add(key)

    def resolve(self, key: str, text: str, *, notify: bool = True) -> None:
        """The condition cleared: send a resolve message (if anything was sent while it fired)."""
        entry = self.state.get(key)
        if entry is None or entry.get("state") != "firing":
            return
        was_sent = int(entry.get("sends", 0)) > 0
        entry.update(state="resolved", resolved_at=self.now.isoformat(), text=text)
        entry["pending"] = "resolve" if (notify and was_sent) else None
        self._dirty.add(key)

    def touch_quiet(self, key: str, quiet_for: timedelta) -> None:
        """Resolve silently an alert not seen for ``quiet_for`` (e.g. a one-off critical error)."""
        entry = self.state.get(key)
        if entry and entry.get("state") == "firing":
            seen = datetime.fromisoformat(entry.get("last_seen_at") or entry["first_fired_at"])
            if self.now - seen >= quiet_for:
                self.resolve(key, entry.get("text", key), notify=False)

    def flush(self) -> list[Delivery]:
        """Deliver every pending notification; state is saved after each one."""
        self._save()
        out: list[Delivery] = []
        for key in sorted(self.state):
            entry = self.state[key]
            kind = entry.get("pending")
            if not kind:
                continue
            prefix = {"fire": "[FIRING]", "repeat": "[STILL FIRING]", "resolve": "[RESOLVED]"}[kind]
            text = f"{prefix} {entry.get('text', key)}"
            ok = self.sender.send(text)
            if ok:
                entry["pending"] = None
                entry["sends"] = int(entry.get("sends", 0)) + 1
                entry["last_sent_at"] = self.now.isoformat()
                self._dirty.add(key)
                self._save()
                self.tracker.track_event(
                    "alert_sent",
                    {
                        "key": key,
                        "kind": kind,
                        "severity": entry.get("severity"),
                        "text": text,
                        "channel": self.sender.channel,
                    },
                    "warning" if kind != "resolve" else "info",
                    component="alerts",
                )
            out.append(Delivery(key, kind, text, ok))
        return out

    def pending(self) -> list[str]:
        return sorted(k for k, v in self.state.items() if v.get("pending"))

    def _save(self) -> None:
        if not self._dirty:
            return
        with self.store.begin() as conn:
            for key in sorted(self._dirty):
                q.kv_put(self.store, NAMESPACE, key, self.state[key], conn=conn)
        self._dirty.clear()
