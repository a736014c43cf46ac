"""Every XBOT_* family is validated at start: by every `xbot` command and by the code location's load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xbot_pipeline.definitions import defs
from xbot_pipeline.settings import SettingsError
from xbot_pipeline_tests.procutil import XBOT

ROOT = Path(__file__).resolve().parents[2]
# One malformed variable per family; each failed silently or with a traceback before issue 10.
MALFORMED = {
    "core": ("XBOT_PUBLISHER", "carrier-pigeon"),
    "health": ("XBOT_HEALTH_MIN_HEALTH", "120"),
    "learning": ("XBOT_LEARNING_USE_LLM", "maybe"),
}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XBOT_", "DAGSTER_"))}
    return {**env, "XBOT_HOME": str(tmp_path / "home"), **extra}


@pytest.mark.parametrize("family", sorted(MALFORMED))
@pytest.mark.parametrize("command", [["status"], ["accounts"], ["sandbox", "accounts"]])
def test_a_malformed_variable_stops_any_command_with_one_line(
    tmp_path: Path, family: str, command: list[str]
) -> None:
    name, value = MALFORMED[family]
    out = subprocess.run(
        [*XBOT, *command], env=_env(tmp_path, **{name: value}), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"xbot: error: {name} must ") and repr(value) in lines[0]
    assert not (tmp_path / "home").exists()  # nothing was created: the command stopped at start


def test_an_unknown_variable_is_one_warning_line_and_the_command_runs(tmp_path: Path) -> None:
    out = subprocess.run(
        [*XBOT, "status", "--json"],
        env=_env(tmp_path, XBOT_HEALTH_MIN_HEALTHH="60"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "XBOT_HEALTH_MIN_HEALTHH" in lines[0] and "XBOT_HEALTH_MIN_HEALTH?" in lines[0]


@pytest.mark.parametrize("family", sorted(MALFORMED))
def test_the_code_location_fails_to_load_with_the_line(monkeypatch: pytest.MonkeyPatch, family: str) -> None:
    name, value = MALFORMED[family]
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        defs()
    message = str(err.value)
    assert message.startswith(f"{name} must ") and "\n" not in message


def test_dagster_refuses_the_workspace_naming_the_variable(tmp_path: Path) -> None:
    (tmp_path / "dh").mkdir()
    env = _env(tmp_path, DAGSTER_HOME=str(tmp_path / "dh"), XBOT_HEALTH_MIN_HEALTH="120")
    out = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode != 0
    assert "XBOT_HEALTH_MIN_HEALTH must be a percentage from 0 to 100, got '120'" in out.stdout + out.stderr
