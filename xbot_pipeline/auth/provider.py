"""``TokenProvider``: an account's Authorization for every API call, from the store, refreshed in time.

- Static bearer and OAuth 1.0a credentials are used as they are (OAuth 1.0a signs each request with
  authlib's ``OAuth1Auth``; its tokens never expire).
- OAuth 2.0: the access token is refreshed ahead of its expiry (``skew_s``, at most a quarter of its
  lifetime) and once more when X answers 401. X's refresh tokens are single-use and rotate, so:
  one refresh per account at a time, across processes (the store lease ``auth:<account>``); the new pair
  is committed (compare-and-set on ``version``) before the new access token is used; a process that finds
  the lease taken waits (bounded by ``wait_s``) and then uses the winner's token.
- A refused refresh (``invalid_grant``: reused or revoked) or a refused OAuth 1.0a signature marks the
  credentials refused and pauses the account (``AuthRefused``): posts stay queued until ``xbot auth login``.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from xbot_pipeline.auth._authlib import OAuth1Auth
from xbot_pipeline.auth.errors import AuthError, AuthRefused, AuthUnavailable
from xbot_pipeline.auth.oauth2 import XApp, refresh
from xbot_pipeline.auth.vault import Vault
from xbot_pipeline.clock import Clock
from xbot_pipeline.events.redact import register_secret
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import pause_account
from xbot_pipeline.store.credentials import get_credentials, mark_refused, store_refreshed
from xbot_pipeline.store.leases import acquire_lease, release_lease

log = logging.getLogger("xbot_pipeline.auth")
POLL_S = 0.1


def login_hint(account_id: str, kind: str = "oauth2") -> str:
    return f"run `xbot auth login {account_id}{' --oauth1' if kind == 'oauth1' else ''}`"


@dataclass(frozen=True)
class Credential:
    """One account's opened credentials (secrets in memory only)."""

    account_id: str
    kind: str
    version: int
    status: str
    expires_at: datetime | None
    issued_at: datetime
    client_id: str | None
    secrets: dict[str, Any] = field(repr=False)

    @property
    def access_token(self) -> str:
        return str(self.secrets.get("access_token") or "")


