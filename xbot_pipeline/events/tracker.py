"""The error tracker (the seed's ``errorTracker``, fixed).

- Errors are ``event_type = 'error_<error_type>'`` with the contract's keys; alerts and reports use other
  names, so they never inflate error counts.
- Each error carries a stable fingerprint and can later be marked recovered with the time it took.
- It never raises into its caller: when the store cannot be written the event goes to the spool and is
  replayed, in order and exactly once, on the next successful write.
- Secrets are redacted before anything is stored, spooled or logged.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from xbot_pipeline.clock import Clock
from xbot_pipeline.events.fingerprint import fingerprint as make_fingerprint
from xbot_pipeline.events.quarantine import quarantine_path
from xbot_pipeline.events.redact import redact, redact_text
from xbot_pipeline.events.spool import Spool
from xbot_pipeline.store import Store
from xbot_pipeline.store import events as event_queries
from xbot_pipeline.store.engine import record_refused
from xbot_pipeline.store.schema import SEVERITIES

log = logging.getLogger("xbot_pipeline.events")

MAX_MESSAGE_CHARS = 16_000
MAX_STRING_CHARS = 8_000
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_TYPE_CHARS = re.compile(r"[^a-z0-9_]+")


def clean_string(value: str, limit: int = MAX_STRING_CHARS) -> str:
    """Make a string storable everywhere: no NUL (Postgres refuses it), no lone surrogates, bounded."""
    value = _SURROGATE.sub("\ufffd", value.replace("\x00", "\ufffd"))
    if len(value) > limit:
        value = f"{value[:limit]}…[truncated {len(value) - limit} chars]"
    return value


def clean_json(value: Any, depth: int = 0) -> Any:
    """Coerce any value into JSON-safe, storable data."""
    if depth > 20:
        return "[too deep]"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return clean_string(value)
    if isinstance(value, dict):
        return {clean_string(str(k), 200): clean_json(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, list | tuple | set):
        return [clean_json(v, depth + 1) for v in list(value)[:500]]
    if isinstance(value, datetime):
        return value.isoformat()
    return clean_string(repr(value), 2_000)


def error_event_type(error_type: str) -> str:
    return f"error_{normalize_error_type(error_type)}"


def normalize_error_type(error_type: str) -> str:
    return (_TYPE_CHARS.sub("_", str(error_type).strip().lower()).strip("_") or "unknown")[:64]


@dataclass(frozen=True)
class TrackedEvent:
    uid: str
    event_type: str
    severity: str
    created_at: datetime
    data: dict[str, Any]
    fingerprint: str | None = None
    stored: bool = True  # False: spooled, will be replayed


@dataclass
class EventTracker:
    store: Store
    spool: Spool
    secrets: tuple[str, ...] = ()

    @property
    def clock(self) -> Clock:
        """The store's clock: events are stamped with the time everything else reads."""
        return self.store.clock

    @classmethod
    def for_home(cls, store: Store, home: Path, secrets: Iterable[str] = ()) -> EventTracker:
        return cls(
            store=store,
            spool=Spool(Path(home) / "spool" / "events.jsonl"),
            secrets=tuple(secrets),
        )

    # -- writing -----------------------------------------------------------------------------------
    def track_error(
        self,
        component: str,
        error_type: str,
        message: str | BaseException,
        severity: str = "error",
        context: dict[str, Any] | None = None,
        *,
        account_id: str | None = None,
        subject: str | None = None,
    ) -> TrackedEvent | None:
        """Record one error. Never raises; returns what was written (or spooled)."""
        try:
            component = clean_string(str(component or "").strip(), 64) or "unknown"
            etype = normalize_error_type(error_type)
            text = (
                f"{type(message).__name__}: {message}" if isinstance(message, BaseException) else str(message)
            )
            text = redact_text(clean_string(text, MAX_MESSAGE_CHARS), self.secrets)
            data: dict[str, Any] = {
                "component": component,
                "error_type": etype,
                "error_message": text,
                "context": context or {},
            }
            fp = make_fingerprint(component, etype, text)
            data["fingerprint"] = fp
            return self._write(
                f"error_{etype}",
                data,
                severity,
                component=component,
                error_type=etype,
                fingerprint=fp,
                account_id=account_id,
                subject=subject,
                is_error=True,
            )
        except Exception:
            log.exception("event tracker failed to record an error")
            return None

    def track_event(
        self,
        event_type: str,
        data: dict[str, Any] | None = None,
        severity: str = "info",
        *,
        component: str | None = None,
        account_id: str | None = None,
        subject: str | None = None,
    ) -> TrackedEvent | None:
        """Record a non-error event (reports, alerts, transitions). ``error_*`` names are refused."""
        try:
            name = clean_string(str(event_type or "").strip(), 128) or "unnamed_event"
            if name.startswith("error_"):
                name = f"event_{name}"  # error_* is reserved for real errors (seed defect)
            return self._write(
                name,
                dict(data or {}),
                severity,
                component=component,
                account_id=account_id,
                subject=subject,
                is_error=False,
            )
        except Exception:
            log.exception("event tracker failed to record an event")
            return None

    def mark_recovered(self, **filters: Any) -> list[int]:
        """Mark open errors recovered (see ``store.events.mark_recovered``). Never raises.

        Spooled errors are replayed first: an error raised during an outage is recovered with the rest."""
        try:
            if self.spool.path.exists() and self.spool.path.stat().st_size:
                self.flush_spool()
            with self.store.begin() as conn:
                return event_queries.mark_recovered(conn, self.clock.now(), **filters)
        except Exception:
            log.exception("event tracker failed to mark errors recovered")
            return []

    def flush_spool(self) -> int:
        """Replay spooled events now; returns how many were replayed (0 when the store is still down)."""
        try:
            return self._drain()
        except Exception as exc:
            log.warning("event spool not replayed yet: %s", redact_text(str(exc), self.secrets))
            return 0

    # -- internals ---------------------------------------------------------------------------------
    def _write(
        self,
        event_type: str,
        data: dict[str, Any],
        severity: str,
        *,
        is_error: bool,
        component: str | None = None,
        error_type: str | None = None,
        fingerprint: str | None = None,
        account_id: str | None = None,
        subject: str | None = None,
    ) -> TrackedEvent | None:
        """Store the event, else spool it; None when neither could take it (logged once)."""
        severity = str(severity or "").strip().lower()
        if severity not in SEVERITIES:
            data["invalid_severity"] = clean_string(severity, 64)
            severity = "error" if is_error else "warning"
        data = redact(clean_json(data), self.secrets)
        record: dict[str, Any] = {
            "event_uid": uuid.uuid4().hex,
            "event_type": event_type,
            "event_data": data,
            "severity": severity,
            "created_at": self.clock.now().isoformat(),
            "component": component,
            "error_type": error_type,
            "fingerprint": fingerprint,
            "account_id": clean_string(account_id, 64) if account_id else None,
            "subject": clean_string(subject, 64) if subject else None,
            "is_error": is_error,
        }
        stored = True
        try:
            if self.spool.path.exists() and self.spool.path.stat().st_size:
                self._drain()  # older events first: order is kept
            self._insert([record])
        except Exception as exc:
            stored = False
            reason = redact_text(str(exc)[:300], self.secrets)
            try:
                self.spool.append(record)
                log.warning("store unavailable, event spooled: %s", reason)
            except OSError as disk:  # ENOSPC, read-only disk: the one case an event is lost
                log.error(
                    "event lost: store unavailable (%s) and spool not writable (%s): %s",
                    reason,
                    disk.strerror or disk,
                    event_type,
                )
                return None
        level = logging.ERROR if severity in ("error", "critical") else logging.INFO
        log.log(
            level, "%s %s", event_type, redact_text(str(data.get("error_message", ""))[:300], self.secrets)
        )
        return TrackedEvent(
            record["event_uid"], event_type, severity, self.clock.now(), data, fingerprint, stored
        )

    def _drain(self) -> int:
        """Replay the spool (a bad line is quarantined, never blocks the rest) and report what was set
        aside as an error, so ``xbot status`` and the health report see it."""
        replayed = self.spool.drain(self._insert, refused=record_refused)
        if self.spool.last_quarantined:
            self.track_error(
                "events",
                "spool_quarantined",
                f"{self.spool.last_quarantined} spooled line(s) were not events; set aside in "
                f"{quarantine_path(self.spool.path)}",
                "warning",
                {"lines": self.spool.last_quarantined, "file": str(quarantine_path(self.spool.path))},
            )
        return replayed

    def _insert(self, records: list[dict[str, Any]]) -> None:
        rows = [{**r, "created_at": datetime.fromisoformat(r["created_at"])} for r in records]
        with self.store.begin() as conn:
            event_queries.insert_events(conn, rows)
