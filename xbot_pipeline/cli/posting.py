"""`xbot enqueue`, `xbot post`, `xbot recover`, `xbot cancel`, `xbot resume-account`: the queue by hand."""

from __future__ import annotations

import json
from datetime import datetime

import typer

from xbot_pipeline.cli.app import CliError, app, console, runtime
from xbot_pipeline.clock import utc
from xbot_pipeline.posting.enqueue import ValidationError
from xbot_pipeline.posting.enqueue import enqueue as enqueue_post
from xbot_pipeline.store.accounts import ensure_account, get_account, resume_account
from xbot_pipeline.store.posts import transition


@app.command()
def enqueue(
    texts: list[str] = typer.Argument(..., help="The text; for a thread, one argument per part."),
    kind: str = typer.Option("single", "--kind", "-k", help="single | thread | reply"),
    account: str | None = typer.Option(None, "--account", "-a", help="Account id (default XBOT_ACCOUNT)."),
    reply_to: str | None = typer.Option(
        None, "--reply-to", help="For a reply: the id of the post it answers."
    ),
    at: str | None = typer.Option(
        None, "--at", help="When to post (ISO 8601, UTC if no offset); default now."
    ),
    generator: str | None = typer.Option(None, "--generator", help="Content generator (persona) name."),
    as_json: bool = typer.Option(False, "--json", help="Print the queued row as JSON."),
) -> None:
    """Add a post, thread or reply to the queue (validated: length, duplicates, reply target)."""
    scheduled = None
    if at:
        try:
            scheduled = utc(datetime.fromisoformat(at))
        except ValueError:
            raise CliError(f"--at must be an ISO 8601 time, got {at!r}") from None
    rt = runtime()
    account_id = account or rt.settings.account
    if get_account(rt.store, account_id) is None:
        if account is not None:
            raise CliError(f"unknown account {account_id!r}")
        ensure_account(rt.store, account_id, publisher=rt.settings.publisher)
    try:
        row = enqueue_post(
            rt.store,
            account_id,
            kind,
            list(texts),
            reply_to=reply_to,
            scheduled_at=scheduled,
            generator=generator,
        )
    except ValidationError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        typer.echo(
            json.dumps(
                {k: row[k] for k in ("id", "account_id", "kind", "status", "scheduled_at")}, default=str
            )
        )
    else:
        console.print(
            f"queued post {row['id']} ({kind}) for {account_id} at {row['scheduled_at'].isoformat()}"
        )


@app.command()
def post() -> None:
    """Run one posting pass now (what posting_job does every 5 minutes)."""
    from xbot_pipeline.posting.service import posting_pass

    report = posting_pass(runtime())
    for line in report.lines:
        console.print(str(line))
    console.print(report.summary())


@app.command()
def recover() -> None:
    """Run one recovery pass now (what recovery_job does every 5 minutes)."""
    from xbot_pipeline.posting.service import recovery_pass

    report = recovery_pass(runtime())
    for line in report.lines:
        console.print(line)
    console.print(report.summary())


@app.command()
def cancel(post_id: int = typer.Argument(..., help="Queue id of the post.")) -> None:
    """Cancel a post that has not gone out (queued, retry_pending or blocked)."""
    rt = runtime()
    if not transition(
        rt.store,
        post_id,
        ("queued", "retry_pending", "blocked"),
        "cancelled",
        rt.clock.now(),
        status_reason="cancelled by the operator",
    ):
        raise CliError(
            f"post {post_id} does not exist or is not waiting (only queued/retry/blocked posts cancel)"
        )
    console.print(f"cancelled post {post_id}")


@app.command("resume-account")
def resume(account: str = typer.Argument(..., help="Account id.")) -> None:
    """Resume a paused or cooling-down account (e.g. after logging in again)."""
    if not resume_account(runtime().store, account):
        raise CliError(f"unknown account {account!r}")
    console.print(f"account {account} is active")
