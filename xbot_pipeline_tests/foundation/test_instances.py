"""Both Dagster instances work: the production one (repo dagster.yaml on Postgres) and the embedded one."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import make_url

from xbot_pipeline.instance import LOCAL_INSTANCE_YAML, ensure_local_instance
from xbot_pipeline.settings import load_settings
from xbot_pipeline_tests import dbutil

ROOT = Path(__file__).resolve().parents[2]


@dg.op
def _hello() -> int:
    return 1


@dg.job
def _probe_job() -> None:
    _hello()


def test_production_instance_stores_runs_in_postgres(tmp_path: Path, monkeypatch) -> None:
    dbutil.require_postgres()
    url = dbutil.create_pg_database("xbot_dagster")
    try:
        shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
        pg = make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
        monkeypatch.setenv("XBOT_DAGSTER_PG_URL", pg)
        instance = dg.DagsterInstance.from_config(str(tmp_path))
        try:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert _probe_job.execute_in_process(instance=instance).success
            assert len(instance.get_runs()) == 1
        finally:
            instance.dispose()
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar_one() == 1
        engine.dispose()
    finally:
        dbutil.drop_pg_database(url)


def test_production_config_has_pools_monitoring_and_no_telemetry() -> None:
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "XBOT_DAGSTER_PG_URL"}
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["run_monitoring"]["enabled"] is True
    assert config["telemetry"]["enabled"] is False


def test_embedded_instance_needs_no_services(tmp_path: Path) -> None:
    settings = load_settings({"XBOT_HOME": str(tmp_path)})
    home = ensure_local_instance(settings)
    assert (home / "dagster.yaml").read_text() == LOCAL_INSTANCE_YAML
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert _probe_job.execute_in_process(instance=instance).success
    finally:
        instance.dispose()
