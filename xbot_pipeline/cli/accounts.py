"""`xbot accounts`, `xbot account-limits` and `xbot account-publisher`: the posting accounts, their limits
and the publisher each one uses (the account's own; XBOT_PUBLISHER is only the default for new accounts)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any

import typer
from rich.table import Table

from xbot_pipeline.cli.app import CliError, app, console, runtime
from xbot_pipeline.passes.publishers import publisher_for_settings
from xbot_pipeline.posting import x_budget
from xbot_pipeline.posting.config import LimitError, Limits, parse_limit_overrides
from xbot_pipeline.publishing.handles import parse_handle
from xbot_pipeline.settings import PUBLISHERS
from xbot_pipeline.store.accounts import (
    ensure_account,
    get_account,
    list_accounts,
    set_handle,
    set_publisher,
    update_limits,
)


def _limits_text(limits: Limits) -> str:
    return (
        f"{limits.per_hour}/h, replies {limits.replies_per_hour}/h, spacing {limits.min_spacing_s:g} s, "
        f"threads {limits.threads_per_hour}/h {limits.threads_per_day}/day, {limits.per_run} per run"
    )


def _describe(row: dict[str, Any]) -> dict[str, Any]:
    try:
        effective = Limits().merged(row.get("limits"))
        text = _limits_text(effective)
    except LimitError as exc:  # a bad stored value: shown, and `xbot account-limits` can fix it
        effective, text = Limits(), f"INVALID: {exc}"
    return {
        "id": row["id"],
        "handle": row["handle"],
        "publisher": row["publisher"],
        "status": row["status"],
        "status_reason": row.get("status_reason"),
        "cooldown_until": row.get("cooldown_until"),
        "overrides": row.get("limits") or {},
        "limits": asdict(effective),
        "limits_text": text,
    }


def _budget_text(b: dict[str, Any] | None) -> str:
    """``5/17 left, resets 14:03:10 UTC``; ``no 24 h cap`` when neither the tier nor X set one."""
    if b is None or b["left"] is None:
        return "no 24 h cap"
    when = b["reset_at"] or b["grows_at"]
    return f"{b['left']}/{b['cap']} left" + (f", resets {when[11:19]} UTC" if when else "")


def _x_budgets(rt: Any, rows: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Each API account's 24-hour budget (JSON-ready, by account id) and the shared app budget."""
    config, now = rt.settings.x_budget, rt.store.clock.now()
    members = x_budget.app_members(rows)
    out, app = (
        {},
        x_budget.scope_budget(
            rt.store, "app", config.app_key, members, config.per_app_24h, config.window_s, now
        ).as_dict(),
    )
    for account_id in members:
        user = x_budget.scope_budget(
            rt.store, "user", account_id, [account_id], config.per_user_24h, config.window_s, now
        )
        out[account_id] = {"user": user.as_dict(), "app": app}
    return out, {**app, "tier": config.tier}


