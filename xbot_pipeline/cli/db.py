"""`xbot db ...`: schema migrations."""

from __future__ import annotations

import typer

from xbot_pipeline.cli.app import app, console
from xbot_pipeline.settings import load_settings
from xbot_pipeline.store.engine import create_store_engine
from xbot_pipeline.store.migrate import current_revision, head_revision, upgrade

db_app = typer.Typer(help="Operational store: migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the operational store's schema to the latest revision (idempotent)."""
    settings = load_settings()
    engine = create_store_engine(settings.database_url)
    before = current_revision(engine)
    after = upgrade(engine)
    console.print(
        f"store schema: {before or 'empty'} -> {after} ({engine.url.render_as_string(hide_password=True)})"
    )


@db_app.command("current")
def db_current() -> None:
    """Print the store's schema revision and the latest one."""
    engine = create_store_engine(load_settings().database_url)
    console.print(f"current: {current_revision(engine) or 'empty'}  head: {head_revision()}")
