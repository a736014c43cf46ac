"""xbot_pipeline: an autonomous X account run as a Dagster pipeline."""

__version__ = "0.1.0"
