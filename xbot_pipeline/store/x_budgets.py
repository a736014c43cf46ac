"""Queries on ``x_budgets``: what X's 24-hour post caps said last, per account ('user') and per X app."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import x_budgets as xb

SCOPES = ("user", "app")


def save_x_budget(
    store: Store,
    scope: str,
    key: str,
    now: datetime,
    *,
    cap: int | None,
    remaining: int | None,
    reset_at: datetime | None,
) -> None:
    """Upsert one budget row (insert-or-update, race-safe on both backends): the last answer wins."""
    if scope not in SCOPES:
        raise ValueError(f"budget scope must be one of {SCOPES}, got {scope!r}")
    values = {"cap": cap, "remaining": remaining, "reset_at": reset_at, "updated_at": now}
    where = (xb.c.scope == scope, xb.c.key == key)
    with store.begin() as conn:
        if conn.execute(xb.update().where(*where).values(**values)).rowcount:
            return
        try:
            with conn.begin_nested():
                conn.execute(xb.insert().values(scope=scope, key=key, **values))
        except sa.exc.IntegrityError:
            conn.execute(xb.update().where(*where).values(**values))


def load_x_budget(store: Store, scope: str, key: str) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(sa.select(xb).where(xb.c.scope == scope, xb.c.key == key)).first()
    return dict(row._mapping) if row else None


def list_x_budgets(store: Store) -> list[dict[str, Any]]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(xb).order_by(xb.c.scope, xb.c.key))]
