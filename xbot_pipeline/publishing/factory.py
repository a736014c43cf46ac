"""The one publisher builder: a ``PublisherSpec`` in, a ``Publisher`` out (nothing starts: the browser
launches lazily). Browser publishers share the calling thread's Chromium (``browser.pool.shared_pool``):
one browser context per account, left open between the account's passes, closed when idle.

Production derives the spec from the settings and the account row
(``passes.publishers.spec_for_account``); the fault campaign, the demo and the learning simulation give
one explicitly per account (``spec_from_map``, the JSON-friendly form). Either way ``build_publisher``
makes it, so every caller gets the same defaults: a timeout left ``None`` is the publisher's own default
(API 20 s, browser operation 90 s), and only a caller that names a value gets another one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xbot_pipeline.clock import Clock
from xbot_pipeline.publishing.base import Publisher

PUBLISHER_KINDS = ("browser", "api")

PublisherFor = Callable[[Mapping[str, Any]], Publisher]  # account row -> its publisher for this run


@dataclass(frozen=True)
class PublisherSpec:
    """What one account's publisher is built from. ``None`` timeouts mean the publisher's defaults."""

    kind: str  # "browser" | "api"
    handle: str
    api_url: str | None = None  # the API publisher's X API base URL
    token: str | None = field(default=None, repr=False)  # the API publisher's bearer token (a secret)
    auth: Any = field(default=None, repr=False)  # an httpx.Auth from the account's stored sign-in; wins
    api_timeout_s: float | None = None
    web_url: str | None = None  # the browser publisher's X web base URL
    session_file: Path | None = None  # the browser publisher's saved storage state
    executable: str | None = None  # the browser; None: Debian's chromium, else Playwright's own
    headless: bool = True
    op_timeout_s: float | None = None
    action_timeout_s: float | None = None
    fallback_timeout_s: float | None = None
    shared_browser: bool = True  # the thread's shared Chromium (one context per account); False: its own
    max_contexts: int | None = None  # the shared pool's cap (XBOT_BROWSER_MAX_CONTEXTS); None: as it is
    context_idle_s: float | None = None  # the shared pool's idle time (XBOT_BROWSER_CONTEXT_IDLE_S)


def build_publisher(spec: PublisherSpec, *, clock: Clock) -> Publisher:
    """The publisher ``spec`` describes; raises ``ValueError`` naming what is missing."""

    def given(**values: float | None) -> dict[str, Any]:
        """The keyword arguments a caller named; the rest stay the publisher's own defaults."""
        return {name: value for name, value in values.items() if value is not None}

    if spec.kind == "api":
        from xbot_pipeline.publishing.api import ApiPublisher

        if not spec.token and spec.auth is None:
            raise ValueError(
                f"the API publisher for {spec.handle} needs a sign-in (`xbot auth login`) or XBOT_X_API_TOKEN"
            )
        if not spec.api_url:
            raise ValueError(f"the API publisher for {spec.handle} needs XBOT_X_API_URL")
        return ApiPublisher(
            spec.api_url,
            None if spec.auth is not None else spec.token,
            auth=spec.auth,
            clock=clock,
            **given(timeout_s=spec.api_timeout_s),
        )
    if spec.kind == "browser":
        from xbot_pipeline.publishing.browser import BrowserPublisher
        from xbot_pipeline.publishing.browser.pool import shared_pool

        if not spec.web_url or spec.session_file is None:
            raise ValueError(
                f"the browser publisher for {spec.handle} needs XBOT_X_WEB_URL and XBOT_SESSION_FILE"
            )
        return BrowserPublisher(
            spec.web_url,
            spec.session_file,
            spec.handle,
            executable=spec.executable,
            headless=spec.headless,
            clock=clock,
            pool=shared_pool(
                spec.executable, spec.headless, max_contexts=spec.max_contexts, idle_s=spec.context_idle_s
            )
            if spec.shared_browser
            else None,
            **given(
                op_timeout_s=spec.op_timeout_s,
                action_timeout_s=spec.action_timeout_s,
                fallback_timeout_s=spec.fallback_timeout_s,
            ),
        )
    raise ValueError(f"unknown publisher {spec.kind!r} for {spec.handle}; choose browser or api")


def spec_from_map(
    entry: Mapping[str, Any],
    account: Mapping[str, Any],
    *,
    api_url: str,
    web_url: str,
    executable: str | None = None,
) -> PublisherSpec:
    """A spec from an explicit map entry ``{publisher, token, session_file, handle, timeout_s,
    op_timeout_s}`` (JSON config: the campaign's runner, tests, the simulation); ``publisher`` defaults
    to "api"."""
    session_file = entry.get("session_file")
    return PublisherSpec(
        kind=str(entry.get("publisher", "api")),
        handle=str(entry.get("handle") or account.get("handle") or account["id"]),
        api_url=api_url,
        token=entry.get("token"),
        api_timeout_s=_seconds(entry.get("timeout_s")),
        web_url=web_url,
        session_file=Path(session_file) if session_file else None,
        executable=executable,
        op_timeout_s=_seconds(entry.get("op_timeout_s")),
    )


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


def publisher_for_map(
    accounts: Mapping[str, Mapping[str, Any]],
    *,
    api_url: str,
    web_url: str,
    clock: Clock,
    executable: str | None = None,
) -> PublisherFor:
    """``publisher_for(account)`` from an explicit map ``{account_id: entry}`` (see ``spec_from_map``)."""

    def build(account: Mapping[str, Any]) -> Publisher:
        spec = spec_from_map(
            accounts[account["id"]], account, api_url=api_url, web_url=web_url, executable=executable
        )
        return build_publisher(spec, clock=clock)

    return build
