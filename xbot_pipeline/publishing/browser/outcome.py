"""How the browser publisher states an outcome: results carry the elapsed time and never a secret."""

from __future__ import annotations

from typing import Any

from xbot_pipeline.events.redact import redact_text
from xbot_pipeline.publishing.base import (
    Outcome,
    PostRequest,
    PublishResult,
    RootCause,
    partial_thread_result,
)
from xbot_pipeline.publishing.browser.deadline import Deadline


class Abort(Exception):
    """A definite answer found mid-operation (carries the result)."""

    def __init__(self, result: PublishResult) -> None:
        super().__init__(result.message)
        self.result = result


class NoThreadComposer(Exception):
    """The thread composer has no add button (X's other layout); nothing has been submitted."""


def result(
    outcome: Outcome,
    error_type: str | None,
    root: RootCause | None,
    message: str,
    dl: Deadline,
    **kw: Any,
) -> PublishResult:
    """A ``PublishResult`` with the message redacted and the time ``dl`` has run."""
    return PublishResult(
        outcome,
        error_type=error_type,
        root_cause=root,
        message=redact_text(message),
        elapsed_s=dl.elapsed,
        **kw,
    )


def partial(failure: PublishResult, ids: list[str], request: PostRequest, dl: Deadline) -> PublishResult:
    """``failure`` of the part after ``ids``; the parts that went out are kept (``partial_thread_result``)."""
    if not ids:
        return failure
    return partial_thread_result(failure, ids, len(request.parts), elapsed_s=dl.elapsed)
