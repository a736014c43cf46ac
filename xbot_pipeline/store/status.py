"""Read-only summaries for `xbot status`: queue, breakers, errors and the latest health report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import accounts, circuit_breakers, posts, system_events


def status_summary(store: Store) -> dict[str, Any]:
    now = store.clock.now()
    with store.connect() as conn:
        queue = [
            {"account_id": a, "status": s, "count": n}
            for a, s, n in conn.execute(
                sa.select(posts.c.account_id, posts.c.status, sa.func.count())
                .group_by(posts.c.account_id, posts.c.status)
                .order_by(posts.c.account_id, posts.c.status)
            )
        ]
        breakers = [
            {
                "account_id": r.account_id,
                "publisher": r.publisher,
                "state": r.state,
                "consecutive_failures": r.consecutive_failures,
                "open_until": r.open_until.isoformat() if r.open_until else None,
            }
            for r in conn.execute(sa.select(circuit_breakers).order_by(circuit_breakers.c.account_id))
        ]
        account_rows = [
            {"id": r.id, "handle": r.handle, "status": r.status, "reason": r.status_reason}
            for r in conn.execute(sa.select(accounts).order_by(accounts.c.id))
        ]
        errors_24h = conn.execute(
            sa.select(sa.func.count()).where(
                system_events.c.is_error.is_(True), system_events.c.created_at > now - timedelta(hours=24)
            )
        ).scalar_one()
        last = conn.execute(
            sa.select(system_events.c.event_data, system_events.c.created_at)
            .where(system_events.c.event_type == "system_health_report")
            .order_by(system_events.c.id.desc())
            .limit(1)
        ).first()
    health = None
    if last is not None:
        data = last.event_data or {}
        health = {
            "overallHealth": data.get("overallHealth"),
            "errorRate": data.get("errorRate"),
            "recoveryRate": data.get("recoveryRate"),
            "criticalIssues": data.get("criticalIssues", []),
            "created_at": last.created_at.isoformat(),
        }
    return {
        "now": now.isoformat(),
        "accounts": account_rows,
        "queue": queue,
        "breakers": breakers,
        "errors_24h": errors_24h,
        "health": health,
    }
