"""`xbot ui`: the Dagster webserver and daemon on this code location."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from xbot_pipeline.cli.app import app, console
from xbot_pipeline.instance import dagster_home_for
from xbot_pipeline.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


@app.command()
def ui(port: int = typer.Option(3000, help="Webserver port."), host: str = typer.Option("127.0.0.1")) -> None:
    """Start the Dagster UI and daemon (schedules and sensors run) on the embedded or production instance."""
    settings = load_settings()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home_for(settings))}
    console.print(f"Dagster UI on http://{host}:{port}  (DAGSTER_HOME={env['DAGSTER_HOME']})")
    cmd = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-w",
        str(ROOT / "workspace.yaml"),
        "-h",
        host,
        "-p",
        str(port),
    ]
    # Replace this process, so Ctrl-C and SIGTERM reach `dagster dev`, which stops its webserver and daemon.
    os.execve(sys.executable, cmd, env)
