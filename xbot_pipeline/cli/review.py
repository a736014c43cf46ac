"""`xbot review` (the review window: list, approve, edit, reject), `xbot account-review` (an account's review
mode) and `xbot evergreen` (mark a post the planner may re-queue). See docs/POSTING.md."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from xbot_pipeline.cli.app import CliError, app, console, runtime
from xbot_pipeline.learning.rewards import reject_post
from xbot_pipeline.passes.configs import posting_config_for
from xbot_pipeline.posting.enqueue import MAX_POST_ID, ValidationError
from xbot_pipeline.posting.review import ReviewError, approve, edit, gate_report
from xbot_pipeline.store.accounts import get_account, set_review
from xbot_pipeline.store.learning import recent_texts
from xbot_pipeline.store.posts import awaiting_review, get_post, set_evergreen
from xbot_pipeline.store.schema import REVIEW_MODES

review_app = typer.Typer(
    help="Posts waiting for review: list them with their gate results, approve, edit or reject them.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(review_app, name="review")

PostId = typer.Argument(..., min=1, max=MAX_POST_ID, help="Queue id of the post.")
AsJson = typer.Option(False, "--json", help="Print the post's new state as JSON.")


def _echo_json(post: dict[str, Any]) -> None:
    keys = (
        "id",
        "account_id",
        "status",
        "status_reason",
        "origin",
        "scheduled_at",
        "text",
        "parts",
        "rewarded",
    )
    typer.echo(json.dumps({k: post.get(k) for k in keys}, default=str))


def _rows(account: str | None) -> list[dict[str, Any]]:
    rt = runtime()
    now = rt.clock.now()
    gates = rt.settings.learning.gates
    config = posting_config_for(rt)
    recent: dict[str, list[tuple[int, str]]] = {}
    out = []
    for post in awaiting_review(rt.store, account):
        acc = post["account_id"]
        if acc not in recent:
            recent[acc] = recent_texts(rt.store, acc, now - timedelta(days=gates.dedup_window_days))
        report = gate_report(rt.store, post, recent[acc], config, gates)
        out.append(
            {
                "id": post["id"],
                "account_id": acc,
                "kind": post["kind"],
                "origin": post["origin"],
                "generator": post.get("generator"),
                "evergreen_of": post.get("evergreen_of"),
                "scheduled_at": post["scheduled_at"].isoformat(),
                "waiting_minutes": round((now - post["created_at"]).total_seconds() / 60, 1),
                "parts": list(post.get("parts") or [post["text"]]),
                "gates": {"valid": report.valid, "duplicate": report.duplicate, "similar": report.similar},
                "gates_pass": report.passed,
            }
        )
    return out


@review_app.callback()
def review(
    ctx: typer.Context,
    account: str | None = typer.Option(None, "--account", "-a", help="Only this account's posts."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """List the posts awaiting review (oldest first) with what the enqueue gates say about them now."""
    if ctx.invoked_subcommand is not None:
        return
    if account is not None and get_account(runtime().store, account) is None:
        raise CliError(f"unknown account {account!r}")
    rows = _rows(account)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(
        title="Awaiting review",
        caption="xbot review approve ID | edit ID --text TEXT | reject ID [--reason TEXT]",
        show_edge=False,
    )
    for col in (
        "id",
        "account",
        "origin",
        "kind",
        "slot",
        "waiting",
        "valid",
        "duplicate",
        "similar",
        "text",
    ):
        table.add_column(col, overflow="fold")
    for r in rows:
        marks = [
            ("[green]pass[/green]" if r["gates"][g] == "pass" else f"[red]{escape(r['gates'][g])}[/red]")
            for g in ("valid", "duplicate", "similar")
        ]
        origin = r["origin"] + (f" ({r['generator']})" if r["generator"] else "")
        text = " / ".join(r["parts"])
        table.add_row(
            str(r["id"]),
            r["account_id"],
            escape(origin),
            r["kind"],
            r["scheduled_at"][:16],
            f"{r['waiting_minutes']:g} min",
            *marks,
            escape(text if len(text) <= 140 else text[:137] + "..."),
        )
    if not rows:
        table.add_row("-", "-", "-", "-", "-", "-", "-", "-", "-", "nothing is waiting for review")
    console.print(table)


@review_app.command("approve")
def review_approve(post_id: int = PostId, as_json: bool = AsJson) -> None:
    """Approve a waiting post: it is queued for its slot (now, if the slot passed while it waited)."""
    rt = runtime()
    try:
        approve(rt.store, rt.tracker, post_id)
    except ReviewError as exc:
        raise CliError(str(exc)) from None
    post = get_post(rt.store, post_id) or {}
    if as_json:
        _echo_json(post)
        return
    console.print(f"approved post {post_id}: queued for {post['account_id']}")


@review_app.command("edit")
def review_edit(
    post_id: int = PostId,
    texts: list[str] = typer.Option(
        ..., "--text", "-t", help="The new text; a thread takes one --text per part, in order."
    ),
    as_json: bool = AsJson,
) -> None:
    """Replace a waiting post's text, validated as `xbot enqueue` validates (length, characters, duplicates);
    it stays awaiting review until approved."""
    rt = runtime()
    try:
        post = edit(rt.store, rt.tracker, post_id, list(texts))
    except (ReviewError, ValidationError) as exc:
        raise CliError(str(exc)) from None
    if as_json:
        _echo_json(post)
        return
    console.print(f"edited post {post_id}; still awaiting review (xbot review approve {post_id})")


@review_app.command("reject")
def review_reject(
    post_id: int = PostId,
    reason: str | None = typer.Option(None, "--reason", "-r", help="Why (kept with the post)."),
    as_json: bool = AsJson,
) -> None:
    """Reject a waiting post; a planned post's generator and hour arms learn a zero reward from it."""
    if reason is not None and len(reason) > 500:
        raise CliError(f"--reason is {len(reason)} characters; at most 500")
    rt = runtime()
    try:
        post = reject_post(rt.store, rt.tracker, post_id, reason)
    except ReviewError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        _echo_json({**post, "rewarded": post["reward"] is not None})
        return
    learned = " (the bandit learns a zero reward for its arms)" if post["reward"] else ""
    console.print(f"rejected post {post_id}{learned}")


