"""Time `xbot import` and `xbot export` of N rows (singles, threads, replies) on a fresh store.

Prints, for a CSV of ``--rows`` rows: ``import_file`` in this process (wall and CPU time: reading,
checking every row as `xbot enqueue` does, the store's checks and the batch insert), the same file again
(every row already imported), ``export_posts`` of the result, and the whole `xbot import` command in a
new process (Python start included) into a second fresh store. SQLite in a temporary folder by default;
``--postgres`` creates (and drops) a database on ``XBOT_TEST_PG_ADMIN_URL`` (default
postgresql://postgres@127.0.0.1:5432/test).

    .venv/bin/python scripts/bench_import.py [--rows 1000] [--postgres] [--atomic]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from xbot_pipeline.posting.bulk import export_posts, import_file
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import ensure_account

ROOT = Path(__file__).resolve().parents[1]


def write_rows(path: Path, rows: int) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "when", "kind", "reply_to", "parts"])
        for i in range(rows):
            when = (start + timedelta(minutes=i)).isoformat()
            if i % 5 == 0:
                parts = [f"thread {i}: the first part, about something", f"and the second part of thread {i}"]
                writer.writerow(["", when, "thread", "", json.dumps(parts)])
            elif i % 5 == 1:
                writer.writerow(
                    [f"reply {i}, thanks for this", when, "reply", str(1790000000000000000 + i), ""]
                )
            else:
                writer.writerow(
                    [f"post {i}: a plain post with a link https://example.com/{i} #tag", when, "", "", ""]
                )


@contextmanager
def database(postgres: bool, folder: Path, name: str) -> Iterator[str]:
    if not postgres:
        yield f"sqlite:///{folder / name}.sqlite3"
        return
    admin_url = os.environ.get("XBOT_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    db = f"xbot_bench_{name}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    try:
        yield make_url(admin_url).set(database=db).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """``fn()``, its wall time and this process's CPU time."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--atomic", action="store_true", help="write in one transaction, as --atomic does")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "posts.csv"
        write_rows(path, args.rows)
        backend = "postgres" if args.postgres else "sqlite"
        print(
            f"{args.rows} rows ({path.stat().st_size / 1024:.0f} KiB CSV), store: {backend}, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        with database(args.postgres, folder, "a") as url_a, database(args.postgres, folder, "b") as url_b:
            store = Store.open(url_a)
            ensure_account(store, "main")
            mode = "one transaction (--atomic)" if args.atomic else "transactions of 1,000"
            report, wall, cpu = timed(
                lambda: import_file(store, str(path), default_account="main", dry_run=True)
            )
            assert report.count("accepted") == args.rows, report.as_dict()
            print(f"import_file --dry-run (read, check): {wall:6.2f} s wall, {cpu:6.2f} s CPU")
            checked = wall
            report, wall, cpu = timed(
                lambda: import_file(store, str(path), default_account="main", atomic=args.atomic)
            )
            assert report.written == args.rows, report.as_dict()
            print(
                f"import_file, new rows, {mode}: {wall:6.2f} s wall, {cpu:6.2f} s CPU "
                f"({args.rows / wall:,.0f} rows/s; writing about {max(wall - checked, 0):.2f} s)"
            )
            report, wall, cpu = timed(lambda: import_file(store, str(path), default_account="main"))
            assert report.count("already") == args.rows
            print(f"import_file, already imported: {wall:6.2f} s wall, {cpu:6.2f} s CPU")
            out = io.StringIO()
            count, wall, cpu = timed(lambda: export_posts(store, out, "csv"))
            assert count == args.rows
            print(f"export_posts (csv):             {wall:6.2f} s wall, {cpu:6.2f} s CPU")
            store.dispose()
            env = {**os.environ, "XBOT_HOME": str(folder / "home"), "XBOT_DATABASE_URL": url_b}
            Store.open(url_b).dispose()  # migrated first, so the command times the import, not the migration
            start, children = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(
                [str(Path(sys.executable).parent / "xbot"), "import", str(path)],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
            assert done.returncode == 0, done.stderr
            print(
                f"xbot import {path.name} (a new process, Python start included): {wall:6.2f} s wall, "
                f"{cpu:6.2f} s CPU; it printed: {done.stdout.strip().splitlines()[-1]}"
            )


if __name__ == "__main__":
    main()
