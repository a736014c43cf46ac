"""`xbot enqueue`, `xbot post`, `xbot recover`, `xbot cancel`, `xbot resume-account`: the queue by hand."""

from __future__ import annotations

import json
from datetime import datetime

import typer

from xbot_pipeline.cli.app import CliError, app, console, runtime
from xbot_pipeline.clock import utc
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.enqueue import (
    MAX_POST_ID,
    MediaSpec,
    ValidationError,
    check_media,
    check_schedule,
    validate,
)
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
    evergreen: bool = typer.Option(
        False, "--evergreen", help="The planner may re-queue it, varied, after XBOT_EVERGREEN_MIN_GAP_DAYS."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the queued row as JSON."),
    media: list[str] = typer.Option(
        [],
        "--media",
        "-m",
        help="An image or GIF to attach (repeat: up to 4 images or 1 GIF); 'N:PATH' for thread part N.",
    ),
    alt: list[str] = typer.Option(
        [], "--alt", help="Alt text for the --media before it (up to 1,000 characters); repeat per file."
    ),
) -> None:
    """Add a post, thread or reply to the queue (validated: length, duplicates, reply target, media)."""
    specs = _media_specs(media, alt)
    scheduled = None
    if at is not None:  # `--at ""` is a bad time, not "now"
        try:
            scheduled = utc(datetime.fromisoformat(at))
        except (ValueError, OverflowError):
            raise CliError(f"--at must be an ISO 8601 time, got {at[:60]!r}") from None
    rt = runtime()
    if evergreen and kind == "reply":
        raise CliError("a reply cannot be evergreen; only singles and threads can")
    try:  # everything about the input first: a refused post leaves the store as it was (no new account)
        cleaned, _ = validate(kind, list(texts), reply_to, PostingConfig())
        check_schedule(scheduled, rt.clock.now())
        check_media(specs, len(cleaned))
    except ValidationError as exc:
        raise CliError(str(exc)) from None
    account_id = rt.settings.account if account is None else account
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
            media=specs,
            media_dir=rt.settings.media_dir,
            evergreen=evergreen,
        )
    except ValidationError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    **{k: row[k] for k in ("id", "account_id", "kind", "status", "scheduled_at")},
                    "media": len(specs),
                },
                default=str,
            )
        )
    elif row["status"] == "awaiting_review":
        console.print(
            f"post {row['id']} ({kind}) for {account_id} awaits review (xbot review approve {row['id']})"
        )
    else:
        console.print(
            f"queued post {row['id']} ({kind}) for {account_id} at {row['scheduled_at'].isoformat()}"
        )


def _media_specs(media: list[str], alt: list[str]) -> list[MediaSpec]:
    """``--media`` values (``PATH`` or ``N:PATH`` for thread part N) paired in order with ``--alt``
    values: the first --alt describes the first --media, and so on (fewer --alt: the rest have none)."""
    if len(alt) > len(media):
        raise CliError(
            f"{len(alt)} --alt value(s) for {len(media)} --media file(s); give --alt after its --media"
        )
    specs = []
    for index, value in enumerate(media):
        part, path = 1, value
        head, sep, tail = value.partition(":")
        if sep and head.isascii() and head.isdigit() and tail:
            part, path = int(head), tail
        if part < 1 or part > 100:
            raise CliError(f"--media {value[:80]!r}: the part number must be 1 or more")
        specs.append(MediaSpec(path=path, alt=alt[index] if index < len(alt) else None, part=part))
    return specs


@app.command()
def post() -> None:
    """Run one posting pass now (what posting_job does every 5 minutes)."""
    from xbot_pipeline.passes.from_settings import posting_pass

    report = posting_pass(runtime())
    for line in report.lines:
        console.print(str(line))
    console.print(report.summary())
    if report.failed:  # e.g. no API token: the pass could not publish for an account (an error event too)
        raise CliError(
            "posting failed for "
            + "; ".join(f"{account}: {why}" for account, why in sorted(report.failed.items()))
        )


@app.command()
def recover() -> None:
    """Run one recovery pass now (what recovery_job does every 5 minutes)."""
    from xbot_pipeline.passes.from_settings import recovery_pass

    report = recovery_pass(runtime())
    for line in report.lines:
        console.print(line)
    console.print(report.summary())


@app.command()
def cancel(
    post_id: int = typer.Argument(..., min=1, max=MAX_POST_ID, help="Queue id of the post."),
) -> None:
    """Cancel a post that has not gone out (awaiting review, queued, retry_pending or blocked)."""
    rt = runtime()
    if not transition(
        rt.store,
        post_id,
        ("awaiting_review", "queued", "retry_pending", "blocked"),
        "cancelled",
        rt.clock.now(),
        status_reason="cancelled by the operator",
    ):
        raise CliError(
            f"post {post_id} does not exist or is not waiting "
            "(only awaiting-review/queued/retry/blocked posts cancel)"
        )
    console.print(f"cancelled post {post_id}")


@app.command("resume-account")
def resume(account: str = typer.Argument(..., help="Account id.")) -> None:
    """Resume a paused or cooling-down account (e.g. after logging in again)."""
    if not resume_account(runtime().store, account):
        raise CliError(f"unknown account {account!r}")
    console.print(f"account {account} is active")
