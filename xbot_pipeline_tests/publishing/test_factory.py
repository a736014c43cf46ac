"""The one publisher builder: a spec in, a publisher out; production and explicit maps share defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from xbot_pipeline.passes.publishers import publisher_for_settings, spec_for_account
from xbot_pipeline.publishing.api import ApiPublisher
from xbot_pipeline.publishing.base import Outcome, PostRequest
from xbot_pipeline.publishing.browser import BrowserPublisher
from xbot_pipeline.publishing.factory import PublisherSpec, build_publisher, publisher_for_map
from xbot_pipeline.sandbox.server import SandboxServer
from xbot_pipeline.settings import load_settings


def test_api_publisher_from_settings_posts_to_the_stand_in(
    settings, clock, sandbox: SandboxServer, demo_token
) -> None:
    configured = settings.with_overrides(publisher="api", x_api_url=sandbox.api_url, x_api_token=demo_token)
    publisher = publisher_for_settings(configured, clock=clock)({"id": "main", "handle": "xbot_demo"})
    try:
        assert isinstance(publisher, ApiPublisher)
        assert publisher.publish(PostRequest("single", ["made by the factory"])).outcome is Outcome.POSTED
    finally:
        publisher.close()


def test_api_publisher_needs_a_token(settings, clock) -> None:
    no_token = settings.with_overrides(publisher="api", x_api_token=None)
    with pytest.raises(ValueError, match="XBOT_X_API_TOKEN"):
        build_publisher(spec_for_account(no_token, {"id": "main", "handle": "xbot_demo"}), clock=clock)


def test_unknown_kind_is_named(clock) -> None:
    with pytest.raises(ValueError, match="'carrier-pigeon'"):
        build_publisher(PublisherSpec("carrier-pigeon", "xbot_demo"), clock=clock)


def test_browser_publisher_is_lazy_and_configured(settings, clock, tmp_path: Path) -> None:
    configured = settings.with_overrides(
        publisher="browser",
        x_web_url="http://127.0.0.1:9",
        session_file=tmp_path / "s.json",
        browser_executable="/usr/bin/chromium",
    )
    publisher = publisher_for_settings(configured, clock=clock)({"id": "main", "handle": "@xbot_demo"})
    assert isinstance(publisher, BrowserPublisher)
    assert (publisher.handle, publisher.executable, publisher.session_file) == (
        "xbot_demo",
        "/usr/bin/chromium",
        tmp_path / "s.json",
    )
    assert publisher.launches == 0  # nothing started until the first operation
    publisher.close()


def test_the_account_row_chooses_the_kind_and_its_own_session_file(settings, clock) -> None:
    own = settings.home / "sessions" / "second.json"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text('{"cookies": [], "origins": []}')
    spec = spec_for_account(
        settings.with_overrides(publisher="api"), {"id": "a2", "handle": "second", "publisher": "browser"}
    )
    assert (spec.kind, spec.handle, spec.session_file) == ("browser", "second", own)
    assert "s3cr3t" not in repr(PublisherSpec("api", "x", token="s3cr3t"))  # specs get logged


def test_explicit_maps_get_production_defaults_unless_they_name_a_value(
    settings, clock, tmp_path: Path
) -> None:
    """The campaign and the simulation used other defaults (API 3 s, browser 30 s) than production."""
    session = tmp_path / "s.json"
    configured = settings.with_overrides(
        publisher="api", x_api_token="t0ken", x_web_url="http://127.0.0.1:9", session_file=session
    )
    row = {"id": "main", "handle": "xbot_demo"}
    from_settings = publisher_for_settings(configured, clock=clock)
    mapped = publisher_for_map(
        {"main": {"publisher": "api", "token": "t0ken"}},
        api_url="http://127.0.0.1:9",
        web_url="x",
        clock=clock,
    )
    production, explicit = from_settings(row), mapped(row)
    assert isinstance(production, ApiPublisher) and isinstance(explicit, ApiPublisher)
    assert explicit.timeout_s == production.timeout_s == 20.0
    production.close()
    explicit.close()

    browser_settings = configured.with_overrides(publisher="browser")
    browser_map = {"main": {"publisher": "browser", "session_file": str(session), "handle": "xbot_demo"}}
    production_b = publisher_for_settings(browser_settings, clock=clock)(row)
    explicit_b = publisher_for_map(browser_map, api_url="x", web_url="http://127.0.0.1:9", clock=clock)(row)
    assert isinstance(production_b, BrowserPublisher) and isinstance(explicit_b, BrowserPublisher)
    assert explicit_b.op_timeout_s == production_b.op_timeout_s == 90.0
    production_b.close()
    explicit_b.close()

    overridden = publisher_for_map(
        {"main": {"token": "t0ken", "timeout_s": 1.5}}, api_url="http://127.0.0.1:9", web_url="x", clock=clock
    )(row)
    assert isinstance(overridden, ApiPublisher) and overridden.timeout_s == 1.5
    overridden.close()


def test_browser_pool_settings_reach_the_shared_pool(settings, clock, tmp_path: Path) -> None:
    """XBOT_BROWSER_MAX_CONTEXTS / XBOT_BROWSER_CONTEXT_IDLE_S set the thread's shared pool (nothing
    launches until the first operation)."""
    from xbot_pipeline.publishing.browser.pool import close_shared_pools

    env = {
        "XBOT_HOME": str(settings.home),
        "XBOT_BROWSER_MAX_CONTEXTS": "3",
        "XBOT_BROWSER_CONTEXT_IDLE_S": "42",
    }
    configured = load_settings(env).with_overrides(session_file=tmp_path / "s.json")
    assert (configured.browser_max_contexts, configured.browser_context_idle_s) == (3, 42.0)
    build = publisher_for_settings(configured, clock=clock)
    first = build({"id": "a", "handle": "a", "publisher": "browser"})
    second = build({"id": "b", "handle": "b", "publisher": "browser"})
    try:
        assert isinstance(first, BrowserPublisher) and isinstance(second, BrowserPublisher)
        pool = first.session.pool
        assert pool is second.session.pool and (pool.max_contexts, pool.idle_s) == (3, 42.0)
        assert not pool.running and first.launches == 0
    finally:
        first.close()
        second.close()
        close_shared_pools()
