"""Queries on ``circuit_breakers``: one persisted breaker per (account, publisher) so every run agrees."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import circuit_breakers as cb


def load_breaker(store: Store, account_id: str, publisher: str) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(
            sa.select(cb).where(cb.c.account_id == account_id, cb.c.publisher == publisher)
        ).first()
    return dict(row._mapping) if row else None


def save_breaker(store: Store, account_id: str, publisher: str, now: datetime, **values: Any) -> None:
    """Upsert the breaker row (insert-or-update, race-safe on both backends)."""
    with store.begin() as conn:
        updated = conn.execute(
            cb.update()
            .where(cb.c.account_id == account_id, cb.c.publisher == publisher)
            .values(updated_at=now, **values)
        ).rowcount
        if updated:
            return
        try:
            with conn.begin_nested():
                conn.execute(
                    cb.insert().values(account_id=account_id, publisher=publisher, updated_at=now, **values)
                )
        except sa.exc.IntegrityError:
            conn.execute(
                cb.update()
                .where(cb.c.account_id == account_id, cb.c.publisher == publisher)
                .values(updated_at=now, **values)
            )


def claim_probe(store: Store, account_id: str, publisher: str, now: datetime) -> bool:
    """Let exactly one caller through a half-open breaker (guarded UPDATE)."""
    with store.begin() as conn:
        result = conn.execute(
            cb.update()
            .where(
                cb.c.account_id == account_id,
                cb.c.publisher == publisher,
                cb.c.state == "half_open",
                cb.c.probe_started_at.is_(None),
            )
            .values(probe_started_at=now, updated_at=now)
        )
    return result.rowcount == 1


def list_breakers(store: Store) -> list[dict[str, Any]]:
    with store.connect() as conn:
        return [
            dict(r._mapping) for r in conn.execute(sa.select(cb).order_by(cb.c.account_id, cb.c.publisher))
        ]
