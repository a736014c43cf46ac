"""X's sign-in as the stand-in plays it: OAuth 2.0 clients, codes (PKCE S256), expiring access tokens,
single-use rotating refresh tokens, and OAuth 1.0a consumer/access keys with HMAC-SHA1 signatures.

The lifetimes are ``Limits`` fields (``access_token_s``, ``code_s``), so tests use seconds.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from xbot_pipeline.sandbox.state import Account, SandboxState

PUBLIC_CLIENT = "sbx-public-client"
CONFIDENTIAL_CLIENT = "sbx-confidential-client"
CONSUMER_KEY = "sbx-consumer-key"
SCOPES = ("tweet.read", "tweet.write", "users.read", "offline.access", "media.write", "follows.read")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_clients (
  client_id TEXT PRIMARY KEY, client_secret TEXT, redirect_prefix TEXT NOT NULL DEFAULT 'http://127.0.0.1');
CREATE TABLE IF NOT EXISTS oauth_codes (
  code TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_id TEXT NOT NULL, redirect_uri TEXT NOT NULL,
  challenge TEXT NOT NULL, scopes TEXT NOT NULL, expires_at TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS oauth_tokens (
  token TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL, client_id TEXT NOT NULL,
  scopes TEXT NOT NULL, expires_at TEXT, state TEXT NOT NULL DEFAULT 'live');
CREATE TABLE IF NOT EXISTS oauth_log (user_id TEXT, kind TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS oauth1_consumers (consumer_key TEXT PRIMARY KEY, consumer_secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS oauth1_tokens (
  token TEXT PRIMARY KEY, token_secret TEXT NOT NULL, user_id TEXT NOT NULL, consumer_key TEXT NOT NULL);
"""


