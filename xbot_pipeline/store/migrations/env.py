"""Alembic environment: always called from ``xbot_pipeline.store.migrate`` with a live connection."""

from alembic import context

from xbot_pipeline.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by running the alembic CLI by hand
    raise RuntimeError("run migrations through `xbot db upgrade`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
