"""Fixtures for the sign-in tests: a stand-in with short-lived tokens, an API account signed in through
the real PKCE flow, and the XBOT_* environment the CLI and the posting processes read."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from xbot_pipeline.auth.login import save_oauth2
from xbot_pipeline.auth.oauth2 import SCOPES, LoginRequest, XApp, finish_login, start_login
from xbot_pipeline.auth.vault import Vault, make_vault
from xbot_pipeline.clock import SystemClock
from xbot_pipeline.sandbox.server import SandboxServer
from xbot_pipeline.settings import Settings, load_settings
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import ensure_account, update_limits
from xbot_pipeline_tests.conftest import BACKEND

ACCOUNT = "acme"
HANDLE = "xbot_demo"
FAST_LIMITS = {"per_hour": 1000, "replies_per_hour": 1000, "min_spacing_s": 0, "per_run": 100}


@pytest.fixture
def x(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The stand-in with its sign-in settings back to X's after the test."""
    sandbox.admin.set_limits(access_token_s=7200, oauth_auto_approve="")
    yield sandbox
    sandbox.admin.clear_faults()
    sandbox.admin.set_limits(access_token_s=7200, oauth_auto_approve="")


@pytest.fixture
def secret_key() -> str | None:
    """Postgres requires XBOT_SECRET_KEY; the embedded SQLite default runs without one (0600 file)."""
    return Fernet.generate_key().decode() if BACKEND == "postgres" else None


@pytest.fixture
def auth_env(x: SandboxServer, settings: Settings, secret_key: str | None) -> dict[str, str]:
    env = {
        "XBOT_HOME": str(settings.home),
        "XBOT_DATABASE_URL": settings.database_url,
        "XBOT_X_API_URL": x.api_url,
        "XBOT_X_WEB_URL": x.web_url,
        "XBOT_X_AUTHORIZE_URL": f"{x.base_url}/i/oauth2/authorize",
        "XBOT_ACCOUNT": ACCOUNT,
        "XBOT_PUBLISHER": "api",
    }
    if secret_key:
        env["XBOT_SECRET_KEY"] = secret_key
    return env


@pytest.fixture
def auth_settings(auth_env: dict[str, str]) -> Settings:
    return load_settings(auth_env)


@pytest.fixture
def vault(auth_settings: Settings) -> Vault:
    return make_vault(auth_settings.secret_key, is_sqlite=auth_settings.is_sqlite, home=auth_settings.home)


def child_env(auth_env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("XBOT_") or k.startswith("XBOT_TEST_")}
    return {**base, **auth_env}


def xbot(auth_env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    code = "import sys; from xbot_pipeline.cli import main; sys.argv = ['xbot', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=child_env(auth_env),
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
    )


def xbot_popen(auth_env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    code = "import sys; from xbot_pipeline.cli import main; sys.argv = ['xbot', *sys.argv[1:]]; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=child_env(auth_env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def api_account(store: Store, account: str = ACCOUNT, handle: str = HANDLE) -> None:
    ensure_account(store, account, handle=handle, publisher="api")
    update_limits(store, account, FAST_LIMITS)


def sign_in(
    x: SandboxServer, store: Store, vault: Vault, *, confidential: bool = False, account: str = ACCOUNT
) -> tuple[XApp, LoginRequest]:
    """The whole PKCE login in-process (authorize URL, consent, redirect, code exchange), stored."""
    client: dict[str, Any] = x.admin.oauth_clients()["confidential" if confidential else "public"]
    app = XApp(
        client["client_id"],
        f"{x.api_url}/2/oauth2/token",
        client_secret=client["client_secret"],
        authorize_url=f"{x.base_url}/i/oauth2/authorize",
    )
    request = start_login(app, "http://127.0.0.1:8765/callback")
    tokens = finish_login(app, request, x.admin.approve(request.url, HANDLE), clock=SystemClock())
    save_oauth2(store, vault, account, app, tokens, SCOPES)
    return app, request


@pytest.fixture
def real_store(store: Store) -> Store:
    """The test store on the system clock (tokens expire in real seconds, as X's do)."""
    return Store(engine=store.engine, clock=SystemClock())


def files_under(folder: Path, *, skip: tuple[str, ...] = ()) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not any(s in p.parts for s in skip)]
