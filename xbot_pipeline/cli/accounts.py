"""`xbot accounts` and `xbot account-limits`: the posting accounts and their per-account limits."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import typer
from rich.table import Table

from xbot_pipeline.cli.app import CliError, app, console, runtime
from xbot_pipeline.posting.config import Limits, parse_limit_overrides
from xbot_pipeline.store.accounts import get_account, list_accounts, update_limits


def _limits_text(limits: Limits) -> str:
    return (
        f"{limits.per_hour}/h, replies {limits.replies_per_hour}/h, spacing {limits.min_spacing_s:g} s, "
        f"threads {limits.threads_per_hour}/h {limits.threads_per_day}/day, {limits.per_run} per run"
    )


def _describe(row: dict[str, Any]) -> dict[str, Any]:
    effective = Limits().merged(row.get("limits"))
    return {
        "id": row["id"],
        "handle": row["handle"],
        "publisher": row["publisher"],
        "status": row["status"],
        "status_reason": row.get("status_reason"),
        "cooldown_until": row.get("cooldown_until"),
        "overrides": row.get("limits") or {},
        "limits": asdict(effective),
        "limits_text": _limits_text(effective),
    }


@app.command()
def accounts(as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON.")) -> None:
    """The posting accounts: publisher, status and effective limits (seed defaults + overrides)."""
    rows = [_describe(r) for r in list_accounts(runtime().store)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title="Accounts", show_edge=False)
    for col in ("account", "handle", "publisher", "status", "limits"):
        table.add_column(col)
    for r in rows:
        status = r["status"] + (f" until {r['cooldown_until']}" if r["cooldown_until"] else "")
        table.add_row(r["id"], r["handle"], r["publisher"], status, r["limits_text"])
    if not rows:
        table.add_row("-", "-", "-", "none yet", "`xbot enqueue` creates the default account")
    console.print(table)


@app.command("account-limits")
def account_limits(
    account: str = typer.Argument(..., help="Account id."),
    settings: list[str] = typer.Argument(
        None,
        help="NAME=VALUE pairs: per_hour, replies_per_hour, min_spacing_s, threads_per_hour, "
        "threads_per_day, per_run.",
    ),
    reset: bool = typer.Option(False, "--reset", help="Drop every override (back to the seed defaults)."),
) -> None:
    """Show or change one account's posting limits; the next posting run uses them."""
    rt = runtime()
    row = get_account(rt.store, account)
    if row is None:
        raise CliError(f"unknown account {account!r}")
    try:
        changes = parse_limit_overrides(list(settings or []))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if reset or changes:
        merged = dict(changes) if reset else {**(row.get("limits") or {}), **changes}
        update_limits(rt.store, account, merged)
        row = get_account(rt.store, account)
    assert row is not None
    console.print(f"{account}: {_describe(row)['limits_text']}")
