"""Sensor ticks that read like a log.

The Dagster UI's tick list shows a skipped tick as "0 runs requested", its skip reason only on hover,
and the tick's cursor in a column of its own. So every sensor here ends each tick the same way: one
summary line (what it sent, suppressed, handed over, recorded) as the skip reason and the tick's log
line, and the same line as the cursor, so the list itself reads like a log. A sensor that needs memory
between ticks keeps it after ``STATE_SEP`` in that cursor (read back with ``cursor_state``).
"""

from __future__ import annotations

import dagster as dg

STATE_SEP = " | state: "
MAX_SUMMARY = 480  # the UI truncates a long cursor in the middle; keep the whole line readable


def tick_cursor(summary: str, state: str | None = None) -> str:
    """The cursor a tick leaves: its summary, then its state (if any) after ``STATE_SEP``."""
    text = summary[:MAX_SUMMARY].replace(STATE_SEP, " | ")
    return text + (STATE_SEP + state if state else "")


def cursor_state(cursor: str | None) -> str | None:
    """The state part of a cursor left by ``tick_cursor`` (None when the tick kept none).

    A cursor written before ticks had summaries is all state; it is returned whole."""
    if not cursor:
        return None
    if STATE_SEP in cursor:
        return cursor.split(STATE_SEP, 1)[1] or None
    return cursor if _legacy_state(cursor) else None


def _legacy_state(cursor: str) -> bool:
    return cursor.startswith(("[", "stuck:"))


def end_tick(context: dg.SensorEvaluationContext, summary: str, *, state: str | None = None) -> dg.SkipReason:
    """Finish a tick that requests no run: log the summary, leave it as the cursor, skip with it."""
    context.log.info(summary)
    context.update_cursor(tick_cursor(summary, state))
    return dg.SkipReason(summary)


def end_tick_with_run(
    context: dg.SensorEvaluationContext, summary: str, request: dg.RunRequest, *, state: str | None = None
) -> dg.RunRequest:
    """Finish a tick that requests a run: the summary goes to the tick's log and cursor."""
    context.log.info(summary)
    context.update_cursor(tick_cursor(summary, state))
    return request
