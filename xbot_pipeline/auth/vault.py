"""Secrets at rest: how an account's tokens are kept so that the store never holds them in the clear.

- ``FernetVault``: with ``XBOT_SECRET_KEY`` (a Fernet key) the secrets are encrypted and stored in the
  ``account_credentials.sealed`` column (SQLite or Postgres).
- ``FileVault``: on the embedded SQLite default without a key, the secrets live in an owner-only (0600)
  JSON file per account under ``XBOT_HOME/credentials/``; the column only says ``file``.
- Postgres without a key is refused: a shared database must never hold tokens a reader could use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken

from xbot_pipeline.auth.errors import VaultError
from xbot_pipeline.private_files import write_private_json

FILE_MARKER = "file"


class Vault(Protocol):
    def seal(self, account_id: str, secrets: dict[str, Any]) -> str: ...

    def open(self, account_id: str, sealed: str) -> dict[str, Any]: ...


class FernetVault:
    """Encrypts with ``XBOT_SECRET_KEY``; rotating the key means signing in again (docs/ACCOUNTS.md)."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError):
            raise VaultError(
                "XBOT_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes; make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            ) from None

    def seal(self, account_id: str, secrets: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(secrets).encode()).decode()

    def open(self, account_id: str, sealed: str) -> dict[str, Any]:
        if sealed == FILE_MARKER:
            raise VaultError(
                f"{account_id}'s tokens were kept in a file before XBOT_SECRET_KEY was set: "
                f"run `xbot auth login {account_id}` again"
            )
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken:
            raise VaultError(
                f"{account_id}'s tokens cannot be decrypted with this XBOT_SECRET_KEY "
                f"(was the key changed?): "
                f"run `xbot auth login {account_id}` again"
            ) from None
        return data


class FileVault:
    """Owner-only JSON files, one per account (written atomically: a refresh never leaves half a file)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, account_id: str) -> Path:
        return self.folder / f"{account_id}.json"

    def seal(self, account_id: str, secrets: dict[str, Any]) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        write_private_json(secrets, self.path(account_id))
        return FILE_MARKER

    def open(self, account_id: str, sealed: str) -> dict[str, Any]:
        if sealed != FILE_MARKER:
            raise VaultError(
                f"{account_id}'s tokens are encrypted: set XBOT_SECRET_KEY to the key they were sealed with"
            )
        try:
            data: dict[str, Any] = json.loads(self.path(account_id).read_text())
        except FileNotFoundError:
            raise VaultError(
                f"{account_id}'s token file {self.path(account_id)} is missing: run `xbot auth login "
                f"{account_id}` again"
            ) from None
        return data


def make_vault(secret_key: str | None, *, is_sqlite: bool, home: Path) -> Vault:
    """The vault the settings ask for; without a key, Postgres is refused with one line."""
    if secret_key:
        return FernetVault(secret_key)
    if not is_sqlite:
        raise VaultError(
            "refusing to store X tokens in Postgres without XBOT_SECRET_KEY (set it to a Fernet key; "
            "see docs/ACCOUNTS.md)"
        )
    return FileVault(home / "credentials")
