"""What each publish outcome means for the queue, the account, the breaker and the events.

POSTED -> posted; POSTED_NO_ID -> posted without id (recovery fills it in); RETRYABLE -> the retry ladder
(then failed); UNKNOWN -> 'unknown' (never retried blindly: recovery reconciles); REJECTED -> by cause:
duplicate -> reconcile on the timeline, 226 -> account cool-down, session -> account paused, else
failed_permanent. Published outcomes go to the outcome journal first, so a store failure loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting import breaker, journal, x_budget
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.live import (
    PARKED,
    PARTIAL,
    JournalEntry,
    alert_unsettled,
    apply_published,
    mark_found_live,
    replay_journal,
)
from xbot_pipeline.posting.reconcile import CLOCK_SLACK, match_parts, missing_parts_absent, read_timeline
from xbot_pipeline.publishing.base import Outcome, Publisher, PublishResult, RootCause
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import pause_account, start_cooldown
from xbot_pipeline.store.attempts import attempts_for, finish_attempt
from xbot_pipeline.store.posts import get_post, transition

log = logging.getLogger("xbot_pipeline.posting")
COMPONENT = "posting"
OnPublished = Callable[[dict[str, Any]], Any]
DEEP_READ_LIMIT = 400  # posts a search after X's duplicate answer may read back through


class Action(StrEnum):
    """What a posting pass did with one post: ``PostLine.action``, and the keys of the run's counts."""

    POSTED = "posted"
    POSTED_NO_ID = "posted_no_id"  # live, id not captured: recovery fills it in
    RECONCILED = "reconciled"  # found live on the timeline (duplicate answer, or after the last retry)
    RETRY = "retry"
    FAILED = "failed"  # retries exhausted, not on the timeline
    FAILED_PERMANENT = "failed_permanent"
    UNKNOWN = "unknown"  # may be live: recovery decides
    BLOCKED = "blocked"  # the account cools down or is paused; the post waits
    SKIPPED = "skipped"  # stale: too long past its slot
    DEFERRED = "deferred"  # not now (limits, breaker, lease); stays queued
    NOT_CLAIMED = "not_claimed"  # another run took it
    STORE_FAILED = "store_failed"  # the outcome could not be written (kept in the journal / for recovery)


PUBLISHED_ACTIONS = (Action.POSTED, Action.POSTED_NO_ID, Action.UNKNOWN, Action.RECONCILED)  # count as posts


@dataclass
class PostLine:
    post_id: int
    account_id: str
    kind: str
    action: Action
    detail: str = ""
    tweet_id: str | None = None
    stop_account: bool = False

    def __str__(self) -> str:
        tid = f" id={self.tweet_id}" if self.tweet_id else ""
        return (
            f"post {self.post_id} [{self.account_id} {self.kind}] {self.action}{tid} {self.detail}".rstrip()
        )


@dataclass(frozen=True)
class Attempt:
    """One publish attempt being settled: the post, who published it, what X answered, and when."""

    publisher: Publisher
    post: dict[str, Any]
    attempt_id: int
    attempt_no: int
    result: PublishResult
    now: datetime

    @property
    def pub(self) -> str:
        return str(getattr(self.publisher, "name", "api"))

    @property
    def post_id(self) -> int:
        return int(self.post["id"])

    @property
    def account_id(self) -> str:
        return str(self.post["account_id"])

    @property
    def live_ids(self) -> list[str]:
        """Ids the publisher reports as live (thread parts that did go out: never lose them)."""
        return [str(i) for i in self.result.tweet_ids if i]

    def line(
        self,
        action: Action,
        detail: str | None = None,
        *,
        tweet_id: str | None = None,
        stop_account: bool = False,
    ) -> PostLine:
        message = self.result.message if detail is None else detail
        return PostLine(
            self.post_id, self.account_id, self.post["kind"], action, message, tweet_id, stop_account
        )


