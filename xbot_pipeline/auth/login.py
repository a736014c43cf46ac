"""Storing a sign-in: OAuth 2.0 tokens from a finished PKCE login, OAuth 1.0a keys checked against X, or
a static bearer token. A new sign-in clears a refused state and resumes an account that a dead token
paused, so its queued (blocked) posts go out on the next run."""

from __future__ import annotations

from typing import Any

import httpx

from xbot_pipeline.auth._authlib import OAuth1Auth
from xbot_pipeline.auth.errors import AuthRefused, AuthUnavailable
from xbot_pipeline.auth.oauth2 import TokenSet, XApp
from xbot_pipeline.auth.vault import Vault
from xbot_pipeline.events.redact import register_secret
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import get_account, resume_account
from xbot_pipeline.store.credentials import save_credentials

OAUTH1_FIELDS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
AUTH_PAUSE_MARKERS = ("xbot auth login", "session expired")


def save_oauth2(store: Store, vault: Vault, account_id: str, app: XApp, tokens: TokenSet, scopes: str) -> int:
    secrets: dict[str, Any] = tokens.secrets()
    if app.client_secret:
        secrets["client_secret"] = app.client_secret
    register_secret(*(str(v) for v in secrets.values() if v))
    return save_credentials(
        store,
        account_id,
        kind="oauth2",
        sealed=vault.seal(account_id, secrets),
        client_id=app.client_id,
        confidential=app.confidential,
        scopes=tokens.scope or scopes,
        expires_at=tokens.expires_at,
    )


def save_oauth1(store: Store, vault: Vault, account_id: str, keys: dict[str, str]) -> int:
    register_secret(*keys.values())
    return save_credentials(
        store,
        account_id,
        kind="oauth1",
        sealed=vault.seal(account_id, {k: keys[k] for k in OAUTH1_FIELDS}),
        client_id=None,
    )


def save_bearer(store: Store, vault: Vault, account_id: str, token: str) -> int:
    register_secret(token)
    return save_credentials(
        store, account_id, kind="bearer", sealed=vault.seal(account_id, {"access_token": token})
    )


def check_oauth1(api_url: str, keys: dict[str, str], *, timeout_s: float = 15.0) -> str | None:
    """Sign ``GET /2/users/me`` with the keys: the handle they belong to. A 401 (a wrong secret) is
    ``AuthRefused`` with one line; an unreachable X is ``AuthUnavailable``."""
    auth = OAuth1Auth(
        client_id=keys["consumer_key"],
        client_secret=keys["consumer_secret"],
        token=keys["access_token"],
        token_secret=keys["access_token_secret"],
    )
    try:
        with httpx.Client(base_url=api_url.rstrip("/"), auth=auth, timeout=timeout_s) as http:
            answer = http.get("/2/users/me")
    except httpx.HTTPError as exc:
        raise AuthUnavailable(f"X cannot be reached to check the keys ({type(exc).__name__})") from None
    if answer.status_code == 401:
        raise AuthRefused(
            "X refused the OAuth 1.0a signature (401): a wrong consumer secret or access token secret"
        )
    if answer.status_code != 200:
        raise AuthUnavailable(f"X answered HTTP {answer.status_code} when the keys were checked")
    username = ((answer.json() or {}).get("data") or {}).get("username")
    return str(username) if username else None


def resume_after_login(store: Store, account_id: str) -> bool:
    """Resume the account when a dead sign-in paused it; True when it was resumed."""
    row = get_account(store, account_id)
    if row is None or row["status"] != "paused":
        return False
    reason = str(row.get("status_reason") or "")
    if not any(marker in reason for marker in AUTH_PAUSE_MARKERS):
        return False
    return resume_account(store, account_id)