class OAuthRefusal(Exception):
    """An OAuth error answer: ``error`` is the RFC 6749 code, ``status`` the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str | None

    @property
    def confidential(self) -> bool:
        return self.client_secret is not None


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


class OAuthState:
    """The OAuth tables of the stand-in's SQLite file (created on first use, kept across resets)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        state.script(_SCHEMA)
        self.ensure_client(PUBLIC_CLIENT, None)
        self.ensure_client(CONFIDENTIAL_CLIENT, f"sbx-cs-{secrets.token_urlsafe(24)}")
        state.sql(
            "INSERT OR IGNORE INTO oauth1_consumers VALUES (?, ?)",
            (CONSUMER_KEY, f"sbx-ck-{secrets.token_urlsafe(24)}"),
        )

    # -- clients -----------------------------------------------------------------------------------
    def ensure_client(self, client_id: str, client_secret: str | None) -> Client:
        self.state.sql(
            "INSERT OR IGNORE INTO oauth_clients (client_id, client_secret) VALUES (?, ?)",
            (client_id, client_secret),
        )
        client = self.client(client_id)
        assert client is not None
        return client

    def client(self, client_id: str | None) -> Client | None:
        rows = self.state.sql("SELECT * FROM oauth_clients WHERE client_id = ?", (client_id or "",))
        return Client(rows[0]["client_id"], rows[0]["client_secret"]) if rows else None

    def clients(self) -> list[Client]:
        return [
            Client(r["client_id"], r["client_secret"]) for r in self.state.sql("SELECT * FROM oauth_clients")
        ]

    # -- authorize ---------------------------------------------------------------------------------------
    def check_authorize(self, params: dict[str, str]) -> Client:
        """The authorize request's own errors (shown on the page, never redirected)."""
        client = self.client(params.get("client_id"))
        if client is None:
            raise OAuthRefusal("invalid_client", "Something went wrong: unknown client_id")
        if params.get("response_type") != "code":
            raise OAuthRefusal("unsupported_response_type", "response_type must be code")
        if not params.get("redirect_uri", "").startswith(("http://127.0.0.1", "http://localhost")):
            raise OAuthRefusal("invalid_request", "redirect_uri is not registered for this app")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            raise OAuthRefusal("invalid_request", "PKCE with code_challenge_method=S256 is required")
        if not params.get("state"):
            raise OAuthRefusal("invalid_request", "state is required")
        unknown = set(params.get("scope", "").split()) - set(SCOPES)
        if unknown or not params.get("scope"):
            raise OAuthRefusal("invalid_scope", f"unknown scopes: {' '.join(sorted(unknown)) or '(none)'}")
        return client

    def issue_code(self, params: dict[str, str], account: Account, code_s: float) -> str:
        self.check_authorize(params)
        code = secrets.token_urlsafe(32)
        expires = self.state.clock.now() + timedelta(seconds=code_s)
        self.state.sql(
            "INSERT INTO oauth_codes VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            (
                code,
                params["client_id"],
                account.user_id,
                params["redirect_uri"],
                params["code_challenge"],
                params["scope"],
                _iso(expires),
            ),
        )
        return code

    # -- token endpoint ------------------------------------------------------------------------------
    def authenticate(self, form: dict[str, str], basic: tuple[str, str] | None) -> Client:
        """Confidential clients by HTTP Basic (id and secret); public ones name their client_id."""
        if basic is not None:
            client = self.client(basic[0])
            if client is None or client.client_secret is None or client.client_secret != basic[1]:
                raise OAuthRefusal("invalid_client", "Missing valid authorization header", 401)
            return client
        client = self.client(form.get("client_id"))
        if client is None:
            raise OAuthRefusal("invalid_client", "Missing valid authorization header", 401)
        if client.confidential:
            raise OAuthRefusal("unauthorized_client", "Missing valid authorization header", 401)
        return client

    def exchange_code(self, client: Client, form: dict[str, str], access_s: float) -> dict[str, Any]:
        now = self.state.clock.now()
        rows = self.state.sql("SELECT * FROM oauth_codes WHERE code = ?", (form.get("code", ""),))
        if not rows:
            raise OAuthRefusal("invalid_grant", "Value passed for the authorization code was invalid.")
        code = rows[0]
        self.state.sql("UPDATE oauth_codes SET used = 1 WHERE code = ?", (code["code"],))
        if code["used"] or datetime.fromisoformat(code["expires_at"]) <= now:
            raise OAuthRefusal("invalid_grant", "Value passed for the authorization code was invalid.")
        if code["client_id"] != client.client_id or code["redirect_uri"] != form.get("redirect_uri"):
            raise OAuthRefusal("invalid_grant", "Value passed for the authorization code was invalid.")
        if s256(form.get("code_verifier", "")) != code["challenge"]:
            raise OAuthRefusal("invalid_grant", "Value passed for the code_verifier was invalid.")
        self.log(code["user_id"], "login")
        return self._issue(client.client_id, code["user_id"], code["scopes"], access_s)

    def refresh(self, client: Client, form: dict[str, str], access_s: float) -> dict[str, Any]:
        rows = self.state.sql(
            "SELECT * FROM oauth_tokens WHERE token = ? AND kind = 'refresh'",
            (form.get("refresh_token", ""),),
        )
        if not rows or rows[0]["client_id"] != client.client_id:
            self.log(None, "invalid_grant")
            raise OAuthRefusal("invalid_grant", "Value passed for the token was invalid.")
        row = rows[0]
        if row["state"] != "live":  # single use: a second use is refused, like a revoked one
            self.log(row["user_id"], "invalid_grant")
            raise OAuthRefusal("invalid_grant", "Value passed for the token was invalid.")
        self.state.sql("UPDATE oauth_tokens SET state = 'used' WHERE token = ?", (row["token"],))
        self.log(row["user_id"], "refresh")
        return self._issue(client.client_id, row["user_id"], row["scopes"], access_s)

    def _issue(self, client_id: str, user_id: str, scopes: str, access_s: float) -> dict[str, Any]:
        now = self.state.clock.now()
        access = f"sbx-at-{secrets.token_urlsafe(32)}"
        self.state.sql(
            "INSERT INTO oauth_tokens VALUES (?, 'access', ?, ?, ?, ?, 'live')",
            (access, user_id, client_id, scopes, _iso(now + timedelta(seconds=access_s))),
        )
        answer: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": int(access_s) if float(access_s).is_integer() else access_s,
            "access_token": access,
            "scope": scopes,
        }
        if "offline.access" in scopes.split():
            refresh = f"sbx-rt-{secrets.token_urlsafe(32)}"
            self.state.sql(
                "INSERT INTO oauth_tokens VALUES (?, 'refresh', ?, ?, ?, NULL, 'live')",
                (refresh, user_id, client_id, scopes),
            )
            answer["refresh_token"] = refresh
        return answer

    def revoke_user(self, account: Account) -> int:
        """The user revoked the app: every token of theirs dies at once."""
        rows = self.state.sql(
            "UPDATE oauth_tokens SET state = 'revoked' WHERE user_id = ? AND state = 'live' RETURNING token",
            (account.user_id,),
        )
        return len(rows)

    def revoke_token(self, token: str) -> None:
        self.state.sql("UPDATE oauth_tokens SET state = 'revoked' WHERE token = ?", (token,))

    def account_for_access_token(self, token: str) -> tuple[str | None, bool]:
        """(user id, expired?) for an OAuth 2.0 access token; (None, False) when unknown or revoked."""
        rows = self.state.sql(
            "SELECT * FROM oauth_tokens WHERE token = ? AND kind = 'access' AND state = 'live'", (token,)
        )
        if not rows:
            return None, False
        expired = datetime.fromisoformat(rows[0]["expires_at"]) <= self.state.clock.now()
        return rows[0]["user_id"], expired

    # -- OAuth 1.0a --------------------------------------------------------------------------------------
    def consumer_secret(self, consumer_key: str) -> str | None:
        rows = self.state.sql(
            "SELECT consumer_secret FROM oauth1_consumers WHERE consumer_key = ?", (consumer_key,)
        )
        return str(rows[0][0]) if rows else None

    def oauth1_keys(self, account: Account) -> dict[str, str]:
        """The consumer keys and this user's access token/secret (created once, they never expire)."""
        rows = self.state.sql("SELECT * FROM oauth1_tokens WHERE user_id = ?", (account.user_id,))
        if not rows:
            self.state.sql(
                "INSERT INTO oauth1_tokens VALUES (?, ?, ?, ?)",
                (
                    f"{account.user_id}-{secrets.token_urlsafe(18)}",
                    f"sbx-ts-{secrets.token_urlsafe(24)}",
                    account.user_id,
                    CONSUMER_KEY,
                ),
            )
            rows = self.state.sql("SELECT * FROM oauth1_tokens WHERE user_id = ?", (account.user_id,))
        secret = self.consumer_secret(CONSUMER_KEY)
        assert secret is not None
        return {
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": secret,
            "access_token": rows[0]["token"],
            "access_token_secret": rows[0]["token_secret"],
        }

    def oauth1_token(self, token: str) -> tuple[str, str] | None:
        """(user id, token secret) for an OAuth 1.0a access token."""
        rows = self.state.sql("SELECT user_id, token_secret FROM oauth1_tokens WHERE token = ?", (token,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    # -- bookkeeping -----------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the counters (with the stand-in's reset); apps, keys and live tokens stay."""
        self.state.sql("DELETE FROM oauth_log")

    def log(self, user_id: str | None, kind: str) -> None:
        self.state.sql(
            "INSERT INTO oauth_log VALUES (?, ?, ?)", (user_id, kind, _iso(self.state.clock.now()))
        )

    def stats(self) -> dict[str, dict[str, int]]:
        """Per handle (or "-" when the token named nobody): logins, refreshes, invalid_grant answers."""
        out: dict[str, dict[str, int]] = {}
        rows = self.state.sql(
            "SELECT coalesce(a.handle, '-') AS who, l.kind AS kind, count(*) AS n FROM oauth_log l "
            "LEFT JOIN accounts a ON a.user_id = l.user_id GROUP BY who, kind"
        )
        for r in rows:
            out.setdefault(r["who"], {})[r["kind"]] = int(r["n"])
        return out