@dataclass
class TokenProvider:
    store: Store
    vault: Vault
    account_id: str
    token_url: str
    clock: Clock
    skew_s: float = 60.0
    wait_s: float = 30.0
    http_timeout_s: float = 15.0
    holder: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )
    refreshes: int = 0  # refreshes this provider made (the campaign's bookkeeping)
    _cached: Credential | None = field(default=None, repr=False)

    @property
    def lease_name(self) -> str:
        return f"auth:{self.account_id}"

    # -- reading ----------------------------------------------------------------------------------------
    def credential(self) -> Credential:
        row = get_credentials(self.store, self.account_id)
        if row is None:
            raise AuthRefused(f"{self.account_id} is not signed in: {login_hint(self.account_id)}")
        if self._cached is not None and self._cached.version == row["version"]:
            cred = self._cached
        else:
            secrets = self.vault.open(self.account_id, row["sealed"])
            register_secret(*(str(v) for v in secrets.values() if v))
            cred = Credential(
                account_id=self.account_id,
                kind=row["kind"],
                version=int(row["version"]),
                status=row["status"],
                expires_at=row["expires_at"],
                issued_at=row["refreshed_at"] or row["updated_at"],
                client_id=row["client_id"],
                secrets=secrets,
            )
            self._cached = cred
        if row["status"] == "refused":
            raise AuthRefused(  # the reason is in `xbot auth status`
                f"{self.account_id}'s sign-in was refused by X: {login_hint(self.account_id, row['kind'])}"
            )
        return cred

    def kind(self) -> str:
        return self.credential().kind

    def _fresh(self, cred: Credential) -> bool:
        if cred.kind != "oauth2" or cred.expires_at is None:
            return True
        lifetime = (cred.expires_at - cred.issued_at).total_seconds()
        margin = min(self.skew_s, max(lifetime, 0) / 4)
        return cred.expires_at - self.clock.now() > timedelta(seconds=margin)

    # -- the token -------------------------------------------------------------------------------------
    def access_token(self, *, rejected: str | None = None) -> str:
        """A usable OAuth 2.0 (or static) access token. ``rejected``: the token X just answered 401 to;
        unless somebody already replaced it, it is refreshed now."""
        cred = self.credential()
        if cred.kind == "oauth1":
            raise AuthError("OAuth 1.0a credentials sign requests; they have no bearer token")
        if self._usable(cred, rejected):
            return cred.access_token
        if cred.kind == "bearer":
            raise self._refuse("X refused the bearer token (401)", cred.kind)
        return self._refresh(cred, rejected)

    def _usable(self, cred: Credential, rejected: str | None) -> bool:
        if rejected is not None:
            return cred.access_token != rejected
        return self._fresh(cred)

    def _refresh(self, seen: Credential, rejected: str | None) -> str:
        """One refresh under the lease, or the winner's token when another process refreshed first."""
        deadline = self.clock.monotonic() + self.wait_s
        ttl = 2 * self.http_timeout_s + 5
        while True:
            if acquire_lease(self.store, self.lease_name, self.holder, "auth", ttl):
                try:
                    cred = self.credential()  # re-read under the lease: maybe somebody won meanwhile
                    if cred.version != seen.version and self._usable(cred, rejected):
                        return cred.access_token
                    return self._refresh_locked(cred)
                finally:
                    release_lease(self.store, self.lease_name, self.holder)
            cred = self.credential()
            if cred.version != seen.version and self._usable(cred, rejected):
                return cred.access_token
            if self.clock.monotonic() >= deadline:
                raise AuthUnavailable(
                    f"{self.account_id}: another process's token refresh did not finish "
                    f"within {self.wait_s:g} s"
                )
            self.clock.sleep(POLL_S)

    def _refresh_locked(self, cred: Credential) -> str:
        refresh_token = cred.secrets.get("refresh_token")
        if not refresh_token:
            raise self._refuse("the access token expired and there is no refresh token", cred.kind)
        app = XApp(
            client_id=str(cred.client_id or ""),
            token_url=self.token_url,
            client_secret=cred.secrets.get("client_secret"),
            timeout_s=self.http_timeout_s,
        )
        try:
            tokens = refresh(app, str(refresh_token), clock=self.clock)
        except AuthRefused as exc:
            raise self._refuse(f"the refresh token was refused: {exc}", cred.kind) from None
        register_secret(tokens.access_token, tokens.refresh_token)
        secrets = {**cred.secrets, **tokens.secrets()}
        sealed = self.vault.seal(self.account_id, secrets)
        # committed before the new access token is used: a crash from here on loses nothing
        if not store_refreshed(
            self.store,
            self.account_id,
            expected_version=cred.version,
            sealed=sealed,
            expires_at=tokens.expires_at,
        ):
            raise AuthUnavailable(f"{self.account_id}: the credentials changed during the refresh; retry")
        self.refreshes += 1
        log.info("refreshed the access token of %s", self.account_id)
        return tokens.access_token

    def _refuse(self, reason: str, kind: str) -> AuthRefused:
        """X refused the credentials for good: mark them, pause the account, say how to fix it."""
        mark_refused(self.store, self.account_id, reason)
        message = f"{self.account_id}: {reason}; the account is paused: {login_hint(self.account_id, kind)}"
        pause_account(self.store, self.account_id, message[:500])
        return AuthRefused(message)

    def unauthorized(self, rejected_token: str | None) -> str:
        """X answered 401: refresh once (OAuth 2.0) or give up (OAuth 1.0a, static: nothing to refresh)."""
        cred = self.credential()
        if cred.kind == "oauth1":
            raise self._refuse(
                "X refused the OAuth 1.0a signature (401: a wrong consumer or access secret, "
                "or a revoked app)",
                cred.kind,
            )
        return self.access_token(rejected=rejected_token or cred.access_token)

    def oauth1_auth(self) -> OAuth1Auth:
        s = self.credential().secrets
        return OAuth1Auth(
            client_id=str(s["consumer_key"]),
            client_secret=str(s["consumer_secret"]),
            token=str(s["access_token"]),
            token_secret=str(s["access_token_secret"]),
        )

    def httpx_auth(self) -> ProviderAuth:
        return ProviderAuth(self)


class ProviderAuth(httpx.Auth):
    """httpx's auth hook over a ``TokenProvider``: the Authorization of every request, and one retry
    after a 401 with a refreshed token (X created nothing when it answered 401)."""

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    def _sign(self, request: httpx.Request) -> str | None:
        if self.provider.kind() == "oauth1":
            copy = httpx.Request(
                request.method, request.url, headers=request.headers.copy(), content=request.content
            )  # authlib rewrites the headers it is given (Content-Length): sign a copy
            signed = next(self.provider.oauth1_auth().auth_flow(copy))
            request.headers["authorization"] = signed.headers["authorization"]
            return None
        token = self.provider.access_token()
        request.headers["authorization"] = f"Bearer {token}"
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        used = self._sign(request)
        response = yield request
        if response.status_code != 401:
            return
        token = self.provider.unauthorized(used)
        request.headers["authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            raise self.provider._refuse("X refused a freshly refreshed access token (401)", "oauth2")
