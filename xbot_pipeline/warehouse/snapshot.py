"""The analysts' DuckDB snapshot, written so that an open analyst connection never blocks a run.

DuckDB locks a file for its read-write opener: nobody else may open it, not even read-only. So the writer
never opens the published file. It copies it to a private working file in the same folder, writes there,
checkpoints, closes, and publishes with ``os.replace`` (atomic). An analyst holding a read-only
connection keeps reading the old inode until every connection of that process to the path is closed
(DuckDB shares one instance per path); ``read.open_snapshot`` always opens the newest file.
Writers are serialised with a file lock next to the snapshot (and the Dagster pool "warehouse").
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from xbot_pipeline.clock import Clock, SystemClock
from xbot_pipeline.warehouse.read import open_snapshot

META_TABLE = "_snapshot_meta"


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] | None = None) -> list[tuple]:
    """Execute and fetch to the end: duckdb 2 refuses new work while a result is unfinished."""
    return con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()


class SnapshotLockTimeout(TimeoutError):
    """Another writer held the snapshot lock for longer than allowed."""


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: dict[str, int]  # table -> row count after publishing
    seconds: float


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextmanager
def _writer_lock(path: Path, timeout_s: float, clock: Clock) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(_lock_path(path), "a") as fh:
        deadline = clock.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if clock.monotonic() > deadline:
                    raise SnapshotLockTimeout(
                        f"snapshot writer lock busy for {timeout_s:g}s: {path}"
                    ) from None
                clock.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_FICLONE = 0x40049409  # Linux ioctl: share the source's blocks (btrfs, XFS, bcachefs): O(1) copy


def _clone_or_copy(src: Path, dst: Path) -> None:
    """Reflink the published file where the filesystem allows it, otherwise copy it (kernel-side)."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        try:
            fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
            return
        except OSError:
            pass
    shutil.copyfile(src, dst)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def open_for_write(
    path: str | os.PathLike[str], *, lock_timeout_s: float = 120.0, clock: Clock | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on a private copy of the snapshot; published atomically on success.

    On any exception the working copy is discarded and the published snapshot is left untouched. The wait
    for another writer's lock runs on ``clock`` (default: the system clock).
    """
    target = Path(path).absolute()
    with _writer_lock(target, lock_timeout_s, clock or SystemClock()):
        work = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.work")
        try:
            if target.exists():
                _clone_or_copy(target, work)
            con = duckdb.connect(str(work))
            try:
                run_sql(
                    con,
                    f"CREATE TABLE IF NOT EXISTS {META_TABLE} (table_name VARCHAR PRIMARY KEY, "
                    "published_at TIMESTAMPTZ, row_count BIGINT)",
                )
                yield con
                run_sql(con, "CHECKPOINT")
            finally:
                con.close()
            with open(work, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(work, target)
            _fsync_dir(target.parent)
        finally:
            for leftover in (work, work.with_name(work.name + ".wal")):
                leftover.unlink(missing_ok=True)


def _quote(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"table names are letters, digits and '_': {name!r}")
    return f'"{name}"'


def _select(view: str, json_columns: Sequence[str], frame: pl.DataFrame) -> str:
    present = [c for c in json_columns if c in frame.columns]
    if not present:
        return f"SELECT * FROM {view}"
    casts = ", ".join(f"CAST({_quote(c)} AS JSON) AS {_quote(c)}" for c in present)
    return f"SELECT * REPLACE ({casts}) FROM {view}"


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'",
            [name],
        ).fetchall()[0][0]
    )


def write_replace(
    con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, json_columns: Sequence[str] = ()
) -> None:
    view = f"__src_{uuid.uuid4().hex[:8]}"
    con.register(view, frame)
    try:
        run_sql(con, f"CREATE OR REPLACE TABLE {_quote(name)} AS {_select(view, json_columns, frame)}")
    finally:
        con.unregister(view)


def write_append(
    con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, json_columns: Sequence[str] = ()
) -> None:
    """Append rows (creating the table on first use; new columns in ``frame`` are added)."""
    if not table_exists(con, name):
        write_replace(con, name, frame, json_columns)
        return
    existing = {r[0] for r in con.execute(f"DESCRIBE {_quote(name)}").fetchall()}
    view = f"__src_{uuid.uuid4().hex[:8]}"
    con.register(view, frame)
    try:
        for col in frame.columns:
            if col not in existing:
                dtype = con.execute(f"SELECT typeof({_quote(col)}) FROM {view} LIMIT 1").fetchall()
                run_sql(
                    con,
                    f"ALTER TABLE {_quote(name)} ADD COLUMN {_quote(col)} "
                    f"{dtype[0][0] if dtype else 'VARCHAR'}",
                )
        if frame.height:
            run_sql(con, f"INSERT INTO {_quote(name)} BY NAME {_select(view, json_columns, frame)}")
    finally:
        con.unregister(view)


def write_upsert(
    con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, key: str, json_columns: Sequence[str] = ()
) -> None:
    """Replace the rows whose ``key`` appears in ``frame`` and insert the rest."""
    if table_exists(con, name) and frame.height:
        view = f"__keys_{uuid.uuid4().hex[:8]}"
        con.register(view, frame.select(key))
        try:
            run_sql(
                con, f"DELETE FROM {_quote(name)} WHERE {_quote(key)} IN (SELECT {_quote(key)} FROM {view})"
            )
        finally:
            con.unregister(view)
    write_append(con, name, frame, json_columns)


def _touch_meta(con: duckdb.DuckDBPyConnection, name: str, now: datetime) -> int:
    rows = int(con.execute(f"SELECT count(*) FROM {_quote(name)}").fetchall()[0][0])
    run_sql(con, f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?, ?)", [name, now, rows])
    return rows


def publish_tables(
    path: str | os.PathLike[str],
    *,
    replace: Mapping[str, pl.DataFrame] | None = None,
    append: Mapping[str, pl.DataFrame] | None = None,
    upsert: Mapping[str, tuple[pl.DataFrame, str]] | None = None,
    json_columns: Mapping[str, Sequence[str]] | None = None,
    now: datetime | None = None,
    lock_timeout_s: float = 120.0,
    clock: Clock | None = None,
) -> PublishResult:
    """Publish tables to the snapshot in one atomic step (all or nothing).

    ``replace``: the table becomes exactly the frame. ``append``: rows are added (history kept).
    ``upsert``: ``{name: (frame, key_column)}`` rows with the same key are replaced.
    ``json_columns``: ``{table: [column, ...]}`` string columns stored as DuckDB JSON.
    """
    started = time.perf_counter()  # a measurement of the work, not a wait
    clock = clock or SystemClock()
    now = now or clock.now()
    json_columns = json_columns or {}
    counts: dict[str, int] = {}
    with open_for_write(path, lock_timeout_s=lock_timeout_s, clock=clock) as con:
        for name, frame in (replace or {}).items():
            write_replace(con, name, frame, json_columns.get(name, ()))
            counts[name] = _touch_meta(con, name, now)
        for name, frame in (append or {}).items():
            write_append(con, name, frame, json_columns.get(name, ()))
            counts[name] = _touch_meta(con, name, now)
        for name, (frame, key) in (upsert or {}).items():
            write_upsert(con, name, frame, key, json_columns.get(name, ()))
            counts[name] = _touch_meta(con, name, now)
    return PublishResult(Path(path), counts, time.perf_counter() - started)


def last_published(path: str | os.PathLike[str]) -> datetime | None:
    """When any table of the snapshot was last published (read-only open; None if no snapshot)."""
    target = Path(path)
    if not target.exists():
        return None
    con = open_snapshot(target)  # the newest file, even if this process holds an older connection
    try:
        row = con.execute(f"SELECT max(published_at) FROM {META_TABLE}").fetchall()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    value = row[0][0] if row else None
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
