"""``make_publisher``: the publisher the settings ask for ("browser" or "api"), for one account."""

from __future__ import annotations

from xbot_pipeline.clock import Clock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.publishing.base import Publisher
from xbot_pipeline.settings import Settings


def make_publisher(
    settings: Settings,
    account_handle: str,
    *,
    clock: Clock,
    tracker: EventTracker | None = None,
    op_timeout_s: float | None = None,
) -> Publisher:
    """Build (without starting anything: the browser launches lazily) the configured publisher."""
    if settings.publisher == "api":
        from xbot_pipeline.publishing.api import ApiPublisher

        if not settings.x_api_token:
            raise ValueError("XBOT_PUBLISHER=api needs XBOT_X_API_TOKEN (a user-context bearer token)")
        return ApiPublisher(settings.x_api_url, settings.x_api_token, clock=clock)
    if settings.publisher == "browser":
        from xbot_pipeline.publishing.browser import BrowserPublisher

        return BrowserPublisher(
            settings.x_web_url,
            settings.session_file,
            account_handle,
            executable=settings.browser_executable,
            headless=settings.browser_headless,
            clock=clock,
            **({"op_timeout_s": op_timeout_s} if op_timeout_s else {}),
        )
    raise ValueError(f"unknown publisher {settings.publisher!r}; choose browser or api")
