"""A post known to be live on X is written down as posted: one rule, whoever knows it.

Two kinds of knowledge reach the store, and both go through ``record_live``:

- ``apply_published``: the publisher said the post went out (in this run, or from the outcome journal
  after a store failure); the journal entry names the attempt that published it.
- ``mark_found_live``: the post was found on the account's timeline: by posting (after X answered
  "duplicate", or after the last retry) and by recovery (an 'unknown' or stuck 'posting' row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from xbot_pipeline.events import EventTracker
from xbot_pipeline.events.quarantine import quarantine_path
from xbot_pipeline.posting import journal
from xbot_pipeline.store import Store
from xbot_pipeline.store.attempts import resolve_open_attempts
from xbot_pipeline.store.events import subjects_with_event
from xbot_pipeline.store.posts import get_post, transition

OPEN = ("posting", "unknown", "retry_pending", "queued", "blocked")  # a live post may be found in any of them


@dataclass(frozen=True)
class JournalEntry:
    """A published outcome as the outcome journal keeps it (one JSON line)."""

    post_id: int
    at: datetime
    tweet_id: str | None  # None: live without (all) ids, recovery fills them in
    tweet_ids: tuple[str, ...] = ()
    attempt_id: int | None = None
    run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "post_id": self.post_id,
            "attempt_id": self.attempt_id,
            "tweet_id": self.tweet_id,
            "tweet_ids": list(self.tweet_ids),
            "at": self.at.isoformat(),
            "run_id": self.run_id,
        }

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> JournalEntry:
        return cls(
            post_id=int(entry["post_id"]),
            at=datetime.fromisoformat(entry["at"]),
            tweet_id=entry.get("tweet_id") or None,
            tweet_ids=tuple(str(i) for i in entry.get("tweet_ids") or [] if i),
            attempt_id=int(entry["attempt_id"]) if entry.get("attempt_id") else None,
            run_id=entry.get("run_id"),
        )


def record_live(
    store: Store,
    post_id: int,
    now: datetime,
    *,
    tweet_id: str | None,
    tweet_ids: Sequence[str] = (),
    attempt_id: int | None = None,
) -> bool:
    """Write "post ``post_id`` is live" in one transaction; idempotent. True when the post is posted after.

    The rule:
    - the post becomes 'posted' (from any open state, or 'posted' without an id) with ``tweet_id``, a
      thread's ``tweet_ids``, its first ``posted_at`` kept (else ``now``), no retry time, no reason; with
      ``tweet_id`` None it is posted without an id and says recovery fills it in;
    - the attempt that led here (``attempt_id``, when known) and every attempt of the post still open
      ('pending', 'unknown') are closed as 'posted' with ``tweet_id`` ('posted_no_id' without one). The
      error fields an attempt already has (X's "duplicate" answer, the last retry's error) stay, as the
      evidence of what X said. Attempts an earlier pass settled ('retryable', 'rejected') keep their
      outcome: nothing tells which of them X took, so none is rewritten.
    """
    post = get_post(store, post_id)
    if post is None:
        return True
    if post["status"] == "posted" and (post["tweet_id"] or not tweet_id):
        return True
    ids = [str(i) for i in tweet_ids if i]
    values: dict[str, Any] = {"posted_at": post.get("posted_at") or now, "next_attempt_at": None}
    if tweet_id:
        values["tweet_id"] = tweet_id
        values["status_reason"] = None
    else:
        values["status_reason"] = "live without an id: recovery fills it in"
    if post["kind"] == "thread" and ids:
        values["tweet_ids"] = ids
    with store.begin() as conn:
        moved = transition(store, post_id, (*OPEN, "posted"), "posted", now, conn=conn, **values)
        if moved:
            resolve_open_attempts(
                store,
                post_id,
                "posted" if tweet_id else "posted_no_id",
                now,
                include=attempt_id,
                conn=conn,
                tweet_id=tweet_id,
            )
    return moved


def apply_published(store: Store, entry: dict[str, Any]) -> bool:
    """Write a published outcome (a journal entry: from this run or replayed) into the store; idempotent."""
    e = JournalEntry.from_json(entry)
    return record_live(
        store, e.post_id, e.at, tweet_id=e.tweet_id, tweet_ids=e.tweet_ids, attempt_id=e.attempt_id
    )


def replay_journal(store: Store, tracker: EventTracker, path: Path, *, component: str) -> int:
    """Replay the outcome journal into the store (posting and recovery both start with it).

    Each post it settles has the errors its outage raised marked recovered (``store_write_failed``; every
    open error of the post when the entry carries its id, as a normal publish does). A post whose
    publishing process was killed after the journal line and before its ``post_published`` event gets the
    event now (``via: journal``), so every published post has one. Lines that are not entries are
    quarantined and reported. Returns how many entries reached the store.
    """
    done = journal.replay(path, lambda e: apply_published(store, e), check=JournalEntry.from_json)
    with_id = [f"post:{int(e['post_id'])}" for e in done.applied if e.get("tweet_id")]
    if with_id:
        tracker.flush_spool()  # an event spooled during an outage counts as told
    try:
        with store.connect() as conn:
            told = subjects_with_event(conn, with_id, PUBLICATION_EVENTS)
    except Exception:  # the store answers no more: the event is a nicety next to the settled post
        told = set(with_id)
    for entry in done.applied:
        subject = f"post:{int(entry['post_id'])}"
        if entry.get("tweet_id"):
            if subject not in told:
                post = get_post(store, int(entry["post_id"])) or {}
                tracker.track_event(
                    "post_published",
                    {"post_id": int(entry["post_id"]), "tweet_id": entry["tweet_id"], "via": "journal"},
                    component=component,
                    account_id=post.get("account_id"),
                    subject=subject,
                )
            tracker.mark_recovered(subject=subject)
        else:
            tracker.mark_recovered(subject=subject, error_type="store_write_failed")
    if done.quarantined:
        tracker.track_error(
            component,
            "journal_quarantined",
            f"{done.quarantined} outcome journal line(s) were not entries; set aside in "
            f"{quarantine_path(path)}",
            "warning",
            {"lines": done.quarantined, "file": str(quarantine_path(path))},
        )
    return len(done.applied)


def mark_found_live(
    store: Store,
    tracker: EventTracker,
    post: dict[str, Any],
    ids: Sequence[str],
    now: datetime,
    *,
    component: str,
    why: str,
    attempt_id: int | None = None,
) -> bool:
    """``post`` was found on the timeline as ``ids`` (every part's id, in order): record it (``record_live``),
    emit ``post_reconciled`` (``was``: the status it left, ``why``) and mark the post's open errors recovered.

    Returns False (and says nothing) when the post could not be moved: it left the open states meanwhile
    (another process settled it as failed or cancelled).
    """
    ids = [str(i) for i in ids]
    subject = f"post:{post['id']}"
    if not record_live(store, post["id"], now, tweet_id=ids[0], tweet_ids=ids, attempt_id=attempt_id):
        return False
    tracker.track_event(
        "post_reconciled",
        {"post_id": post["id"], "tweet_id": ids[0], "was": post["status"], "why": why},
        component=component,
        account_id=post["account_id"],
        subject=subject,
    )
    tracker.mark_recovered(subject=subject)
    return True


# The events that say a post went out: its publisher saw it, or a read found it.
PUBLICATION_EVENTS = ("post_published", "post_reconciled", "post_id_recovered")
PARKED = "parked for the operator"
PARTIAL = "partial thread"  # a thread X refused part of (duplicate): the operator edits and resumes it


def alert_unsettled(
    store: Store, tracker: EventTracker, post: dict[str, Any], now: datetime, component: str, why: str
) -> bool:
    """Park an open post that nothing can settle by itself (X called a re-post a duplicate and no read found
    it; or recovery has not settled it within its window): it stays 'unknown' (never requeued, never
    called failed), its reason says so, and one critical event alerts the operator, who checks the account
    and cancels it or sets it posted. Alerts once per post (the reason carries the mark); True when it did.
    """
    current = get_post(store, post["id"]) or post
    if str(current.get("status_reason") or "").startswith(PARKED):
        return False
    reason = f"{PARKED}: {why}"[:500]
    status = current["status"]
    if status not in ("posting", "unknown"):
        return False
    if not transition(store, post["id"], (status,), "unknown", now, status_reason=reason):
        return False
    tracker.track_error(
        component,
        "post_unsettled",
        f"post {post['id']} may be live but cannot be settled: {why}",
        "critical",
        {"post_id": post["id"], "account_id": post["account_id"]},
        account_id=post["account_id"],
        subject=f"post:{post['id']}",
    )
    return True
