"""Error tracking: the tracker, fingerprints, redaction, and the spool that outlives store outages."""

from xbot_pipeline.events.tracker import EventTracker, TrackedEvent

__all__ = ["EventTracker", "TrackedEvent"]
