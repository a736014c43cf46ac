"""authlib's httpx clients, imported once. authlib 1.9 prefers the ``httpx2`` package and warns when it
falls back to ``httpx`` (the one this project pins); the fallback is the supported path here, so the
warning is silenced instead of reaching every command's stderr."""

from __future__ import annotations

import warnings

from authlib.deprecate import AuthlibDeprecationWarning  # installs its own "always" filter first

with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.httpx_client import OAuth1Auth, OAuth2Client

__all__ = ["OAuth1Auth", "OAuth2Client", "OAuthError"]
