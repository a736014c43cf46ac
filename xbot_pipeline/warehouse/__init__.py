"""The analysts' DuckDB snapshot: an atomic writer other domains reuse (``publish_tables``)."""

from xbot_pipeline.warehouse.snapshot import PublishResult, last_published, publish_tables

__all__ = ["PublishResult", "last_published", "publish_tables"]
