"""Error tracking: the tracker, fingerprints, redaction, and the spool that keeps events while the store is down."""

from xbot_pipeline.events.tracker import EventTracker, TrackedEvent

__all__ = ["EventTracker", "TrackedEvent"]
