"""Holder ids ("host:pid:tag") name the process behind a lease or a claimed post (``leases.holder``,
``posts.claimed_by``): is that process still running? Only answerable on its own host."""

from __future__ import annotations

import os
import socket


def holder_alive(holder: str | None) -> bool | None:
    """True/False for a holder on this host; None when it cannot be told (another host, odd format)."""
    host, _, rest = (holder or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return None
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is dead
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