accounts_app = typer.Typer(
    help="The posting accounts: `xbot accounts` lists them, `xbot accounts add` creates one.",
    invoke_without_command=True,
)
app.add_typer(accounts_app, name="accounts")
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@accounts_app.callback()
def accounts(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """The posting accounts: publisher, status and effective limits (seed defaults + overrides)."""
    if ctx.invoked_subcommand is not None:
        return
    rt = runtime()
    stored = list_accounts(rt.store)
    budgets, app_budget = _x_budgets(rt, stored)
    rows = [{**_describe(r), "x_budget_24h": budgets.get(r["id"])} for r in stored]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(
        title="Accounts",
        caption=f"new accounts publish with XBOT_PUBLISHER={rt.settings.publisher}; "
        "change one with `xbot account-publisher ACCOUNT api|browser`\n"
        f"X app {app_budget['key']!r} (tier {app_budget['tier']}), shared by the API accounts: "
        f"{_budget_text(app_budget)}",
        show_edge=False,
    )
    for col in ("account", "handle", "publisher", "status", "limits", "X 24 h budget"):
        table.add_column(col)
    for r in rows:
        status = r["status"] + (f" until {r['cooldown_until']}" if r["cooldown_until"] else "")
        budget = _budget_text(r["x_budget_24h"]["user"]) if r["x_budget_24h"] else "-"
        table.add_row(r["id"], r["handle"], r["publisher"], status, r["limits_text"], budget)
    if not rows:
        table.add_row("-", "-", "-", "none yet", "`xbot enqueue` creates the default account", "-")
    console.print(table)


@accounts_app.command("add")
def accounts_add(
    name: str = typer.Argument(..., help="Account id (letters, digits, '-' or '_', at most 64)."),
    publisher: str = typer.Option(..., "--publisher", help="api (X API v2, for real accounts) or browser."),
    handle: str | None = typer.Option(None, "--handle", help="The X handle (@name); default the id."),
) -> None:
    """Create an account; then sign it in with `xbot auth login NAME` (API) or save a browser session."""
    if not ACCOUNT_ID.match(name):
        raise CliError(f"an account id is 1-64 letters, digits, '-' or '_', got {name[:60]!r}")
    kind = publisher.strip().lower()
    if kind not in PUBLISHERS:
        raise CliError(f"--publisher must be one of {', '.join(PUBLISHERS)}, got {publisher!r}")
    try:
        value = parse_handle(handle if handle is not None else name)
    except ValueError as exc:
        raise CliError(f"--handle: {exc}" if handle is not None else f"{exc} (give --handle)") from None
    rt = runtime()
    if get_account(rt.store, name) is not None:
        raise CliError(f"account {name!r} exists already (see `xbot accounts`)")
    ensure_account(rt.store, name, handle=value, publisher=kind)
    rt.tracker.track_event("account_added", {"publisher": kind}, component="cli", account_id=name)
    hint = f"sign it in: `xbot auth login {name}`" if kind == "api" else "save its browser session"
    console.print(f"account {name} (@{value}) publishes with {kind}; {hint}")


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


@app.command("account-publisher")
def account_publisher(
    account: str = typer.Argument(..., help="Account id."),
    publisher: str | None = typer.Argument(None, help="api or browser; omit to show the current one."),
) -> None:
    """Show or change how one account publishes; the next posting, recovery and metrics runs use it
    (browser accounts run in the Dagster pool 'browser'). Its queue, history and limits stay."""
    rt = runtime()
    row = get_account(rt.store, account)
    if row is None:
        raise CliError(f"unknown account {account!r}")
    if publisher is not None:
        kind = publisher.strip().lower()
        if kind not in PUBLISHERS:
            raise CliError(f"publisher must be one of {', '.join(PUBLISHERS)}, got {publisher!r}")
        if kind != row["publisher"]:
            set_publisher(rt.store, account, kind)
            rt.tracker.track_event(
                "account_publisher_changed",
                {"from": row["publisher"], "to": kind},
                component="cli",
                account_id=account,
            )
        console.print(f"{account}: publisher {kind} (was {row['publisher']})")
        return
    console.print(f"{account}: publisher {row['publisher']}")


@app.command("account-handle")
def account_handle(
    account: str = typer.Argument(..., help="Account id."),
    handle: str | None = typer.Argument(None, help="The account's X handle (@name); omit to show it."),
    check: bool = typer.Option(
        True, "--check/--no-check", help="Compare with the handle the session or token is signed in as."
    ),
) -> None:
    """Show or set the account's X handle: the browser publisher reads the profile /<handle> to find lost
    ids, so a wrong one leaves such posts open for ever. Checked against the signed-in session."""
    rt = runtime()
    row = get_account(rt.store, account)
    if row is None:
        raise CliError(f"unknown account {account!r}")
    if handle is None:
        console.print(f"{account}: handle @{row['handle']}")
        return
    try:
        value = parse_handle(handle)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    note = ""
    if check:
        publisher_for = publisher_for_settings(rt.settings, clock=rt.store.clock, store=rt.store)
        publisher = publisher_for({**row, "handle": value})
        try:
            signed_in = publisher.signed_in_handle()
        finally:
            publisher.close()
        if signed_in is not None and signed_in.lower() != value.lower():
            raise CliError(f"the {row['publisher']} session is signed in as @{signed_in}, not @{value}")
        note = " (checked against the session)" if signed_in else " (the session could not tell; not checked)"
    set_handle(rt.store, account, value)
    console.print(f"{account}: handle @{value} (was @{row['handle']}){note}")
