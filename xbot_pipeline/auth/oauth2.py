"""OAuth 2.0 Authorization Code with PKCE (S256) against X, through authlib's httpx client.

``start_login`` makes the authorize URL (with a fresh ``state`` and code verifier), ``finish_login``
checks the redirect's ``state`` and exchanges the code, ``refresh`` trades a refresh token for a new pair.
Confidential clients authenticate the token calls with HTTP Basic (client id and secret), public ones
send only their ``client_id``. Every call is bounded by ``timeout_s``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from authlib.common.security import generate_token

from xbot_pipeline.auth._authlib import OAuth2Client, OAuthError
from xbot_pipeline.auth.errors import AuthError, AuthRefused, AuthUnavailable
from xbot_pipeline.clock import Clock

SCOPES = "tweet.read tweet.write users.read offline.access media.write"
AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
TOKEN_PATH = "/2/oauth2/token"
# X answers a dead refresh token with invalid_request ("Value passed for the token was invalid.");
# RFC 6749 (and the stand-in) say invalid_grant. Both mean: sign in again.
REFUSED_ERRORS = ("invalid_grant", "invalid_request", "invalid_client", "unauthorized_client")


@dataclass(frozen=True)
class XApp:
    """An X app's OAuth 2.0 client: its id, its secret when it is confidential, and X's endpoints."""

    client_id: str
    token_url: str
    client_secret: str | None = field(default=None, repr=False)
    authorize_url: str = AUTHORIZE_URL
    timeout_s: float = 15.0

    @property
    def confidential(self) -> bool:
        return bool(self.client_secret)

    def client(self, **kwargs: Any) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method="client_secret_basic" if self.confidential else "none",
            code_challenge_method="S256",
            timeout=httpx.Timeout(self.timeout_s, connect=min(5.0, self.timeout_s)),
            **kwargs,
        )


@dataclass(frozen=True)
class LoginRequest:
    url: str
    state: str
    redirect_uri: str
    scopes: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None
    scope: str | None = None

    def secrets(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token}


def start_login(app: XApp, redirect_uri: str, scopes: str = SCOPES) -> LoginRequest:
    """The authorize URL to open, with a new state and a new PKCE verifier (S256 challenge)."""
    verifier = generate_token(64)
    state = generate_token(32)
    with app.client(redirect_uri=redirect_uri, scope=scopes) as client:
        url, state = client.create_authorization_url(app.authorize_url, state=state, code_verifier=verifier)
    return LoginRequest(
        url=url, state=state, redirect_uri=redirect_uri, scopes=scopes, code_verifier=verifier
    )


def code_from_redirect(login: LoginRequest, redirect_url: str) -> str:
    """The code of X's redirect, after checking its ``state``; one clear line when it is not ours."""
    query = {k: v[0] for k, v in parse_qs(urlparse(redirect_url.strip()).query).items()}
    error = query.get("error")
    if error:
        raise AuthRefused(f"X did not authorize the app: {error}")
    state = query.get("state")
    if state != login.state:
        raise AuthError(
            "the redirect's state does not match this login (a stale or forged redirect); try again"
        )
    code = query.get("code")
    if not code:
        raise AuthError("the redirect URL carries no code (paste the whole address X redirected to)")
    return code


def finish_login(app: XApp, login: LoginRequest, redirect_url: str, *, clock: Clock) -> TokenSet:
    """Check the redirect and exchange its code (with the PKCE verifier) for the first token pair."""
    code = code_from_redirect(login, redirect_url)
    with app.client(redirect_uri=login.redirect_uri, scope=login.scopes) as client:
        answer = _call(
            lambda: client.fetch_token(
                app.token_url,
                grant_type="authorization_code",
                code=code,
                code_verifier=login.code_verifier,
                redirect_uri=login.redirect_uri,
            )
        )
    return _token_set(answer, clock)


def refresh(app: XApp, refresh_token: str, *, clock: Clock) -> TokenSet:
    """One refresh: X answers a new pair and the old refresh token is dead from now on."""
    with app.client() as client:
        answer = _call(lambda: client.refresh_token(app.token_url, refresh_token=refresh_token))
    tokens = _token_set(answer, clock)
    if tokens.refresh_token is None:  # X rotates; an answer without one keeps nothing to refresh with
        tokens = TokenSet(tokens.access_token, None, tokens.expires_at, tokens.scope)
    return tokens


def _call(fn: Any) -> dict[str, Any]:
    try:
        answer = fn()
    except OAuthError as exc:
        if exc.error in REFUSED_ERRORS:
            raise AuthRefused(f"X refused the token request ({exc.error})") from None
        raise AuthUnavailable(f"the token endpoint answered {exc.error}") from None
    except httpx.TimeoutException:
        raise AuthUnavailable("the token endpoint did not answer in time") from None
    except httpx.HTTPError as exc:
        raise AuthUnavailable(f"the token endpoint cannot be reached ({type(exc).__name__})") from None
    except ValueError:  # a 5xx page that is not JSON
        raise AuthUnavailable("the token endpoint answered something that is not a token") from None
    if not isinstance(answer, dict) or not answer.get("access_token"):
        raise AuthUnavailable("the token endpoint answered without an access token")
    return dict(answer)


def _token_set(answer: dict[str, Any], clock: Clock) -> TokenSet:
    expires_in = answer.get("expires_in")
    expires_at = clock.now() + timedelta(seconds=float(expires_in)) if expires_in else None
    return TokenSet(
        access_token=str(answer["access_token"]),
        refresh_token=str(answer["refresh_token"]) if answer.get("refresh_token") else None,
        expires_at=expires_at,
        scope=answer.get("scope"),
    )
