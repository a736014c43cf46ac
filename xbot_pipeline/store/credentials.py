"""Queries on ``account_credentials``: each account's sign-in, with its secrets already sealed.

The store never sees a secret in the clear (auth/vault.py seals them first). A refreshed token pair is
stored with a compare-and-set on ``version``: a pair read before somebody else's refresh is never
written back over a newer one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import CREDENTIAL_KINDS, account_credentials


def save_credentials(
    store: Store,
    account_id: str,
    *,
    kind: str,
    sealed: str,
    client_id: str | None = None,
    confidential: bool = False,
    scopes: str | None = None,
    expires_at: datetime | None = None,
) -> int:
    """Create or replace the account's sign-in (a new login); returns the new version."""
    if kind not in CREDENTIAL_KINDS:
        raise ValueError(f"credential kind must be one of {CREDENTIAL_KINDS}, got {kind!r}")
    now = store.clock.now()
    values: dict[str, Any] = dict(
        kind=kind,
        sealed=sealed,
        client_id=client_id,
        confidential=confidential,
        scopes=scopes,
        expires_at=expires_at,
        status="ok",
        status_reason=None,
        refreshed_at=None,
        updated_at=now,
    )
    with store.begin() as conn:
        row = conn.execute(
            sa.select(account_credentials.c.version)
            .where(account_credentials.c.account_id == account_id)
            .with_for_update()
        ).first()
        if row is None:
            conn.execute(
                account_credentials.insert().values(
                    account_id=account_id, version=1, created_at=now, **values
                )
            )
            return 1
        version = int(row.version) + 1
        conn.execute(
            account_credentials.update()
            .where(account_credentials.c.account_id == account_id)
            .values(version=version, **values)
        )
        return version


def get_credentials(store: Store, account_id: str) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(
            sa.select(account_credentials).where(account_credentials.c.account_id == account_id)
        ).first()
    return dict(row._mapping) if row else None


def list_credentials(store: Store) -> list[dict[str, Any]]:
    with store.connect() as conn:
        rows = conn.execute(sa.select(account_credentials).order_by(account_credentials.c.account_id))
        return [dict(r._mapping) for r in rows]


def store_refreshed(
    store: Store, account_id: str, *, expected_version: int, sealed: str, expires_at: datetime | None
) -> bool:
    """Store a refreshed pair over ``expected_version`` only (compare-and-set); False when the row moved
    on (another refresh or a new login won) and nothing was written."""
    now = store.clock.now()
    with store.begin() as conn:
        result = conn.execute(
            account_credentials.update()
            .where(
                account_credentials.c.account_id == account_id,
                account_credentials.c.version == expected_version,
            )
            .values(
                sealed=sealed,
                expires_at=expires_at,
                version=expected_version + 1,
                refresh_count=account_credentials.c.refresh_count + 1,
                refreshed_at=now,
                status="ok",
                status_reason=None,
                updated_at=now,
            )
        )
    return result.rowcount == 1


def mark_refused(store: Store, account_id: str, reason: str) -> None:
    """X refused the credentials (a dead refresh token, a wrong secret): only a new login helps."""
    with store.begin() as conn:
        conn.execute(
            account_credentials.update()
            .where(account_credentials.c.account_id == account_id)
            .values(status="refused", status_reason=reason[:500], updated_at=store.clock.now())
        )


def delete_credentials(store: Store, account_id: str) -> bool:
    with store.begin() as conn:
        result = conn.execute(
            account_credentials.delete().where(account_credentials.c.account_id == account_id)
        )
    return result.rowcount == 1