@dataclass
class OutcomeHandler:
    """Settles each attempt's outcome for one posting run (``run_id``)."""

    store: Store
    tracker: EventTracker
    config: PostingConfig
    run_id: str
    journal_path: Path | None = None
    on_published: list[OnPublished] = field(default_factory=list)

    @property
    def policy(self) -> breaker.BreakerPolicy:
        c = self.config
        return breaker.BreakerPolicy(c.breaker_threshold, c.breaker_base_wait_s, c.breaker_max_wait_s)

    def replay_journal(self) -> int:
        if self.journal_path is None:
            return 0
        return replay_journal(self.store, self.tracker, self.journal_path, component=COMPONENT)

    # -- events --------------------------------------------------------------------------------------
    def _error(
        self, post: dict, error_type: str, message: str, severity: str = "error", **context: Any
    ) -> None:
        self.tracker.track_error(
            COMPONENT,
            error_type,
            message,
            severity,
            {"post_id": post["id"], "kind": post["kind"], "run_id": self.run_id, **context},
            account_id=post["account_id"],
            subject=f"post:{post['id']}",
        )

    def _handoff(self, post_id: int) -> None:
        if not self.on_published:
            return
        row = get_post(self.store, post_id)
        for hook in self.on_published:
            try:
                hook(dict(row or {}))
            except Exception as exc:
                self.tracker.track_error(
                    COMPONENT,
                    "learning_handoff_failed",
                    exc,
                    "warning",
                    {"post_id": post_id, "hook": getattr(hook, "__name__", repr(hook))},
                    subject=f"post:{post_id}",
                )

    # -- outcomes ------------------------------------------------------------------------------------
    def handle(
        self,
        publisher: Publisher,
        post: dict[str, Any],
        attempt_id: int,
        attempt_no: int,
        result: PublishResult,
    ) -> PostLine:
        a = Attempt(publisher, post, attempt_id, attempt_no, result, self.store.clock.now())
        self._budget("record", a)
        line = self._settle(a)
        self._budget("hold", a)
        return line

    def _settle(self, a: Attempt) -> PostLine:
        post, result = a.post, a.result
        try:
            if result.outcome in (Outcome.POSTED, Outcome.POSTED_NO_ID):
                return self._published(a)
            if result.outcome is Outcome.UNKNOWN:
                return self._unknown(a)
            if result.outcome is Outcome.RETRYABLE:
                return self._retryable(a)
            return self._rejected(a)
        except Exception as exc:
            log.exception("recording the outcome of post %s failed", post["id"])
            self._error(
                post,
                "store_write_failed",
                f"outcome {result.outcome} not recorded: {exc}",
                outcome=str(result.outcome),
            )
            return a.line(Action.STORE_FAILED, f"outcome {result.outcome} kept for recovery: {exc}")

    def _budget(self, step: str, a: Attempt) -> None:
        """X's rate-limit headers on this answer: keep the 24-hour caps ("record"); after the outcome is
        settled, a window at 0 holds the breaker open until its reset ("hold"; a 429 is held by
        ``_retryable`` already). Never fails the outcome."""
        limits = a.result.rate_limits
        if limits is None:
            return
        try:
            if step == "record":
                x_budget.record(self.store, a.account_id, self.config.x_budget, limits, a.now)
                return
            until = limits.exhausted_until()
            if until is None or until <= a.now or a.result.root_cause is RootCause.RATE_LIMIT:
                return
            x_budget.hold(
                self.store, self.tracker, a.account_id, a.pub, until, "X's rate-limit budget is spent"
            )
        except Exception as exc:
            log.warning("keeping X's rate-limit budget for %s failed: %s", a.account_id, exc)

    def _published(self, a: Attempt) -> PostLine:
        """Journal first (fsynced), then the event, then the store: a kill or a store outage at any point
        leaves enough behind for recovery, and no event is lost."""
        post, result = a.post, a.result
        ids = a.live_ids
        parts = post.get("parts") or [post["text"]]
        if result.outcome is Outcome.POSTED_NO_ID and len(ids) + 1 < len(parts):
            # a thread part went out without its id, the later parts were never sent: recovery finds
            # the part on the timeline, then the thread continues from there
            return self._unknown(a, count_failure=False)
        first = result.tweet_id or (ids[0] if ids else None)
        has_id = result.outcome is Outcome.POSTED and bool(first) and len(ids or [first]) >= len(parts)
        entry = JournalEntry(
            post_id=a.post_id,
            at=a.now,
            tweet_id=first if has_id else None,
            tweet_ids=tuple(ids),
            attempt_id=a.attempt_id,
            run_id=self.run_id,
        ).to_json()
        if self.journal_path is not None:
            try:
                journal.append(self.journal_path, entry)
            except OSError as exc:  # disk full: the store write below is then the only record
                self._error(post, "journal_write_failed", f"outcome journal not writable: {exc}")
        if has_id:
            self.tracker.track_event(
                "post_published",
                {"post_id": a.post_id, "tweet_id": first, "publisher": a.pub},
                component=COMPONENT,
                account_id=a.account_id,
                subject=f"post:{a.post_id}",
            )
        else:
            self._error(
                post,
                "post_missing_id",
                f"post {a.post_id} is live but its id was not captured: {result.message}",
                "warning",
            )
        try:
            apply_published(self.store, entry)
        except Exception as exc:
            self._error(
                post, "store_write_failed", f"published but not recorded ({exc}); kept in the journal"
            )
            return a.line(
                Action.STORE_FAILED, "published; outcome kept in the outcome journal", tweet_id=first
            )
        breaker.record_success(self.store, self.tracker, a.account_id, a.pub, a.now)
        if not has_id:
            return a.line(Action.POSTED_NO_ID)
        self.tracker.mark_recovered(subject=f"post:{a.post_id}")
        self._handoff(a.post_id)
        return a.line(Action.POSTED, tweet_id=first)

    def _unknown(self, a: Attempt, *, count_failure: bool = True) -> PostLine:
        result = a.result
        self._error(
            a.post,
            "post_outcome_unknown",
            result.message,
            root_cause=str(result.root_cause),
            publisher_error=result.error_type,
        )
        with self.store.begin() as conn:
            finish_attempt(
                self.store,
                a.attempt_id,
                "unknown",
                a.now,
                error_type=result.error_type,
                root_cause=str(result.root_cause or RootCause.UNKNOWN),
                error_message=result.message,
                conn=conn,
            )
            values: dict[str, Any] = {"status_reason": f"outcome unknown: {result.message}"[:500]}
            if a.live_ids:
                values["tweet_ids"] = a.live_ids
            transition(self.store, a.post_id, ("posting",), "unknown", a.now, conn=conn, **values)
        self._maybe_browser_timeout(a)
        if count_failure:
            breaker.record_failure(
                self.store, self.tracker, a.account_id, a.pub, a.now, self.policy, result.message[:200]
            )
        return a.line(Action.UNKNOWN)

    def _maybe_browser_timeout(self, a: Attempt) -> None:
        if a.pub == "browser" and "timeout" in (a.result.error_type or ""):
            self._error(a.post, "browser_timeout", a.result.message)

    def _retryable(self, a: Attempt) -> PostLine:
        result, now, kind = a.result, a.now, a.post["kind"]
        root = str(result.root_cause or RootCause.UNKNOWN)
        self._error(
            a.post,
            "post_failed",
            result.message,
            root_cause=root,
            publisher_error=result.error_type,
            attempt=a.attempt_no,
        )
        finish_attempt(
            self.store,
            a.attempt_id,
            "retryable",
            now,
            error_type=result.error_type,
            root_cause=root,
            error_message=result.message,
        )
        self._maybe_browser_timeout(a)
        if result.root_cause is RootCause.RATE_LIMIT and result.retry_after and result.retry_after > now:
            breaker.force_open(
                self.store,
                a.account_id,
                a.pub,
                result.retry_after,
                f"rate limited: {result.message[:120]}",
                self.tracker,
            )
        else:
            breaker.record_failure(
                self.store, self.tracker, a.account_id, a.pub, now, self.policy, result.message[:200]
            )
        extra: dict[str, Any] = {"tweet_ids": a.live_ids} if a.live_ids else {}
        retries_done = a.attempt_no - 1
        if retries_done >= self.config.max_retries(kind):
            found = self._find_live(a.publisher, a.post)
            if found:
                return self._reconciled(a, found, "after the last retry")
            reason = f"gave up after {a.attempt_no} attempts: {result.message}"[:500]
            transition(
                self.store,
                a.post_id,
                ("posting",),
                "failed",
                now,
                status_reason=reason,
                next_attempt_at=None,
                **extra,
            )
            return a.line(Action.FAILED, reason)
        when = now + timedelta(seconds=self.config.retry_delay_s(kind, retries_done + 1))
        if result.retry_after and result.retry_after > when:
            when = result.retry_after
        reason = f"retry {retries_done + 1} at {when.isoformat()}: {result.message}"[:500]
        transition(
            self.store,
            a.post_id,
            ("posting",),
            "retry_pending",
            now,
            next_attempt_at=when,
            status_reason=reason,
            claimed_at=None,
            claimed_by=None,
            **extra,
        )
        return a.line(Action.RETRY, reason)

    def _find_live(self, publisher: Publisher, post: dict[str, Any]) -> list[str] | None:
        return self._search(publisher, post)[0]

    def _search(self, publisher: Publisher, post: dict[str, Any]) -> tuple[list[str] | None, bool]:
        """Look for every part of ``post`` on the account's timeline, back to its first attempt (the
        earliest any part could have gone out), scrolling or paginating as far as that needs.

        Returns (every part's id, or None; True when the read proves the missing parts are not there).
        """
        started = [a["started_at"] for a in attempts_for(self.store, post["id"])]
        window = self.store.clock.now() - timedelta(seconds=self.config.reconcile_window_s)
        since = min([*started, window])
        timeline = read_timeline(publisher, since - CLOCK_SLACK, DEEP_READ_LIMIT)
        ids = match_parts(post, timeline, since)
        found = [str(i) for i in ids] if ids and all(ids) else None
        return found, found is None and missing_parts_absent(timeline, since, ids)

    def _reconciled(self, a: Attempt, ids: list[str], why: str) -> PostLine:
        mark_found_live(
            self.store,
            self.tracker,
            a.post,
            ids,
            a.now,
            component=COMPONENT,
            why=why,
            attempt_id=a.attempt_id,
        )
        return a.line(Action.RECONCILED, f"found live on the timeline {why}", tweet_id=ids[0])

    def _rejected(self, a: Attempt) -> PostLine:
        result, now, account_id = a.result, a.now, a.account_id
        root = result.root_cause or RootCause.UNKNOWN
        live = a.live_ids
        extra: dict[str, Any] = {"tweet_ids": live} if live else {}
        if root is RootCause.AUTOMATION_BLOCK:
            self._error(a.post, "automation_block", result.message)
        elif root is RootCause.SESSION:
            self._error(
                a.post,
                "session_expired",
                f"{account_id}: session expired, account paused: {result.message}",
                "critical",
            )
        else:
            self._error(
                a.post, "post_failed", result.message, root_cause=str(root), publisher_error=result.error_type
            )
        finish_attempt(
            self.store,
            a.attempt_id,
            "rejected",
            now,
            error_type=result.error_type,
            root_cause=str(root),
            error_message=result.message,
        )
        if root is RootCause.DUPLICATE:
            return self._duplicate(a)
        if root is RootCause.AUTOMATION_BLOCK:
            until = now + timedelta(seconds=self.config.cooldown_s)
            start_cooldown(self.store, account_id, until, f"X error 226: {result.message}"[:500])
            self.tracker.track_event(
                "account_cooldown_started",
                {"account_id": account_id, "until": until.isoformat()},
                "warning",
                component=COMPONENT,
                account_id=account_id,
            )
            reason = f"account cooling down until {until.isoformat()} (X error 226)"
            transition(
                self.store,
                a.post_id,
                ("posting",),
                "blocked",
                now,
                status_reason=reason,
                **extra,
                claimed_at=None,
                claimed_by=None,
                next_attempt_at=until,
            )
            return a.line(Action.BLOCKED, reason, stop_account=True)
        if root is RootCause.SESSION:
            pause_account(self.store, account_id, f"session expired: {result.message}"[:500])
            reason = (
                f"account paused: the session expired (log in again, then `xbot resume-account {account_id}`)"
            )
            transition(
                self.store,
                a.post_id,
                ("posting",),
                "blocked",
                now,
                status_reason=reason,
                **extra,
                claimed_at=None,
                claimed_by=None,
            )
            return a.line(Action.BLOCKED, reason, stop_account=True)
        reason = f"rejected: {result.message}"[:500]
        transition(
            self.store, a.post_id, ("posting",), "failed_permanent", now, status_reason=reason, **extra
        )
        return a.line(Action.FAILED_PERMANENT, reason)

    def _duplicate(self, a: Attempt) -> PostLine:
        """X refused (a part of) the post as duplicate content. Found live: posted. A re-post (an earlier
        attempt may have gone out), or a read that cannot prove the post absent: parked as 'unknown' with a
        critical alert, never failed (it may well be live). Proven absent on a first attempt: the text
        repeats an older post; a thread with live parts is marked partial for the operator to edit and
        resume, anything else fails for good."""
        post, result, now = a.post, a.result, a.now
        found, proven_absent = self._search(a.publisher, post)
        if found:
            return self._reconciled(a, found, "after a duplicate answer")
        live = a.live_ids
        extra: dict[str, Any] = {"tweet_ids": live} if live else {}
        if self._reposted(a) or not proven_absent:
            why = (
                "X called the re-post a duplicate, but no read found the original"
                if self._reposted(a)
                else "X called it a duplicate and the timeline could not be read far enough to rule it out"
            )
            alert_unsettled(self.store, self.tracker, post, now, COMPONENT, why)
            return a.line(Action.UNKNOWN, f"{PARKED}: {why}")
        if post["kind"] == "thread" and live:
            part = len(live) + 1
            reason = (
                f"{PARTIAL}: parts 1-{len(live)} live, part {part} refused by X as duplicate content; "
                f"edit it and resume: xbot thread-resume {a.post_id} --part {part} --text '...'"
            )
            transition(
                self.store, a.post_id, ("posting",), "failed_permanent", now, status_reason=reason, **extra
            )
            self._error(post, "thread_partial", reason, "critical", part=part, parts_live=len(live))
            return a.line(Action.FAILED_PERMANENT, reason)
        reason = f"X rejected it as duplicate content, not on the timeline: {result.message}"[:500]
        transition(
            self.store, a.post_id, ("posting",), "failed_permanent", now, status_reason=reason, **extra
        )
        return a.line(Action.FAILED_PERMANENT, reason)

    def _reposted(self, a: Attempt) -> bool:
        """An earlier attempt of the post may have gone out (its fate was open, or recovery requeued it)."""
        return any(
            e["id"] != a.attempt_id
            and (
                e["outcome"] in ("pending", "unknown", "posted_no_id") or e["error_type"] == "not_on_timeline"
            )
            for e in attempts_for(self.store, a.post_id)
        )