@app.command("account-review")
def account_review(
    account: str = typer.Argument(..., help="Account id."),
    mode: str | None = typer.Argument(None, help="off, all or generated; omit to show the current one."),
) -> None:
    """Show or set which new posts of an account wait for review: off (none), all, or generated (what the
    planner, the LLM or an evergreen variation wrote; not `xbot enqueue`'s). Posts already queued stay."""
    rt = runtime()
    row = get_account(rt.store, account)
    if row is None:
        raise CliError(f"unknown account {account!r}")
    if mode is None:
        console.print(f"{account}: review {row['review']}")
        return
    value = mode.strip().lower()
    if value not in REVIEW_MODES:
        raise CliError(f"review must be one of {', '.join(REVIEW_MODES)}, got {mode[:40]!r}")
    if value != row["review"]:
        set_review(rt.store, account, value)
        rt.tracker.track_event(
            "account_review_changed",
            {"from": row["review"], "to": value},
            component="cli",
            account_id=account,
        )
    console.print(f"{account}: review {value} (was {row['review']})")


@app.command()
def evergreen(
    post_id: int = PostId,
    state: str = typer.Argument(..., help="on or off."),
) -> None:
    """Mark a post evergreen (on) or not (off): the planner may re-queue an evergreen post, with a variation,
    once XBOT_EVERGREEN_MIN_GAP_DAYS have passed since it last went out."""
    value = state.strip().lower()
    if value not in ("on", "off"):
        raise CliError(f"state must be on or off, got {state[:40]!r}")
    rt = runtime()
    post = get_post(rt.store, post_id)
    if post is None:
        raise CliError(f"post {post_id} does not exist")
    if post.get("evergreen_of") is not None:
        raise CliError(
            f"post {post_id} is a copy of evergreen post {post['evergreen_of']}; mark the original"
        )
    if post["kind"] == "reply" and value == "on":
        raise CliError(f"post {post_id} is a reply; only singles and threads can be evergreen")
    set_evergreen(rt.store, post_id, value == "on", rt.clock.now())
    console.print(f"post {post_id}: evergreen {value}")
