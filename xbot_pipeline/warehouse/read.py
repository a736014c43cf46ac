"""Reading the analysts' snapshot: always the newest published file.

``duckdb.connect(path, read_only=True)`` keeps one database instance per path in a process: while any
connection to that path is open, a new ``connect`` returns another handle on the same instance, and that
instance still reads the file it opened, which the writer has since replaced (``os.replace``). So in a
notebook that kept an old connection, "reconnecting" shows the old snapshot. (A different ``config``
does not help: DuckDB refuses it for a path already open.) ``open_snapshot`` opens a fresh in-memory
database and attaches the file read-only: the attach opens the path anew, so it sees the newest publish,
and the old connection keeps its own consistent view until it is closed.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

ALIAS = "warehouse"  # the attached snapshot's catalog name; made the default, so queries need no prefix


def open_snapshot(path: str | os.PathLike[str]) -> duckdb.DuckDBPyConnection:
    """A read-only connection on the newest published snapshot at ``path`` (close it when done).

    Tables are addressed as usual (``SELECT ... FROM system_events``); the seed's queries run unchanged.
    Raises ``FileNotFoundError`` when nothing was published there yet."""
    target = Path(path).absolute()
    if not target.is_file():
        raise FileNotFoundError(f"no snapshot published at {target}")
    con = duckdb.connect(":memory:")  # a new database instance every time: no per-path cache
    try:
        con.execute(f"ATTACH ? AS {ALIAS} (READ_ONLY)", [str(target)]).fetchall()
        con.execute(f"USE {ALIAS}").fetchall()
    except BaseException:
        con.close()
        raise
    return con
