"""A real Dagster instance as production configures it: the repository's dagster.yaml on a fresh Postgres
database (XBOT_TEST_DATABASE=postgres) or the embedded instance's generated yaml (sqlite)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy.engine import make_url

from xbot_pipeline.instance import ensure_local_instance
from xbot_pipeline.settings import load_settings
from xbot_pipeline_tests import dbutil
from xbot_pipeline_tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parents[2]


def dagster_pg_url(store_url: str) -> str:
    """The psycopg2 URL dagster-postgres needs (see dagster.yaml)."""
    return make_url(store_url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A DAGSTER_HOME holding the instance config for the backend under test (a new database each)."""
    if BACKEND == "postgres":
        dbutil.require_postgres()
        url = dbutil.create_pg_database("xbot_dagster")
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        monkeypatch.setenv("XBOT_DAGSTER_PG_URL", dagster_pg_url(url))
        try:
            yield home
        finally:
            dbutil.drop_pg_database(url)
    else:
        yield ensure_local_instance(load_settings({"XBOT_HOME": str(tmp_path / "xbot")}))


@pytest.fixture
def instance(dagster_home: Path) -> Iterator[dg.DagsterInstance]:
    inst = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        yield inst
    finally:
        inst.dispose()
