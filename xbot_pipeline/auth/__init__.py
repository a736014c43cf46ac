"""Signing accounts in to X: OAuth 2.0 (PKCE, rotating refresh tokens), OAuth 1.0a and static bearer
tokens, with the secrets sealed at rest (``vault``) and one refresh at a time per account (``provider``)."""
