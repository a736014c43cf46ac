"""`xbot sandbox`: run and drive the local X stand-in (serve, reset, fault, posts, accounts)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import typer
from rich.table import Table

from xbot_pipeline.cli.app import app, console, fail
from xbot_pipeline.settings import Settings, load_settings

sandbox_app = typer.Typer(
    help="The local X stand-in: a real web page and API v2 on 127.0.0.1.", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")

STATE_HELP = "The stand-in's state file (default: sandbox.sqlite3 in XBOT_HOME)."


def default_state_path(settings: Settings) -> Path:
    """The stand-in's one state file (SQLite) in XBOT_HOME: `xbot sandbox` and `xbot demo` share it."""
    return settings.home / "sandbox.sqlite3"


def _state_path(state: Path | None) -> Path:
    if state is not None:
        _check_writable_file("--state", state)
    return state or default_state_path(load_settings())


def _check_writable_file(option: str, path: Path) -> None:
    """A file the command writes: not a folder, in a folder that exists (or can be made) and is writable."""
    if path.is_dir():
        fail(f"{option} {path} is a folder; give a file path")
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        fail(f"{option} {path} cannot be written: {parent} is not a writable folder")


def _open(state: Path | None):
    import sqlite3

    from xbot_pipeline.sandbox.state import SandboxState

    path = _state_path(state)
    try:
        return SandboxState(path)
    except sqlite3.DatabaseError as exc:  # not a SQLite file, or a corrupt one
        fail(f"the stand-in state {path} cannot be used: {exc}")


@sandbox_app.command()
def serve(
    port: int = typer.Option(8765, "--port", help="Port on 127.0.0.1 (0 picks a free one)."),
    state: Path | None = typer.Option(None, "--state", help=STATE_HELP),
    session_file: Path | None = typer.Option(
        None, "--session-file", help="Also write a logged-in storage state for xbot_demo here (0600)."
    ),
) -> None:
    """Run the stand-in in the foreground until Ctrl-C."""
    from xbot_pipeline.sandbox.server import DEMO_HANDLE, SandboxServer

    if not 0 <= port <= 65535:
        fail(f"--port must be between 0 and 65535, got {port}")
    if session_file is not None:
        _check_writable_file("--session-file", session_file)
    try:
        server = SandboxServer(_state_path(state), port=port, log_level="warning").start()
    except (OSError, RuntimeError, SystemExit) as exc:
        fail(f"cannot start the sandbox on 127.0.0.1:{port}: {exc}")
    try:
        demo = server.account(DEMO_HANDLE)
        console.print(
            f"X stand-in on [bold]{server.web_url}[/bold] (web) and [bold]{server.api_url}[/bold] (API v2)"
        )
        console.print(f"state: {server.state.path}")
        console.print(f"demo account @{demo.handle} (user id {demo.user_id}) password {demo.password}")
        console.print(f"API token for @{demo.handle}: {demo.token}")
        console.print(
            f"use: XBOT_X_WEB_URL={server.web_url} XBOT_X_API_URL={server.api_url} XBOT_X_API_TOKEN=<token>"
        )
        if session_file:
            server.write_storage_state(DEMO_HANDLE, session_file)
            console.print(f"session file for @{demo.handle}: {session_file}")
        signal.signal(signal.SIGTERM, _interrupt)  # a supervisor's stop: shut down as on Ctrl-C
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@sandbox_app.command()
def reset(state: Path | None = typer.Option(None, "--state", help=STATE_HELP)) -> None:
    """Forget every post, fault and counter (accounts, tokens and logins stay)."""
    st = _open(state)
    st.reset()
    st.close()
    console.print("sandbox reset")


@sandbox_app.command()
def fault(
    kind: str = typer.Argument(
        ...,
        help="http_500, rate_limit, hang, missing_id, drop, duplicate, automation, "
        "session_expired, consent, alt_layout, slow_button, upload_failure, upload_chunk_failure, "
        "processing_failure, or 'clear'.",
    ),
    prob: float | None = typer.Option(
        None, "--prob", help="Fire with this probability on every matching call."
    ),
    next_n: int | None = typer.Option(None, "--next", help="Fire on the next N matching calls."),
    account: str | None = typer.Option(
        None, "--account", help="Only for this handle (default: every account)."
    ),
    params: str | None = typer.Option(None, "--params", help="Extra JSON, e.g. '{\"seconds\": 5}'."),
    state: Path | None = typer.Option(None, "--state", help=STATE_HELP),
) -> None:
    """Inject a fault (takes effect at once, also in a running server)."""
    st = _open(state)
    try:
        if kind == "clear":
            console.print(f"cleared {st.clear_faults()} fault(s)")
            return
        try:
            extra = json.loads(params) if params else {}
        except ValueError:
            fail(f"--params must be a JSON object, got {params!r}")
        if not isinstance(extra, dict):
            fail("--params must be a JSON object")
        if prob is None and next_n is None:
            next_n = 1
        try:
            added = st.add_fault(kind, prob=prob, next_n=next_n, account=account, params=extra)
        except ValueError as exc:
            fail(str(exc))
        when = f"next {added.remaining} call(s)" if added.remaining else f"probability {added.prob}"
        console.print(f"fault #{added.id} {added.kind} for {account or 'every account'}: {when}")
    finally:
        st.close()


@sandbox_app.command()
def posts(
    account: str | None = typer.Option(None, "--account", help="Only this handle."),
    limit: int = typer.Option(50, "--limit", min=1),
    state: Path | None = typer.Option(None, "--state", help=STATE_HELP),
) -> None:
    """List the stand-in's posts, newest first."""
    st = _open(state)
    try:
        acc = st.account(account) if account else None
        if account and acc is None:
            fail(f"unknown sandbox account {account!r}")
        table = Table(show_edge=False)
        for col in ("id", "author", "created_at", "parent", "text", "media"):
            table.add_column(col)
        for p in st.posts(acc, limit=limit):
            table.add_row(
                p["id"],
                p["handle"],
                p["created_at"].isoformat(timespec="seconds"),
                p["parent_id"] or "-",
                p["text"][:60],
                ", ".join(f"{m['type']}{' (alt)' if m['alt_text'] else ''}" for m in p.get("media") or [])
                or "-",
            )
        console.print(table)
    finally:
        st.close()


@sandbox_app.command()
def accounts(state: Path | None = typer.Option(None, "--state", help=STATE_HELP)) -> None:
    """The stand-in's accounts with their passwords and API tokens (local test credentials)."""
    st = _open(state)
    table = Table(show_edge=False)
    for col in ("handle", "user id", "password", "token", "followers"):
        table.add_column(col)
    for a in st.accounts():
        table.add_row(a.handle, a.user_id, a.password, a.token, str(a.followers))
    st.close()
    console.print(table)
