"""The operational store: tables, migrations and one module of queries per table family."""

from xbot_pipeline.store.schema import metadata
from xbot_pipeline.store.store import Store

__all__ = ["Store", "metadata"]
