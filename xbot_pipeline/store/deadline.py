"""A client-side bound on every store call (Postgres): a store that stops answering fails the call, it
never hangs the caller.

The server-side ``statement_timeout`` bounds slow statements and the TCP keepalives / user timeout a lost
peer, but neither fires when something between us and Postgres (a stuck proxy or pooler, a half-dead
NAT) keeps the TCP connection open and silent. So each ``Store.begin()``/``connect()``/``ping()`` runs
under a deadline: when it passes, the engine's sockets are shut down (the blocked call fails at once
with ``OperationalError``, as a refused connection does, and callers fall back to the journal and the
spool), and for ``hung_retry_s`` later calls fail fast instead of waiting again. A connection attempt
that times out (``connect_timeout``) is the same silent store and starts the same fail-fast period.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger("xbot_pipeline.store")

CALL_DEADLINE_S = 15.0  # a store call (one transaction) longer than this is a hung store
HUNG_RETRY_S = 15.0  # after a hung call, later calls fail fast for this long


class StoreHung(Exception):
    """The store did not answer within the deadline (wrapped in ``OperationalError`` for callers)."""


class CallGuard:
    def __init__(self, deadline_s: float = CALL_DEADLINE_S, hung_retry_s: float = HUNG_RETRY_S) -> None:
        self.deadline_s = deadline_s
        self.hung_retry_s = hung_retry_s
        self.hung_until = 0.0
        self._conns: weakref.WeakSet[Any] = weakref.WeakSet()

    def register(self, dbapi_connection: Any, _record: Any) -> None:
        """SQLAlchemy's ``connect`` event: remember each DBAPI connection so a trip can cut it."""
        self._conns.add(dbapi_connection)

    @contextmanager
    def call(self) -> Iterator[None]:
        left = self.hung_until - time.monotonic()
        if left > 0:
            raise sa.exc.OperationalError(
                "store call",
                None,
                StoreHung(f"the store did not answer within {self.deadline_s:g} s; retried in {left:.0f} s"),
            )
        timer = threading.Timer(self.deadline_s, self._trip)
        timer.daemon = True
        timer.start()
        try:
            yield
        except sa.exc.OperationalError as exc:
            if _connect_timed_out(exc):  # connecting hung (connect_timeout): the same silent store
                self._hung(f"connecting timed out ({exc.orig})")
            raise
        finally:
            timer.cancel()

    def _hung(self, why: str) -> None:
        self.hung_until = time.monotonic() + self.hung_retry_s
        log.error("store hung: %s; store calls fail fast for %g s", why, self.hung_retry_s)

    def _trip(self) -> None:
        self._hung(f"a call exceeded {self.deadline_s:g} s; its connections are cut")
        for conn in list(self._conns):
            _shutdown(conn)


def _connect_timed_out(exc: sa.exc.OperationalError) -> bool:
    orig = exc.orig
    return type(orig).__name__ == "ConnectionTimeout" or "timeout expired" in str(orig)


def _shutdown(dbapi_connection: Any) -> None:
    """Shut the connection's socket down: a read blocked on it returns at once (EOF)."""
    with contextlib.suppress(Exception):
        pgconn = getattr(dbapi_connection, "pgconn", None)  # psycopg 3
        fd = pgconn.socket if pgconn is not None else dbapi_connection.fileno()
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()


_GUARDS: weakref.WeakKeyDictionary[Engine, CallGuard] = weakref.WeakKeyDictionary()


def install(engine: Engine, guard: CallGuard) -> None:
    sa.event.listen(engine, "connect", guard.register)
    _GUARDS[engine] = guard


def guarded(engine: Engine) -> contextlib.AbstractContextManager[None]:
    """The deadline for one store call on ``engine`` (no-op on engines without a guard: SQLite)."""
    guard = _GUARDS.get(engine)
    return guard.call() if guard is not None else contextlib.nullcontext()
