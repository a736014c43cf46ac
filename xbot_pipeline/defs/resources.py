"""Shared Dagster resources: the runtime (store + event tracker) built from the XBOT_* settings."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from xbot_pipeline.events import EventTracker
from xbot_pipeline.runtime import Runtime, open_runtime
from xbot_pipeline.settings import load_settings
from xbot_pipeline.store import Store
from xbot_pipeline.store.urls import normalize_database_url


class XbotResource(dg.ConfigurableResource):
    """The operational store and event tracker.

    Both fields default to the XBOT_* environment, so no secret (a Postgres password in the URL) ever
    shows in run config in the UI; tests pass them explicitly.
    """

    database_url: str | None = None
    home: str | None = None

    _runtime: Runtime | None = PrivateAttr(default=None)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            settings = load_settings()
            if self.database_url:
                settings = settings.with_overrides(database_url=normalize_database_url(self.database_url))
            if self.home:
                settings = settings.with_overrides(home=Path(self.home).absolute())
            self._runtime = open_runtime(settings)
        return self._runtime

    @property
    def store(self) -> Store:
        return self.runtime.store

    @property
    def tracker(self) -> EventTracker:
        return self.runtime.tracker


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"xbot": XbotResource()})
