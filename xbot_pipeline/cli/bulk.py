"""`xbot import FILE` and `xbot export`: posts in bulk, from and to CSV or JSONL (docs/POSTING.md)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

import typer
from rich.table import Table

from xbot_pipeline.cli.app import CliError, app, console, runtime
from xbot_pipeline.clock import SystemClock
from xbot_pipeline.posting.bulk import (
    EXTENSIONS,
    FORMATS,
    ImportFileError,
    ImportReport,
    apply_import,
    export_posts,
    read_file,
)
from xbot_pipeline.settings import load_settings
from xbot_pipeline.store.accounts import get_account
from xbot_pipeline.store.schema import POST_STATUSES

SHOWN_ROWS = 200  # rows listed in the table; --json lists every one


def _summary(report: ImportReport) -> str:
    added = f"{report.count('accepted')} would be added" if report.dry_run else f"{report.written} added"
    return (
        f"{report.count('accepted')} accepted ({added}), {report.rejected} rejected, "
        f"{report.count('already')} already imported, {report.count('skipped')} skipped"
    )


def _print_report(report: ImportReport, path: str) -> None:
    """The rejected rows as a table (line, reason), then the counts; already-imported and skipped rows
    are only counted here (``--json`` lists every row that was not added, with its reason)."""
    rejected = [r for r in report.rows if r.outcome == "rejected"]
    if rejected:
        table = Table(title=f"import {Path(path).name[:60]}: rejected rows", title_justify="left")
        table.add_column("line", justify="right")
        table.add_column("reason", overflow="fold")
        for r in rejected[:SHOWN_ROWS]:
            table.add_row(str(r.line), r.reason)
        console.print(table)
        if len(rejected) > SHOWN_ROWS:
            console.print(f"... and {len(rejected) - SHOWN_ROWS} more rejected rows (--json lists them all)")
    if report.ignored_columns:
        console.print(f"ignored columns: {', '.join(report.ignored_columns)}")
    console.print(("dry run: " if report.dry_run else "") + _summary(report))


@app.command("import")
def import_posts(
    file: str = typer.Argument(
        ..., help="A .csv or .jsonl file of posts (docs/POSTING.md lists the columns)."
    ),
    fmt: str | None = typer.Option(None, "--format", "-f", help="csv | jsonl (default: from the extension)."),
    account: str | None = typer.Option(
        None, "--account", "-a", help="Account for rows that name none (default XBOT_ACCOUNT)."
    ),
    atomic: bool = typer.Option(False, "--atomic", help="All or nothing: any rejected row adds no row."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row; add nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Queue posts from a CSV or JSONL file; every row is checked as `xbot enqueue` checks it.

    Exit 0 when no row is rejected; 2 when any is (the others are added, unless --atomic or --dry-run)."""
    if Path(file).is_dir():
        raise CliError(f"{file[:80]} is a folder, not a file")
    settings = load_settings()
    default_account = settings.account if account is None else account
    try:  # the file first: a hostile one is refused before the store is opened
        report = read_file(file, fmt=fmt, default_account=default_account, now=SystemClock().now())
    except ImportFileError as exc:
        raise CliError(f"{Path(file).name[:60]}: {exc}; nothing was imported") from None
    rt = runtime()
    if account is not None and get_account(rt.store, account) is None:
        raise CliError(f"unknown account {account[:64]!r}")
    apply_import(rt.store, report, default_publisher=rt.settings.publisher, atomic=atomic, dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        _print_report(report, file)
    if report.rejected:
        if dry_run:
            outcome = "dry run: nothing was added"
        elif atomic:
            outcome = "--atomic: nothing was added"
        else:
            outcome = f"{report.written} other rows were added"
        raise CliError(
            f"{report.rejected} of {len(report.rows)} rows rejected ({outcome}); "
            "the report gives each one's line and reason"
        )


def _statuses(values: list[str]) -> tuple[str, ...]:
    wanted = [s.strip().lower() for value in values for s in value.split(",") if s.strip()]
    bad = [s for s in wanted if s not in POST_STATUSES]
    if bad:
        raise CliError(f"--status {bad[0][:30]!r} is not a post status ({', '.join(POST_STATUSES)})")
    return tuple(dict.fromkeys(wanted))


@app.command("export")
def export(
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="csv | jsonl (default: from --out's extension, else csv)."
    ),
    out: str | None = typer.Option(None, "--out", "-o", help="File to write (default: standard output)."),
    status: list[str] = typer.Option([], "--status", "-s", help="Only these statuses (repeat, or a,b)."),
    account: str | None = typer.Option(None, "--account", "-a", help="Only this account."),
) -> None:
    """Write posts with status, reason, tweet ids, times and latest metrics, for spreadsheets (CSV cells
    that would run as formulas get a leading ')."""
    if fmt is None:
        fmt = EXTENSIONS.get(Path(out).suffix.lower(), "csv") if out else "csv"
    elif fmt.strip().lower() in FORMATS:
        fmt = fmt.strip().lower()
    else:
        raise CliError(f"--format must be one of {', '.join(FORMATS)}, got {fmt[:20]!r}")
    statuses = _statuses(status)
    rt = runtime()
    if account is not None and get_account(rt.store, account) is None:
        raise CliError(f"unknown account {account[:64]!r}")
    if out is None:
        export_posts(rt.store, sys.stdout, fmt, statuses=statuses, account_id=account)
        sys.stdout.flush()
        return
    target = Path(out)
    if target.is_dir():
        raise CliError(f"--out {out[:80]} is a folder")
    # Written beside the target and renamed: a failed export never leaves half a file behind.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent if str(target.parent) else ".")
    try:
        encoding = "utf-8-sig" if fmt == "csv" else "utf-8"  # the mark makes Excel read the CSV as UTF-8
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            count = export_posts(rt.store, fh, fmt, statuses=statuses, account_id=account)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    console.print(f"exported {count} posts to {out} ({fmt})")
