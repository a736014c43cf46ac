"""The browser publisher's saved session (a Playwright storage state): read and checked in one place, so a
garbage or truncated file is a *session* problem (the account pauses, a critical event says to log in
again), never a network error retried for ever nor a crash that leaves a post ``unknown``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_SESSION_BYTES = 10 * 1024 * 1024  # a storage state is a few KB; anything huge is not one


class SessionFileError(ValueError):
    """The session file is missing, unreadable or not a storage state; the message says which, in one line."""


def read_session(path: Path) -> dict[str, Any]:
    """The storage state in ``path``: a JSON object whose ``cookies`` (and ``origins``, when present) are
    lists of objects. Raises ``SessionFileError``."""
    try:
        if path.stat().st_size > MAX_SESSION_BYTES:
            raise SessionFileError(f"the session file {path} is too large to be a saved session")
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise SessionFileError(f"no session file at {path}: save a logged-in storage state first") from None
    except OSError as exc:
        raise SessionFileError(f"the session file {path} cannot be read: {exc.strerror or exc}") from None
    except (ValueError, RecursionError):
        raise SessionFileError(f"the session file {path} is not JSON: save the session again") from None
    if not isinstance(data, dict):
        raise SessionFileError(
            f"the session file {path} is not a saved session (a JSON object with cookies): save it again"
        )
    for key in ("cookies", "origins"):
        items = data.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise SessionFileError(f"the session file {path} has malformed {key}: save the session again")
    return data


def session_cookies(path: Path) -> list[str]:
    """The cookie values in a session file (registered as secrets, so no log or event shows them); none
    when the file is not a valid session."""
    try:
        data = read_session(path)
    except SessionFileError:
        return []
    return [str(c.get("value", "")) for c in data.get("cookies", []) if c.get("value")]
