"""Queries on ``system_events``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from xbot_pipeline.store.schema import system_events

# table column -> key in a tracker/spool record
EVENT_COLUMNS = {
    "event_uid": "event_uid",
    "event_type": "event_type",
    "event_data": "event_data",
    "severity": "severity",
    "created_at": "created_at",
    "event_component": "component",
    "event_error_type": "error_type",
    "fingerprint": "fingerprint",
    "account_id": "account_id",
    "subject": "subject",
    "is_error": "is_error",
}


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert events, silently skipping any whose ``event_uid`` is stored already. Returns rows inserted."""
    if not rows:
        return 0
    values = [{col: row.get(key) for col, key in EVENT_COLUMNS.items()} for row in rows]
    for v in values:
        v["is_error"] = bool(v["is_error"])
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(system_events).on_conflict_do_nothing(index_elements=["event_uid"])
    result = conn.execute(stmt, values)
    return max(result.rowcount, 0)


def mark_recovered(
    conn: Connection,
    now: datetime,
    *,
    subject: str | None = None,
    component: str | None = None,
    error_type: str | None = None,
    account_id: str | None = None,
    fingerprint: str | None = None,
    event_ids: Sequence[int] | None = None,
    without_account: bool = False,
) -> list[int]:
    """Mark open errors matching every given filter as recovered now; returns their ids.

    ``without_account``: only errors that name no account (a pass-wide failure)."""
    filters: list[sa.ColumnElement[bool]] = [
        system_events.c.is_error.is_(True),
        system_events.c.recovered.is_(False),
    ]
    for column, value in (
        (system_events.c.subject, subject),
        (system_events.c.event_component, component),
        (system_events.c.event_error_type, error_type),
        (system_events.c.account_id, account_id),
        (system_events.c.fingerprint, fingerprint),
    ):
        if value is not None:
            filters.append(column == value)
    if event_ids is not None:
        filters.append(system_events.c.id.in_(list(event_ids)))
    if without_account:
        filters.append(system_events.c.account_id.is_(None))
    if len(filters) == 2:
        raise ValueError("mark_recovered needs at least one filter")
    rows = conn.execute(
        sa.select(system_events.c.id, system_events.c.created_at).where(
            *filters, system_events.c.created_at <= now
        )
    ).all()
    for event_id, created_at in rows:
        elapsed_ms = max(0, int((now - created_at).total_seconds() * 1000))
        conn.execute(
            system_events.update()
            .where(system_events.c.id == event_id, system_events.c.recovered.is_(False))
            .values(recovered=True, recovered_at=now, recovery_time_ms=elapsed_ms)
        )
    return [r[0] for r in rows]


def events_since(
    conn: Connection, since: datetime, *, event_type_prefix: str | None = None
) -> list[dict[str, Any]]:
    q = sa.select(system_events).where(system_events.c.created_at >= since).order_by(system_events.c.id)
    if event_type_prefix:
        q = q.where(system_events.c.event_type.startswith(event_type_prefix))
    return [dict(r._mapping) for r in conn.execute(q)]


def subjects_with_event(conn: Connection, subjects: Sequence[str], event_types: Sequence[str]) -> set[str]:
    """Which of ``subjects`` already have an event of one of ``event_types`` (any time)."""
    if not subjects:
        return set()
    q = (
        sa.select(system_events.c.subject)
        .where(system_events.c.subject.in_(list(subjects)), system_events.c.event_type.in_(list(event_types)))
        .distinct()
    )
    return {r[0] for r in conn.execute(q)}
