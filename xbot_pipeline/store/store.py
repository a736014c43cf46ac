"""``Store``: the handle domain code receives; an engine plus the process's one clock (see ``clock.py``):
queries stamp rows with it and domain code given a store reads the time from it, never from a second
``clock`` argument."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from xbot_pipeline.clock import Clock, SystemClock
from xbot_pipeline.store.deadline import guarded
from xbot_pipeline.store.engine import create_store_engine


@dataclass
class Store:
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def open(cls, database_url: str, *, clock: Clock | None = None, migrate: bool = True) -> Store:
        """Open the store at ``database_url``; by default bring its schema to the latest revision."""
        engine = create_store_engine(database_url)
        if migrate:
            from xbot_pipeline.store.migrate import upgrade

            upgrade(engine)
        return cls(engine=engine, clock=clock or SystemClock())

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed on success, rolled back on any exception; bounded (store/deadline.py)."""
        with guarded(self.engine), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with guarded(self.engine), self.engine.connect() as conn:
            yield conn

    def ping(self) -> bool:
        try:
            with self.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
