"""Test databases: a private Postgres database per test session (per xdist worker), or SQLite files."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from xbot_pipeline.store.urls import normalize_database_url

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pg_admin_url() -> str:
    return normalize_database_url(os.environ.get("XBOT_TEST_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL))


def postgres_available() -> bool:
    try:
        engine = sa.create_engine(pg_admin_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


def require_postgres() -> None:
    """Skip when Postgres is absent, except under CI where a missing Postgres is a failure."""
    if postgres_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("Postgres is required under CI=true but 127.0.0.1:5432 does not answer")
    pytest.skip("Postgres not reachable on 127.0.0.1:5432")


def create_pg_database(prefix: str = "xbot_test") -> str:
    """Create an empty database and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = sa.create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
