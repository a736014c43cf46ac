"""Files that hold secrets (a browser session's cookies): written owner-only (0600) and atomically.

A leaf module (standard library only): the browser publisher saves refreshed sessions with it, and the
X stand-in writes the session a login would have saved, without depending on the publisher's code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def write_private_json(data: Mapping[str, Any], path: Path | str) -> Path:
    """Write ``data`` as JSON readable by its owner only; never leaves a world-readable temp file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path
