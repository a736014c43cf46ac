"""``make_publisher`` picks the publisher the settings name and configures it from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from xbot_pipeline.publishing.api import ApiPublisher
from xbot_pipeline.publishing.base import Outcome, PostRequest
from xbot_pipeline.publishing.browser import BrowserPublisher
from xbot_pipeline.publishing.factory import make_publisher
from xbot_pipeline.sandbox.server import SandboxServer


def test_api_publisher_from_settings_posts_to_the_stand_in(
    settings, clock, sandbox: SandboxServer, demo_token
) -> None:
    configured = settings.with_overrides(publisher="api", x_api_url=sandbox.api_url, x_api_token=demo_token)
    publisher = make_publisher(configured, "xbot_demo", clock=clock)
    try:
        assert isinstance(publisher, ApiPublisher)
        assert publisher.publish(PostRequest("single", ["made by the factory"])).outcome is Outcome.POSTED
    finally:
        publisher.close()


def test_api_publisher_needs_a_token(settings, clock) -> None:
    with pytest.raises(ValueError, match="XBOT_X_API_TOKEN"):
        make_publisher(settings.with_overrides(publisher="api", x_api_token=None), "xbot_demo", clock=clock)


def test_browser_publisher_is_lazy_and_configured(settings, clock, tmp_path: Path) -> None:
    configured = settings.with_overrides(
        publisher="browser",
        x_web_url="http://127.0.0.1:9",
        session_file=tmp_path / "s.json",
        browser_executable="/usr/bin/chromium",
    )
    publisher = make_publisher(configured, "@xbot_demo", clock=clock)
    assert isinstance(publisher, BrowserPublisher)
    assert (publisher.handle, publisher.executable, publisher.session_file) == (
        "xbot_demo",
        "/usr/bin/chromium",
        tmp_path / "s.json",
    )
    assert publisher.launches == 0  # nothing started until the first operation
    publisher.close()
