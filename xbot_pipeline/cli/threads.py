"""`xbot thread-resume`: finish a thread X cut short (a refused part), from the refused part on."""

from __future__ import annotations

import typer

from xbot_pipeline.cli.app import CliError, app, console, runtime
from xbot_pipeline.passes.configs import posting_config_for
from xbot_pipeline.posting.enqueue import ValidationError
from xbot_pipeline.posting.resume import resume_thread


@app.command("thread-resume")
def thread_resume(
    post_id: int = typer.Argument(..., help="Queue id of the partial thread."),
    part: int = typer.Option(..., "--part", help="The refused part (1-based): the first part not live."),
    text: str = typer.Option(..., "--text", help="The part's new text (X refused the old one)."),
) -> None:
    """Edit the refused part of a partial thread and queue it again: the next posting run continues the
    reply chain from the last live part."""
    rt = runtime()
    try:
        row = resume_thread(rt.store, rt.tracker, post_id, part, text, posting_config_for(rt))
    except ValidationError as exc:
        raise CliError(str(exc)) from None
    live = len(row.get("tweet_ids") or [])
    console.print(f"post {post_id}: queued again; continues after part {live} with part {part}")
