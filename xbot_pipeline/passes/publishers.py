"""Production's publishers: each account's ``PublisherSpec`` derived from the settings and its row."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xbot_pipeline.auth.provider import TokenProvider
from xbot_pipeline.auth.vault import Vault, make_vault
from xbot_pipeline.clock import Clock
from xbot_pipeline.publishing.base import Publisher
from xbot_pipeline.publishing.factory import PublisherFor, PublisherSpec, build_publisher
from xbot_pipeline.settings import Settings
from xbot_pipeline.store import Store
from xbot_pipeline.store.credentials import get_credentials


def session_file_for(settings: Settings, handle: str) -> Path:
    """``XBOT_HOME/sessions/<handle>.json`` when that file exists, else ``XBOT_SESSION_FILE``."""
    own = settings.home / "sessions" / f"{handle}.json"
    return own if own.exists() else settings.session_file


def vault_for_settings(settings: Settings) -> Vault:
    """Where stored X tokens are sealed: Fernet with XBOT_SECRET_KEY, else a 0600 file (SQLite only)."""
    return make_vault(settings.secret_key, is_sqlite=settings.is_sqlite, home=settings.home)


def token_provider(settings: Settings, store: Store, account_id: str, *, clock: Clock) -> TokenProvider:
    """The account's stored sign-in, refreshed through X's token endpoint (``XBOT_X_API_URL``)."""
    return TokenProvider(
        store=store,
        vault=vault_for_settings(settings),
        account_id=account_id,
        token_url=settings.x_token_url,
        clock=clock,
    )


def spec_for_account(
    settings: Settings, account: Mapping[str, Any], *, store: Store | None = None, clock: Clock | None = None
) -> PublisherSpec:
    """Production's spec: the account row's ``publisher`` (else ``XBOT_PUBLISHER``) and the XBOT_* values;
    an API account signed in with `xbot auth login` (credentials in ``store``) uses them, else the
    static XBOT_X_API_TOKEN."""
    handle = str(account.get("handle") or account["id"])
    auth = None
    if store is not None and get_credentials(store, str(account["id"])) is not None:
        auth = token_provider(settings, store, str(account["id"]), clock=clock or store.clock).httpx_auth()
    return PublisherSpec(
        kind=str(account.get("publisher") or settings.publisher),
        handle=handle,
        api_url=settings.x_api_url,
        token=settings.x_api_token,
        auth=auth,
        web_url=settings.x_web_url,
        session_file=session_file_for(settings, handle),
        executable=settings.browser_executable,
        headless=settings.browser_headless,
        max_contexts=settings.browser_max_contexts,
        context_idle_s=settings.browser_context_idle_s,
    )


def publisher_for_settings(settings: Settings, *, clock: Clock, store: Store | None = None) -> PublisherFor:
    """``publisher_for(account)`` for production (the jobs and the CLI): ``spec_for_account``; with
    ``store``, accounts signed in with `xbot auth login` use their stored credentials."""

    def build(account: Mapping[str, Any]) -> Publisher:
        return build_publisher(spec_for_account(settings, account, store=store, clock=clock), clock=clock)

    return build
