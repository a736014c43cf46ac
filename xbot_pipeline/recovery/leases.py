"""Free browser leases whose holder process is gone (killed mid-operation) without waiting for expiry."""

from __future__ import annotations

import sqlalchemy as sa

from xbot_pipeline.recovery.liveness import holder_alive
from xbot_pipeline.store import Store
from xbot_pipeline.store.leases import release_lease
from xbot_pipeline.store.schema import leases


def release_dead_holders(store: Store) -> int:
    """Release every lease held by a process on this host that no longer runs; returns how many."""
    with store.connect() as conn:
        rows = conn.execute(sa.select(leases.c.name, leases.c.holder)).all()
    freed = 0
    for name, holder in rows:
        if holder_alive(holder) is False and release_lease(store, name, holder):
            freed += 1
    return freed
