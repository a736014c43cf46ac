"""`xbot auth login` and `xbot auth status`: sign an API account in to X and see its tokens' state
(never the tokens themselves)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import typer
from rich.table import Table

from xbot_pipeline.auth.callback import DEFAULT_PORT, CallbackServer
from xbot_pipeline.auth.errors import AuthError
from xbot_pipeline.auth.login import (
    OAUTH1_FIELDS,
    check_oauth1,
    resume_after_login,
    save_bearer,
    save_oauth1,
    save_oauth2,
)
from xbot_pipeline.auth.oauth2 import SCOPES, XApp, finish_login, start_login
from xbot_pipeline.cli.app import CliError, app, console, runtime
from xbot_pipeline.passes.publishers import vault_for_settings
from xbot_pipeline.runtime import Runtime
from xbot_pipeline.store.accounts import get_account, list_accounts
from xbot_pipeline.store.credentials import list_credentials

auth_app = typer.Typer(
    help="Sign API accounts in to X (OAuth 2.0 with PKCE, or OAuth 1.0a) and show their tokens' state.",
    no_args_is_help=True,
)
app.add_typer(auth_app, name="auth")

_OAUTH1_SETTINGS = {
    "consumer_key": "x_consumer_key",
    "consumer_secret": "x_consumer_secret",
    "access_token": "x_access_token",
    "access_token_secret": "x_access_token_secret",
}


def _say(text: str) -> None:
    """One unwrapped line on stdout, flushed (a URL must stay whole and reach a waiting reader)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@auth_app.command("login")
def login(
    account: str = typer.Argument(..., help="Account id (create it with `xbot accounts add`)."),
    oauth1: bool = typer.Option(
        False,
        "--oauth1",
        help="Store OAuth 1.0a keys instead (XBOT_X_CONSUMER_KEY/_SECRET, XBOT_X_ACCESS_TOKEN/_SECRET, "
        "else asked for without echo).",
    ),
    bearer: bool = typer.Option(
        False,
        "--bearer",
        help="Store a static OAuth 2.0 user access token (XBOT_X_API_TOKEN, else asked for without echo); "
        "it is never refreshed.",
    ),
    paste: bool = typer.Option(
        False, "--paste", help="Headless: paste the address X redirected the browser to (read from stdin)."
    ),
    client_id: str | None = typer.Option(None, "--client-id", help="The app's OAuth 2.0 client id."),
    port: int = typer.Option(
        DEFAULT_PORT, "--port", min=0, max=65535, help="Local callback port (the app's callback URL)."
    ),
    timeout_s: float = typer.Option(
        300.0, "--timeout", min=1, max=3600, help="Seconds to wait for X's redirect."
    ),
) -> None:
    """Sign ACCOUNT in: prints X's authorize URL (scopes tweet.read tweet.write users.read offline.access
    media.write), waits for the redirect on http://127.0.0.1:PORT/callback (or reads the pasted redirect
    URL with --paste), checks its state and exchanges the code with PKCE. A paused account resumes."""
    if oauth1 and bearer:
        raise CliError("choose one of --oauth1 and --bearer")
    rt = runtime()
    row = get_account(rt.store, account)
    if row is None:
        raise CliError(
            f"unknown account {account!r} (create it: `xbot accounts add {account} --publisher api`)"
        )
    client_id = client_id or rt.settings.x_client_id
    if not (oauth1 or bearer or client_id):
        raise CliError("give --client-id (or set XBOT_X_CLIENT_ID): the app's OAuth 2.0 client id")
    try:
        vault = vault_for_settings(rt.settings)
        if oauth1:
            kind, note = "OAuth 1.0a", _login_oauth1(rt, account, vault)
        elif bearer:
            token = rt.settings.x_api_token or typer.prompt("bearer token", hide_input=True, err=True).strip()
            if not token:
                raise CliError("the bearer token is empty")
            save_bearer(rt.store, vault, account, token)
            kind, note = "a static bearer token", " (not refreshed: when it expires, sign in again)"
        else:
            assert client_id is not None
            kind, note = "OAuth 2.0", _login_oauth2(rt, account, vault, client_id, paste, port, timeout_s)
    except AuthError as exc:
        raise CliError(str(exc)) from None
    resumed = resume_after_login(rt.store, account)
    rt.tracker.track_event(
        "account_signed_in", {"kind": kind, "resumed": resumed}, component="auth", account_id=account
    )
    if row["publisher"] != "api":
        note += (
            f"; note: {account} publishes with {row['publisher']} (`xbot account-publisher {account} api`)"
        )
    console.print(
        f"{account}: signed in with {kind}{note}" + ("; the account is active again" if resumed else "")
    )


