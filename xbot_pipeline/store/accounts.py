"""Queries on ``accounts``: the X accounts the pipeline runs, each with its own limits and state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import accounts

ACCOUNT_STATUSES = ("active", "paused", "cooldown")


def ensure_account(
    store: Store,
    account_id: str,
    *,
    handle: str | None = None,
    publisher: str = "api",
    x_user_id: str | None = None,
    limits: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create the account if it does not exist (idempotent); returns the row."""
    now = store.clock.now()
    with store.begin() as conn:
        row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        accounts.insert().values(
                            id=account_id,
                            handle=handle or account_id,
                            publisher=publisher,
                            x_user_id=x_user_id,
                            limits=limits or {},
                            created_at=now,
                            updated_at=now,
                        )
                    )
            except sa.exc.IntegrityError:
                pass  # created concurrently by another process
            row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).one()
    return dict(row._mapping)


def get_account(store: Store, account_id: str) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
    return dict(row._mapping) if row else None


def list_accounts(store: Store) -> list[dict[str, Any]]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(accounts).order_by(accounts.c.id))]


def set_account_status(
    store: Store, account_id: str, status: str, reason: str | None = None, *, until: datetime | None = None
) -> bool:
    """Set active | paused | cooldown (with ``until``). Returns False when the account does not exist."""
    if status not in ACCOUNT_STATUSES:
        raise ValueError(f"account status must be one of {ACCOUNT_STATUSES}, got {status!r}")
    with store.begin() as conn:
        result = conn.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(status=status, status_reason=reason, cooldown_until=until, updated_at=store.clock.now())
        )
    return result.rowcount == 1


def pause_account(store: Store, account_id: str, reason: str) -> bool:
    """Stop posting from an account until an operator resumes it (e.g. the session expired)."""
    return set_account_status(store, account_id, "paused", reason)


def resume_account(store: Store, account_id: str) -> bool:
    return set_account_status(store, account_id, "active", None)


def start_cooldown(store: Store, account_id: str, until: datetime, reason: str) -> bool:
    """X said "looks automated" (226): no posting from this account until ``until``."""
    return set_account_status(store, account_id, "cooldown", reason, until=until)


def update_limits(store: Store, account_id: str, limits: dict[str, Any]) -> None:
    with store.begin() as conn:
        conn.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(limits=limits, updated_at=store.clock.now())
        )


def set_publisher(store: Store, account_id: str, publisher: str) -> None:
    """Switch how an account publishes (``browser`` or ``api``); its queue and history stay."""
    with store.begin() as conn:
        conn.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(publisher=publisher, updated_at=store.clock.now())
        )


def set_handle(store: Store, account_id: str, handle: str) -> None:
    """Set the account's X handle (what the browser publisher opens as the profile; validated by callers)."""
    with store.begin() as conn:
        conn.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(handle=handle, updated_at=store.clock.now())
        )


def set_review(store: Store, account_id: str, mode: str) -> None:
    """Set the account's review mode (``off``, ``all``, ``generated``; validated by callers)."""
    with store.begin() as conn:
        conn.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(review=mode, updated_at=store.clock.now())
        )
