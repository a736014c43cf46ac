"""What signing in can fail with; the publishers turn these into posting outcomes."""

from __future__ import annotations


class AuthError(Exception):
    """A credential problem; the message is one line and never carries a secret."""


class AuthRefused(AuthError):
    """X refused the credentials for good (a reused or revoked refresh token, a wrong OAuth 1.0a secret,
    no sign-in at all): only ``xbot auth login`` helps. Nothing was sent to the post endpoint."""


class AuthUnavailable(AuthError):
    """The token endpoint failed or did not answer in time, or another process's refresh did not finish
    within the wait: retry later. Nothing was sent to the post endpoint."""


class VaultError(AuthRefused):
    """Secrets cannot be sealed or opened (no key where one is required, a wrong key, a missing file)."""