def _login_oauth2(
    rt: Runtime, account: str, vault: Any, client_id: str, paste: bool, port: int, timeout_s: float
) -> str:
    settings = rt.settings
    xapp = XApp(
        client_id=client_id,
        token_url=settings.x_token_url,
        client_secret=settings.x_client_secret,
        authorize_url=settings.x_authorize_url,
    )
    if paste:
        request = start_login(xapp, f"http://127.0.0.1:{port}/callback")
        _say("Open this address in a browser signed in to the account, authorize the app, then paste")
        _say("the whole address the browser was sent to (it will not load: that is expected):")
        _say(request.url)
        redirect = sys.stdin.readline().strip()
        if not redirect:
            raise CliError("no redirect URL was pasted")
    else:
        with CallbackServer(port) as server:
            request = start_login(xapp, server.redirect_uri)
            _say(f"Open this address in a browser signed in to the account (waiting {timeout_s:g} s):")
            _say(request.url)
            redirect = server.wait(timeout_s)
    tokens = finish_login(xapp, request, redirect, clock=rt.clock)
    save_oauth2(rt.store, vault, account, xapp, tokens, SCOPES)
    life = ""
    if tokens.expires_at is not None:
        life = f", access token valid {int((tokens.expires_at - rt.clock.now()).total_seconds())} s"
    refresh = "refresh token stored" if tokens.refresh_token else "NO refresh token (offline.access missing?)"
    confidential = "confidential" if xapp.confidential else "public"
    return f" ({confidential} client{life}, {refresh})"


def _login_oauth1(rt: Runtime, account: str, vault: Any) -> str:
    keys: dict[str, str] = {}
    for name in OAUTH1_FIELDS:
        value = getattr(rt.settings, _OAUTH1_SETTINGS[name])
        if not value:
            value = typer.prompt(name.replace("_", " "), hide_input=True, err=True).strip()
        if not value:
            raise CliError(f"the OAuth 1.0a {name.replace('_', ' ')} is empty")
        keys[name] = value
    handle = check_oauth1(rt.settings.x_api_url, keys)
    save_oauth1(rt.store, vault, account, keys)
    return f" (the keys belong to @{handle})" if handle else ""


def _expires_in(expires_at: datetime | None, now: datetime) -> str:
    if expires_at is None:
        return "never"
    seconds = int((expires_at - now).total_seconds())
    if seconds <= 0:
        return f"expired {-seconds} s ago"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min" if seconds >= 3600 else f"{seconds} s"


@auth_app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON.")) -> None:
    """Each account's sign-in: kind, when the access token expires, the last refresh, and whether X
    still accepts it. Secrets are never shown."""
    rt = runtime()
    now = rt.clock.now()
    creds = {c["account_id"]: c for c in list_credentials(rt.store)}
    rows = []
    for acct in list_accounts(rt.store):
        cred = creds.get(acct["id"])
        if cred is None:
            state = "not signed in" if acct["publisher"] == "api" and not rt.settings.x_api_token else "-"
            if acct["publisher"] == "api" and rt.settings.x_api_token:
                state = "XBOT_X_API_TOKEN"
            rows.append(
                {"account": acct["id"], "kind": "-", "expires_in": "-", "last_refresh": "-", "status": state}
            )
            continue
        status_text = cred["status"] if cred["status"] == "ok" else f"refused: {cred['status_reason']}"
        if acct["status"] == "paused":
            status_text += " (account paused)"
        rows.append(
            {
                "account": acct["id"],
                "kind": cred["kind"],
                "expires_in": _expires_in(cred["expires_at"], now),
                "last_refresh": cred["refreshed_at"].isoformat(timespec="seconds")
                if cred["refreshed_at"]
                else "-",
                "refreshes": cred["refresh_count"],
                "status": status_text,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title="Sign-in", show_edge=False)
    for col in ("account", "kind", "expires in", "last refresh", "status"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["account"], r["kind"], r["expires_in"], r["last_refresh"], r["status"])
    if not rows:
        table.add_row("-", "-", "-", "-", "no accounts yet (`xbot accounts add NAME --publisher api`)")
    console.print(table)
