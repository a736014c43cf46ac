"""Dagster definitions for recovery."""
