"""The analysts' DuckDB snapshot: an atomic writer other domains reuse (``publish_tables``), and a reader
that always opens the newest publish (``open_snapshot``)."""

from xbot_pipeline.warehouse.read import open_snapshot
from xbot_pipeline.warehouse.snapshot import PublishResult, last_published, publish_tables

__all__ = ["PublishResult", "last_published", "open_snapshot", "publish_tables"]
