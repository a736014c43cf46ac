"""Queries for `xbot import` and `xbot export`: row keys, same-content posts, batch inserts, the export.

Idempotency lives in the database: ``posts.import_key`` has a unique index and the insert is
``INSERT ... ON CONFLICT (import_key) DO NOTHING``, so two imports of one file, even at the same time,
add each row once; the rows the index turned away are simply not in what the insert returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from xbot_pipeline.store import Store
from xbot_pipeline.store.schema import accounts, post_metrics, posts

# Bound parameters per statement stay far below SQLite's 32766 and Postgres' 65535.
CHUNK = 500


def _chunks(values: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def posts_by_import_key(store: Store, keys: Iterable[str]) -> dict[str, int]:
    """``{import_key: post id}`` for the keys some post already carries."""
    wanted = sorted(set(keys))
    found: dict[str, int] = {}
    with store.connect() as conn:
        for chunk in _chunks(wanted):
            query = sa.select(posts.c.import_key, posts.c.id).where(posts.c.import_key.in_(chunk))
            found.update({key: int(pid) for key, pid in conn.execute(query)})
    return found


def posts_with_hashes(store: Store, hashes: Iterable[str]) -> list[dict[str, Any]]:
    """Every post, any status, whose content hash is one of ``hashes`` (the import's duplicate checks)."""
    p = posts.c
    columns = (
        p.id,
        p.account_id,
        p.kind,
        p.text,
        p.parts,
        p.reply_to_tweet_id,
        p.scheduled_at,
        p.status,
        p.posted_at,
        p.created_at,
        p.content_hash,
    )
    rows: list[dict[str, Any]] = []
    with store.connect() as conn:
        for chunk in _chunks(sorted(set(hashes))):
            query = sa.select(*columns).where(p.content_hash.in_(chunk)).order_by(p.id)
            rows += [dict(r._mapping) for r in conn.execute(query)]
    return rows


def existing_accounts(store: Store, account_ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(account_ids))
    found: set[str] = set()
    with store.connect() as conn:
        for chunk in _chunks(wanted):
            found.update(conn.execute(sa.select(accounts.c.id).where(accounts.c.id.in_(chunk))).scalars())
    return found


def insert_imported(store: Store, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert queued posts (each dict: the same ``posts`` columns, ``import_key`` set) in ONE transaction;
    returns ``{import_key: new post id}``. A row whose key is already taken, by an earlier import or a
    concurrent one, is skipped by the unique index and is missing from the result. One executemany:
    SQLAlchemy batches it into multi-row INSERT ... RETURNING statements ("insertmanyvalues")."""
    if not rows:
        return {}
    dialect = postgresql if store.dialect == "postgresql" else sqlite
    stmt = (
        dialect.insert(posts)
        .on_conflict_do_nothing(index_elements=[posts.c.import_key])
        .returning(posts.c.import_key, posts.c.id)
    )
    with store.begin() as conn:
        return {key: int(pid) for key, pid in conn.execute(stmt, rows)}


def export_page(
    store: Store,
    *,
    after_id: int,
    limit: int,
    statuses: tuple[str, ...] = (),
    account_id: str | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` posts with ``id > after_id`` (id order), each with ``metrics``: its latest
    ``post_metrics`` row (``None`` when never measured)."""
    query = sa.select(posts).where(posts.c.id > after_id).order_by(posts.c.id).limit(limit)
    if statuses:
        query = query.where(posts.c.status.in_(statuses))
    if account_id is not None:
        query = query.where(posts.c.account_id == account_id)
    m = post_metrics.c
    with store.connect() as conn:
        page = [dict(r._mapping) for r in conn.execute(query)]
        ids = [row["id"] for row in page]
        latest: dict[int, dict[str, Any]] = {}
        for chunk in _chunks(ids):
            newest = sa.select(sa.func.max(m.id)).where(m.post_id.in_(chunk)).group_by(m.post_id)
            for r in conn.execute(sa.select(post_metrics).where(m.id.in_(newest))):
                latest[int(r.post_id)] = dict(r._mapping)
    for row in page:
        row["metrics"] = latest.get(row["id"])
    return page
