"""The code location loads and validates; the `xbot` command answers and fails cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from xbot_pipeline.definitions import defs

ROOT = Path(__file__).resolve().parents[2]
XBOT = [sys.executable, "-c", "from xbot_pipeline.cli import main; main()"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XBOT_", "DAGSTER_"))}
    return {**env, "XBOT_HOME": str(tmp_path / "home"), **extra}


def test_every_definition_loads_and_validates() -> None:
    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    assert "xbot" in (definitions.resources or {})


def test_dagster_cli_validates_the_workspace(tmp_path: Path) -> None:
    env = _env(tmp_path, DAGSTER_HOME=str(tmp_path / "dh"))
    (tmp_path / "dh").mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "xbot_pipeline" in out.stdout + out.stderr


def test_xbot_help_lists_the_contract_commands(tmp_path: Path) -> None:
    out = subprocess.run([*XBOT, "--help"], env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for command in ("demo", "status", "db"):
        assert command in out.stdout


def test_status_json_on_a_fresh_home(tmp_path: Path) -> None:
    out = subprocess.run(
        [*XBOT, "status", "--json"], env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["queue"] == [] and summary["errors_24h"] == 0 and summary["health"] is None


def test_malformed_database_url_is_one_clear_line_and_nonzero(tmp_path: Path) -> None:
    out = subprocess.run(
        [*XBOT, "status"],
        env=_env(tmp_path, XBOT_DATABASE_URL="mysql://nope"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "XBOT_DATABASE_URL" in lines[0]


def test_unreachable_postgres_is_one_clear_line(tmp_path: Path) -> None:
    env = _env(tmp_path, XBOT_DATABASE_URL="postgresql://postgres@127.0.0.1:1/nothing")
    out = subprocess.run([*XBOT, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 3
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be reached" in lines[0]
