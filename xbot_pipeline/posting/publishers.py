"""Which publisher posts for an account: the account row's ``publisher`` column, the XBOT_* settings.

The API token and web session come from the settings (``XBOT_X_API_TOKEN``, ``XBOT_SESSION_FILE``); an
account other than the main one uses ``XBOT_HOME/sessions/<handle>.json`` when that file exists.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from xbot_pipeline.clock import Clock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.publishing.base import Publisher
from xbot_pipeline.publishing.factory import make_publisher
from xbot_pipeline.settings import Settings


def session_file_for(settings: Settings, handle: str) -> Path:
    own = settings.home / "sessions" / f"{handle}.json"
    return own if own.exists() else settings.session_file


def publisher_for_settings(
    settings: Settings, *, clock: Clock, tracker: EventTracker | None = None
) -> Callable[[dict[str, Any]], Publisher]:
    def build(account: dict[str, Any]) -> Publisher:
        kind = account.get("publisher") or settings.publisher
        handle = account.get("handle") or account["id"]
        own = settings.with_overrides(publisher=kind, session_file=session_file_for(settings, handle))
        return make_publisher(own, handle, clock=clock, tracker=tracker)

    return build


def publisher_for_map(
    accounts: dict[str, dict[str, Any]],
    *,
    api_url: str,
    web_url: str,
    clock: Clock,
    browser_exe: str | None = None,
) -> Callable[[dict[str, Any]], Publisher]:
    """Publishers from an explicit map ``{account_id: {publisher, token, session_file, handle}}``
    (the campaign and the demo: several sandbox accounts, each with its own token)."""

    def build(account: dict[str, Any]) -> Publisher:
        spec = accounts[account["id"]]
        if spec.get("publisher", "api") == "browser":
            from xbot_pipeline.publishing.browser import BrowserPublisher

            return BrowserPublisher(
                web_url,
                spec["session_file"],
                spec.get("handle") or account["handle"],
                executable=browser_exe,
                clock=clock,
                op_timeout_s=float(spec.get("op_timeout_s", 30)),
            )
        from xbot_pipeline.publishing.api import ApiPublisher

        return ApiPublisher(api_url, spec["token"], clock=clock, timeout_s=float(spec.get("timeout_s", 3)))

    return build
