"""`xbot demo`: the main job end to end on embedded defaults (SQLite, local instance, local X stand-in)."""

from __future__ import annotations

import os

import typer

from xbot_pipeline.cli.app import app, console, runtime
from xbot_pipeline.instance import ensure_local_instance
from xbot_pipeline.settings import load_settings
from xbot_pipeline.store.status import status_summary


@app.command()
def demo() -> None:
    """Run the pipeline end to end against the local X stand-in, then print the health summary."""
    settings = load_settings()
    os.environ.setdefault("DAGSTER_HOME", str(ensure_local_instance(settings)))
    rt = runtime()
    console.print(
        f"[bold]1.[/bold] store ready at {rt.store.engine.url.render_as_string(hide_password=True)}"
    )

    from xbot_pipeline.definitions import defs

    definitions = defs()
    repo = definitions.get_repository_def()
    console.print(
        f"[bold]2.[/bold] code location loaded: {len(repo.assets_defs_by_key)} assets, "
        f"{len(repo.get_all_jobs())} jobs, {len(repo.schedule_defs)} schedules, "
        f"{len(repo.sensor_defs)} sensors"
    )
    event = rt.tracker.track_event("demo_started", {"home": str(settings.home)}, component="demo")
    console.print(f"[bold]3.[/bold] event written: {event.event_type if event else 'failed'}")
    summary = status_summary(rt.store)
    console.print(f"[bold]4.[/bold] errors in the last 24 h: {summary['errors_24h']}")
    raise typer.Exit(0)
