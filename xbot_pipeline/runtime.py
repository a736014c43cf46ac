"""Builds the object graph (store, tracker) from settings: shared by the CLI and the Dagster resources."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from xbot_pipeline.clock import Clock, SystemClock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.events.redact import register_secret
from xbot_pipeline.settings import Settings, load_settings
from xbot_pipeline.store import Store
from xbot_pipeline.store.engine import Engine, create_store_engine
from xbot_pipeline.store.migrate import upgrade


@dataclass
class Runtime:
    settings: Settings
    store: Store
    tracker: EventTracker

    @property
    def clock(self) -> Clock:
        return self.store.clock


_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()


def open_runtime(
    settings: Settings | None = None, *, clock: Clock | None = None, migrate: bool = True
) -> Runtime:
    """One engine per database URL per process; migrations run once per process (idempotent anyway)."""
    settings = settings or load_settings()
    register_secret(*settings.secrets())
    settings.home.mkdir(parents=True, exist_ok=True)
    with _lock:
        engine = _engines.get(settings.database_url)
        if engine is None:
            engine = _engines[settings.database_url] = create_store_engine(settings.database_url)
        if migrate and settings.database_url not in _migrated:
            upgrade(engine)
            _migrated.add(settings.database_url)
    store = Store(engine=engine, clock=clock or SystemClock())
    tracker = EventTracker.for_home(store, settings.home, secrets=settings.secrets())
    return Runtime(settings=settings, store=store, tracker=tracker)
