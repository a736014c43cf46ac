"""Queries on ``leases``: named, expiring locks shared by every run and process on one store.

A lease is a row; taking it is an INSERT that only one holder can win (the primary key). A crashed
holder's lease is reclaimable once ``expires_at`` has passed. A posting acquirer that is waiting leaves a
short-lived ``<name>#posting-waiting`` marker so lower-priority acquirers (metrics, ...) step aside.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.holders import holder_alive
from xbot_pipeline.store.schema import leases

PRIORITY_PURPOSES = ("posting", "reply")  # these go before metrics and everything else
WAITING_SUFFIX = "#posting-waiting"


def _try_insert(conn: sa.Connection, values: dict[str, Any]) -> bool:
    try:
        with conn.begin_nested():
            conn.execute(leases.insert().values(**values))
        return True
    except sa.exc.IntegrityError:
        return False


def acquire_lease(store: Store, name: str, holder: str, purpose: str, ttl_s: float) -> bool:
    """Take (or extend, if ``holder`` already has it) the lease ``name`` for ``ttl_s`` seconds.

    Lower-priority purposes are refused while a posting acquirer waits for the same name.
    """
    now = store.clock.now()
    expires = now + timedelta(seconds=ttl_s)
    with store.begin() as conn:
        conn.execute(leases.delete().where(leases.c.name == name, leases.c.expires_at <= now))
        if purpose not in PRIORITY_PURPOSES:
            waiting = conn.execute(
                sa.select(leases.c.holder).where(
                    leases.c.name == name + WAITING_SUFFIX, leases.c.expires_at > now
                )
            ).first()
            if waiting is not None:
                return False
        values = dict(name=name, holder=holder, purpose=purpose, acquired_at=now, expires_at=expires)
        if _try_insert(conn, values):
            return True
        extended = conn.execute(
            leases.update()
            .where(leases.c.name == name, leases.c.holder == holder)
            .values(purpose=purpose, expires_at=expires)
        )
        return extended.rowcount == 1


def mark_waiting(store: Store, name: str, holder: str, ttl_s: float) -> None:
    """Say "a posting operation waits for ``name``" (refreshed while waiting, expires by itself)."""
    now = store.clock.now()
    marker = name + WAITING_SUFFIX
    with store.begin() as conn:
        conn.execute(leases.delete().where(leases.c.name == marker, leases.c.expires_at <= now))
        values = dict(
            name=marker,
            holder=holder,
            purpose="waiting",
            acquired_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
        if not _try_insert(conn, values):
            conn.execute(
                leases.update()
                .where(leases.c.name == marker)
                .values(expires_at=now + timedelta(seconds=ttl_s))
            )


def clear_waiting(store: Store, name: str, holder: str) -> None:
    with store.begin() as conn:
        conn.execute(leases.delete().where(leases.c.name == name + WAITING_SUFFIX, leases.c.holder == holder))


def release_lease(store: Store, name: str, holder: str) -> bool:
    """Give the lease back; False when ``holder`` did not hold it (expired and taken by someone else)."""
    with store.begin() as conn:
        result = conn.execute(leases.delete().where(leases.c.name == name, leases.c.holder == holder))
    return result.rowcount == 1


def release_expired_leases(store: Store) -> int:
    """Delete every expired lease (the recovery job calls this); returns how many were freed."""
    with store.begin() as conn:
        result = conn.execute(leases.delete().where(leases.c.expires_at <= store.clock.now()))
    return int(result.rowcount or 0)


def get_lease(store: Store, name: str) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(sa.select(leases).where(leases.c.name == name)).first()
    return dict(row._mapping) if row else None


def release_dead_holders(store: Store) -> int:
    """Release every lease held by a process on this host that no longer runs (killed mid-operation),
    without waiting for its expiry; returns how many were freed."""
    with store.connect() as conn:
        rows = conn.execute(sa.select(leases.c.name, leases.c.holder)).all()
    return sum(
        1 for name, holder in rows if holder_alive(holder) is False and release_lease(store, name, holder)
    )
