"""Typed settings read once from the ``XBOT_*`` environment.

Every variable is optional; the defaults give the embedded set-up (SQLite store in ``XBOT_HOME``,
local Dagster instance). A malformed value raises ``SettingsError`` with one line that names the
variable, so commands can fail at start with a clear message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

PUBLISHERS = ("browser", "api")


class SettingsError(ValueError):
    """A setting is malformed; the message is one line naming the variable."""


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    publisher: str
    x_web_url: str
    x_api_url: str
    session_file: Path
    alert_webhook_url: str | None
    warehouse_path: Path
    x_api_token: str | None = field(default=None, repr=False)
    browser_executable: str | None = None
    browser_headless: bool = True
    account: str = "main"
    llm_base_url: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_model: str | None = None
    llm_timeout_s: float = 20.0

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secrets(self) -> list[str]:
        """Values that must never reach logs or events."""
        values = [self.x_api_token, self.llm_api_key, self.alert_webhook_url]
        try:
            password = make_url(self.database_url).password
        except ArgumentError:
            password = None
        values.append(password)
        return [v for v in values if v]

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def normalize_database_url(raw: str, *, name: str = "XBOT_DATABASE_URL") -> str:
    """Validate a SQLAlchemy URL and pick our drivers (psycopg 3 for Postgres)."""
    try:
        url: URL = make_url(raw)
    except ArgumentError as exc:
        raise SettingsError(f"{name} is not a valid database URL: {exc}") from None
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        if url.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
            url = url.set(drivername="postgresql+psycopg")
        if not url.database:
            raise SettingsError(
                f"{name} must name a database, got {url.render_as_string(hide_password=True)}"
            )
    elif backend != "sqlite":
        raise SettingsError(f"{name} must be a sqlite:// or postgresql:// URL, got backend {backend!r}")
    return url.render_as_string(hide_password=False)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    home = Path(env.get("XBOT_HOME", "").strip() or ".xbot").expanduser().absolute()

    raw_db = env.get("XBOT_DATABASE_URL", "").strip()
    database_url = normalize_database_url(raw_db) if raw_db else f"sqlite:///{home / 'xbot.sqlite3'}"

    publisher = env.get("XBOT_PUBLISHER", "").strip().lower() or "api"
    if publisher not in PUBLISHERS:
        raise SettingsError(f"XBOT_PUBLISHER must be one of {', '.join(PUBLISHERS)}, got {publisher!r}")

    webhook = env.get("XBOT_ALERT_WEBHOOK_URL", "").strip() or None
    if webhook:
        _url({"XBOT_ALERT_WEBHOOK_URL": webhook}, "XBOT_ALERT_WEBHOOK_URL", webhook)

    llm_base = env.get("XBOT_LLM_BASE_URL", "").strip() or None
    if llm_base:
        llm_base = _url(env, "XBOT_LLM_BASE_URL", llm_base)

    headless_raw = env.get("XBOT_BROWSER_HEADLESS", "").strip().lower() or "true"
    if headless_raw not in ("1", "0", "true", "false", "yes", "no"):
        raise SettingsError(f"XBOT_BROWSER_HEADLESS must be true or false, got {headless_raw!r}")

    llm_timeout_raw = env.get("XBOT_LLM_TIMEOUT_S", "").strip() or "20"
    try:
        llm_timeout_s = float(llm_timeout_raw)
    except ValueError:
        llm_timeout_s = -1.0
    if not 0 < llm_timeout_s <= 600:
        raise SettingsError(f"XBOT_LLM_TIMEOUT_S must be seconds in (0, 600], got {llm_timeout_raw!r}")

    account = env.get("XBOT_ACCOUNT", "").strip() or "main"
    if not account.replace("_", "").replace("-", "").isalnum() or len(account) > 64:
        raise SettingsError(f"XBOT_ACCOUNT must be letters, digits, '-' or '_' (at most 64), got {account!r}")

    return Settings(
        home=home,
        database_url=database_url,
        publisher=publisher,
        x_web_url=_url(env, "XBOT_X_WEB_URL", "https://x.com"),
        x_api_url=_url(env, "XBOT_X_API_URL", "https://api.x.com"),
        session_file=Path(env.get("XBOT_SESSION_FILE", "").strip() or home / "session.json").expanduser(),
        alert_webhook_url=webhook,
        warehouse_path=Path(env.get("XBOT_WAREHOUSE_PATH", "").strip() or home / "warehouse.duckdb")
        .expanduser()
        .absolute(),
        x_api_token=env.get("XBOT_X_API_TOKEN", "").strip() or None,
        browser_executable=env.get("XBOT_BROWSER_EXECUTABLE", "").strip() or None,
        browser_headless=headless_raw in ("1", "true", "yes"),
        account=account,
        llm_base_url=llm_base,
        llm_api_key=env.get("XBOT_LLM_API_KEY", "").strip() or None,
        llm_model=env.get("XBOT_LLM_MODEL", "").strip() or None,
        llm_timeout_s=llm_timeout_s,
    )
