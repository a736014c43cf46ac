"""Database URLs: validated and normalised here, so SQLAlchemy stays inside the store package.

Errors are ``DatabaseUrlError`` (a ``ValueError``) with one line naming the variable; ``settings``
re-raises them as ``SettingsError``.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError


class DatabaseUrlError(ValueError):
    """The URL is not one the store can open; the message is one line naming the variable."""


def _parse(raw: str, name: str) -> URL:
    try:
        return make_url(raw)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"{name} is not a valid database URL: {exc}") from None


def normalize_database_url(raw: str, *, name: str = "XBOT_DATABASE_URL") -> str:
    """Validate a store URL (sqlite or postgresql naming a database) and pick psycopg 3 for Postgres."""
    url = _parse(raw, name)
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        if url.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
            url = url.set(drivername="postgresql+psycopg")
        if not url.database:
            shown = url.render_as_string(hide_password=True)
            raise DatabaseUrlError(f"{name} must name a database, got {shown}")
    elif backend != "sqlite":
        raise DatabaseUrlError(f"{name} must be a sqlite:// or postgresql:// URL, got backend {backend!r}")
    return url.render_as_string(hide_password=False)


def validate_postgres_url(raw: str, *, name: str) -> str:
    """A Postgres URL naming a database, kept as written (Dagster's instance picks its own driver)."""
    url = _parse(raw, name)
    if url.get_backend_name() not in ("postgres", "postgresql") or not url.database:
        shown = url.render_as_string(hide_password=True)
        raise DatabaseUrlError(f"{name} must be a postgresql:// URL naming a database, got {shown}")
    return raw


def url_password(raw: str) -> str | None:
    """The password in a database URL (a secret to redact), or None (none, or not a URL)."""
    try:
        return make_url(raw).password
    except ArgumentError:
        return None
