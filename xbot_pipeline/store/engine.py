"""Engines for the operational store: the same code on SQLite (embedded) and Postgres (production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from xbot_pipeline.store.deadline import CALL_DEADLINE_S, HUNG_RETRY_S, CallGuard, install

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Postgres: every wait is bounded (docs/RELIABILITY.md, "store hung"). The server cancels a statement
# after STATEMENT_TIMEOUT_MS; keepalives and the TCP user timeout drop a peer that vanished; the pool
# waits at most POOL_TIMEOUT_S for a free connection; the call deadline (store/deadline.py) covers the
# rest (a path that keeps the TCP connection open but silent).
STATEMENT_TIMEOUT_MS = 10_000
TCP_USER_TIMEOUT_MS = 10_000
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3, "keepalives_count": 3}
POOL_TIMEOUT_S = 10
# What a caller outside the store catches when the database cannot be reached (a refused connection, a
# wrong password, a locked file): the CLI turns it into one line without importing SQLAlchemy.
StoreUnavailable = sa.exc.OperationalError


def record_refused(exc: Exception) -> bool:
    """True when the store answered and refused the data itself (a constraint, a value it cannot hold),
    as opposed to being unavailable, locked or hung: retrying the same record will never succeed."""
    if isinstance(exc, sa.exc.IntegrityError | sa.exc.DataError):
        return True
    return not isinstance(exc, sa.exc.SQLAlchemyError)  # the record itself is malformed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLAlchemy's ``connect`` event: the DBAPI connection and its pool record are untyped there."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_store_engine(
    database_url: str,
    *,
    connect_timeout_s: int = 5,
    call_deadline_s: float = CALL_DEADLINE_S,
    hung_retry_s: float = HUNG_RETRY_S,
) -> Engine:
    """An engine with the pragmas and timeouts every process should share.

    SQLite waits at most ``SQLITE_BUSY_TIMEOUT_MS`` for a lock. Postgres bounds the connect, each
    statement, the TCP connection, the pool and (``call_deadline_s``) each store call as a whole."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that a
        # read-then-write transaction takes the write lock up front (BEGIN IMMEDIATE) when asked.
        return engine
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args={
            "connect_timeout": connect_timeout_s,
            "application_name": "xbot_pipeline",
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
            **KEEPALIVES,
        },
    )
    install(engine, CallGuard(call_deadline_s, hung_retry_s))
    return engine
