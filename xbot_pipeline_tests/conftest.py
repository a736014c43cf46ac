"""Shared fixtures. The store backend is chosen by XBOT_TEST_DATABASE (sqlite | postgres); CI runs both.

Domain fixtures live in ``fixtures/<domain>.py`` and are loaded as plugins below.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from xbot_pipeline.clock import ManualClock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.settings import Settings, load_settings
from xbot_pipeline.store import Store, metadata
from xbot_pipeline.store.engine import create_store_engine
from xbot_pipeline.store.migrate import upgrade
from xbot_pipeline_tests import dbutil
from xbot_pipeline_tests.schedule import deal

pytest_plugins = [
    "xbot_pipeline_tests.fixtures.sandbox",
    "xbot_pipeline_tests.fixtures.posting",
    "xbot_pipeline_tests.fixtures.health",
    "xbot_pipeline_tests.fixtures.learning",
    "xbot_pipeline_tests.fixtures.traceback_scan",
]

BACKEND = os.environ.get("XBOT_TEST_DATABASE", "sqlite").strip().lower()

# What makes a test depend on the store backend: a fixture that opens the store or the Dagster instance of
# the backend under test, or a module that reads BACKEND itself.
BACKEND_FIXTURES = frozenset({"database_url", "dagster_home"})


def uses_backend(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    module = getattr(item, "module", None)
    return bool(names & BACKEND_FIXTURES) or getattr(module, "BACKEND", None) is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Postgres pass runs only the tests whose outcome can depend on the store: a test that never
    opens the store (a pure function, the stand-in, a parser) runs once, in the SQLite pass. Set
    XBOT_TEST_ALL_ON_POSTGRES=1 to run everything on Postgres anyway. Then the start order deals the long
    tests out to the xdist workers (see ``schedule.py``)."""
    if BACKEND == "postgres" and os.environ.get("XBOT_TEST_ALL_ON_POSTGRES") != "1":
        dropped = [i for i in items if not uses_backend(i)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [i for i in items if uses_backend(i)]
    items[:] = deal(items, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database for the whole session (per xdist worker)."""
    if BACKEND == "postgres":
        dbutil.require_postgres()
        url = dbutil.create_pg_database()
        engine = create_store_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        dbutil.drop_pg_database(url)
    else:
        path = tmp_path_factory.mktemp("store") / "xbot.sqlite3"
        url = f"sqlite:///{path}"
        engine = create_store_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def _session_engine(database_url: str) -> Iterator[sa.engine.Engine]:
    engine = create_store_engine(database_url)
    yield engine
    engine.dispose()


def _empty_all_tables(engine: sa.engine.Engine) -> None:
    tables = list(reversed(metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(_session_engine: sa.engine.Engine, clock: ManualClock) -> Store:
    """A store with every table empty, stamped by the test's ManualClock."""
    _empty_all_tables(_session_engine)
    return Store(engine=_session_engine, clock=clock)


@pytest.fixture
def xbot_home(tmp_path: Path) -> Path:
    home = tmp_path / "xbot-home"
    home.mkdir()
    return home


@pytest.fixture
def settings(xbot_home: Path, database_url: str) -> Settings:
    return load_settings({"XBOT_HOME": str(xbot_home), "XBOT_DATABASE_URL": database_url})


@pytest.fixture
def tracker(store: Store, xbot_home: Path) -> EventTracker:
    return EventTracker.for_home(store, xbot_home)


@pytest.fixture(autouse=True)
def _no_stale_dagster_defs_state() -> Iterator[None]:
    """Dagster 1.13's ``DagsterInstance.__enter__`` sets the current defs-state storage and its ``__exit__``
    never resets it, so a later ``defs()`` in the same process finds a dead instance ("Attempted to resolve
    undefined DagsterInstance weakref"). Reset it after every test so tests do not depend on their order."""
    yield
    from dagster._core.storage.defs_state.base import _current_storage

    _current_storage.set(None)
