"""What each publish outcome means for the queue, the account, the breaker and the events.

POSTED -> posted; POSTED_NO_ID -> posted without id (recovery fills it in); RETRYABLE -> the retry ladder
(then failed); UNKNOWN -> 'unknown' (never retried blindly: recovery reconciles); REJECTED -> by cause:
duplicate -> reconcile on the timeline, 226 -> account cool-down, session -> account paused, else
failed_permanent. Published outcomes go to the outcome journal first, so a store failure loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from xbot_pipeline.clock import Clock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting import breaker, journal
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.reconcile import match_parts, read_timeline
from xbot_pipeline.publishing.base import Outcome, Publisher, PublishResult, RootCause
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import pause_account, start_cooldown
from xbot_pipeline.store.attempts import finish_attempt
from xbot_pipeline.store.posts import get_post, transition

log = logging.getLogger("xbot_pipeline.posting")
COMPONENT = "posting"
OPEN = ("posting", "unknown", "retry_pending", "queued", "blocked")


@dataclass
class PostLine:
    post_id: int
    account_id: str
    kind: str
    action: (
        str  # posted | posted_no_id | retry | failed | failed_permanent | unknown | blocked | skipped | ...
    )
    detail: str = ""
    tweet_id: str | None = None
    stop_account: bool = False

    def __str__(self) -> str:
        tid = f" id={self.tweet_id}" if self.tweet_id else ""
        return (
            f"post {self.post_id} [{self.account_id} {self.kind}] {self.action}{tid} {self.detail}".rstrip()
        )


def apply_published(store: Store, entry: dict[str, Any]) -> bool:
    """Write a published outcome (from a run or the journal) into the store; idempotent."""
    now = datetime.fromisoformat(entry["at"])
    post = get_post(store, int(entry["post_id"]))
    if post is None:
        return True
    ids = [str(i) for i in entry.get("tweet_ids") or [] if i]
    first = entry.get("tweet_id")  # None: live without (all) ids, recovery fills them in
    if post["status"] == "posted" and (post["tweet_id"] or not first):
        return True
    with store.begin() as conn:
        if entry.get("attempt_id"):
            finish_attempt(
                store,
                int(entry["attempt_id"]),
                "posted" if first else "posted_no_id",
                now,
                tweet_id=first,
                conn=conn,
            )
        values: dict[str, Any] = {"posted_at": post.get("posted_at") or now, "next_attempt_at": None}
        if first:
            values["tweet_id"] = first
            values["status_reason"] = None
        else:
            values["status_reason"] = "live without an id: recovery fills it in"
        if post["kind"] == "thread" and ids:
            values["tweet_ids"] = ids
        moved = transition(store, post["id"], (*OPEN, "posted"), "posted", now, conn=conn, **values)
    return moved


class OutcomeHandler:
    def __init__(
        self,
        store: Store,
        tracker: EventTracker,
        clock: Clock,
        config: PostingConfig,
        journal_path: Path | None,
        on_published: list[Callable[[dict[str, Any]], Any]],
        run_id: str,
    ) -> None:
        self.store, self.tracker, self.clock, self.config = store, tracker, clock, config
        self.journal_path = journal_path
        self.on_published = on_published
        self.run_id = run_id
        self.policy = breaker.BreakerPolicy(
            config.breaker_threshold, config.breaker_base_wait_s, config.breaker_max_wait_s
        )

    def replay_journal(self) -> int:
        if self.journal_path is None:
            return 0
        applied, _ = journal.replay(self.journal_path, lambda e: apply_published(self.store, e))
        return applied

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
        pub = getattr(publisher, "name", "api")
        now = self.clock.now()
        line = PostLine(post["id"], post["account_id"], post["kind"], "", result.message)
        try:
            if result.outcome in (Outcome.POSTED, Outcome.POSTED_NO_ID):
                return self._published(pub, post, attempt_id, result, now, line)
            if result.outcome is Outcome.UNKNOWN:
                return self._unknown(pub, post, attempt_id, result, now, line)
            if result.outcome is Outcome.RETRYABLE:
                return self._retryable(publisher, pub, post, attempt_id, attempt_no, result, now, line)
            return self._rejected(publisher, pub, post, attempt_id, result, now, line)
        except Exception as exc:
            log.exception("recording the outcome of post %s failed", post["id"])
            self._error(
                post,
                "store_write_failed",
                f"outcome {result.outcome} not recorded: {exc}",
                outcome=str(result.outcome),
            )
            line.action = "store_failed"
            line.detail = f"outcome {result.outcome} kept for recovery: {exc}"
            return line

    def _published(self, pub, post, attempt_id, result, now, line) -> PostLine:
        """Journal first (fsynced), then the event, then the store: a kill or a store outage at any point
        leaves enough behind for recovery, and no event is lost."""
        ids = [str(i) for i in result.tweet_ids if i]
        parts = post.get("parts") or [post["text"]]
        if result.outcome is Outcome.POSTED_NO_ID and len(ids) + 1 < len(parts):
            # a thread part went out without its id, the later parts were never sent: recovery finds
            # the part on the timeline, then the thread continues from there
            return self._unknown(pub, post, attempt_id, result, now, line, count_failure=False)
        first = result.tweet_id or (ids[0] if ids else None)
        has_id = result.outcome is Outcome.POSTED and bool(first) and len(ids or [first]) >= len(parts)
        entry = {
            "post_id": post["id"],
            "attempt_id": attempt_id,
            "tweet_id": first if has_id else None,
            "tweet_ids": ids,
            "at": now.isoformat(),
            "run_id": self.run_id,
        }
        if self.journal_path is not None:
            journal.append(self.journal_path, entry)
        if has_id:
            self.tracker.track_event(
                "post_published",
                {"post_id": post["id"], "tweet_id": first, "publisher": pub},
                component=COMPONENT,
                account_id=post["account_id"],
                subject=f"post:{post['id']}",
            )
        else:
            self._error(
                post,
                "post_missing_id",
                f"post {post['id']} is live but its id was not captured: {result.message}",
                "warning",
            )
        try:
            apply_published(self.store, entry)
        except Exception as exc:
            self._error(
                post, "store_write_failed", f"published but not recorded ({exc}); kept in the journal"
            )
            line.action, line.tweet_id = "store_failed", first
            line.detail = "published; outcome kept in the outcome journal"
            return line
        breaker.record_success(self.store, self.tracker, post["account_id"], pub, now)
        line.tweet_id = first if has_id else None
        line.action = "posted" if has_id else "posted_no_id"
        if has_id:
            self.tracker.mark_recovered(subject=f"post:{post['id']}")
            self._handoff(post["id"])
        return line

    def _unknown(self, pub, post, attempt_id, result, now, line, *, count_failure: bool = True) -> PostLine:
        ids = [str(i) for i in result.tweet_ids if i]
        self._error(
            post,
            "post_outcome_unknown",
            result.message,
            root_cause=str(result.root_cause),
            publisher_error=result.error_type,
        )
        with self.store.begin() as conn:
            finish_attempt(
                self.store,
                attempt_id,
                "unknown",
                now,
                error_type=result.error_type,
                root_cause=str(result.root_cause or RootCause.UNKNOWN),
                error_message=result.message,
                conn=conn,
            )
            values: dict[str, Any] = {"status_reason": f"outcome unknown: {result.message}"[:500]}
            if ids:
                values["tweet_ids"] = ids
            transition(self.store, post["id"], ("posting",), "unknown", now, conn=conn, **values)
        self._maybe_browser_timeout(pub, post, result)
        if count_failure:
            breaker.record_failure(
                self.store, self.tracker, post["account_id"], pub, now, self.policy, result.message[:200]
            )
        line.action = "unknown"
        return line

    def _maybe_browser_timeout(self, pub, post, result) -> None:
        if pub == "browser" and "timeout" in (result.error_type or ""):
            self._error(post, "browser_timeout", result.message)

    def _retryable(self, publisher, pub, post, attempt_id, attempt_no, result, now, line) -> PostLine:
        root = str(result.root_cause or RootCause.UNKNOWN)
        self._error(
            post,
            "post_failed",
            result.message,
            root_cause=root,
            publisher_error=result.error_type,
            attempt=attempt_no,
        )
        finish_attempt(
            self.store,
            attempt_id,
            "retryable",
            now,
            error_type=result.error_type,
            root_cause=root,
            error_message=result.message,
        )
        self._maybe_browser_timeout(pub, post, result)
        if result.root_cause is RootCause.RATE_LIMIT and result.retry_after and result.retry_after > now:
            breaker.force_open(
                self.store,
                post["account_id"],
                pub,
                result.retry_after,
                f"rate limited: {result.message[:120]}",
                self.tracker,
            )
        else:
            breaker.record_failure(
                self.store, self.tracker, post["account_id"], pub, now, self.policy, result.message[:200]
            )
        ids = [str(i) for i in result.tweet_ids if i]
        extra: dict[str, Any] = {"tweet_ids": ids} if ids else {}
        retries_done = attempt_no - 1
        if retries_done >= self.config.max_retries(post["kind"]):
            found = self._find_live(publisher, post)
            if found:
                return self._reconciled(pub, post, found, now, line, "after the last retry")
            reason = f"gave up after {attempt_no} attempts: {result.message}"[:500]
            transition(
                self.store,
                post["id"],
                ("posting",),
                "failed",
                now,
                status_reason=reason,
                next_attempt_at=None,
                **extra,
            )
            line.action, line.detail = "failed", reason
            return line
        delay = timedelta(seconds=self.config.retry_delay_s(post["kind"], retries_done + 1))
        when = now + delay
        if result.retry_after and result.retry_after > when:
            when = result.retry_after
        reason = f"retry {retries_done + 1} at {when.isoformat()}: {result.message}"[:500]
        transition(
            self.store,
            post["id"],
            ("posting",),
            "retry_pending",
            now,
            next_attempt_at=when,
            status_reason=reason,
            claimed_at=None,
            claimed_by=None,
            **extra,
        )
        line.action, line.detail = "retry", reason
        return line

    def _find_live(self, publisher: Publisher, post: dict[str, Any]) -> list[str] | None:
        timeline = read_timeline(publisher)
        since = self.clock.now() - timedelta(seconds=self.config.reconcile_window_s)
        ids = match_parts(post, timeline, since)
        return [str(i) for i in ids] if ids and all(ids) else None

    def _reconciled(self, pub, post, ids, now, line, why) -> PostLine:
        entry = {
            "post_id": post["id"],
            "attempt_id": None,
            "tweet_id": ids[0],
            "tweet_ids": ids,
            "at": now.isoformat(),
        }
        apply_published(self.store, entry)
        self.tracker.track_event(
            "post_reconciled",
            {"post_id": post["id"], "tweet_id": ids[0], "why": why},
            component=COMPONENT,
            account_id=post["account_id"],
            subject=f"post:{post['id']}",
        )
        self.tracker.mark_recovered(subject=f"post:{post['id']}")
        line.action, line.tweet_id, line.detail = "reconciled", ids[0], f"found live on the timeline {why}"
        return line

    def _rejected(self, publisher, pub, post, attempt_id, result, now, line) -> PostLine:
        root = result.root_cause or RootCause.UNKNOWN
        account_id = post["account_id"]
        live = [str(i) for i in result.tweet_ids if i]  # thread parts that did go out: never lose them
        extra: dict[str, Any] = {"tweet_ids": live} if live else {}
        if root is RootCause.AUTOMATION_BLOCK:
            self._error(post, "automation_block", result.message)
        elif root is RootCause.SESSION:
            self._error(
                post,
                "session_expired",
                f"{account_id}: session expired, account paused: {result.message}",
                "critical",
            )
        else:
            self._error(
                post, "post_failed", result.message, root_cause=str(root), publisher_error=result.error_type
            )
        finish_attempt(
            self.store,
            attempt_id,
            "rejected",
            now,
            error_type=result.error_type,
            root_cause=str(root),
            error_message=result.message,
        )
        if root is RootCause.DUPLICATE:
            found = self._find_live(publisher, post)
            if found:
                return self._reconciled(pub, post, found, now, line, "after a duplicate answer")
            partial = f" ({len(live)} part(s) live, kept)" if live else ""
            reason = f"X rejected it as duplicate content, not on the timeline{partial}: {result.message}"
            reason = reason[:500]
            transition(
                self.store, post["id"], ("posting",), "failed_permanent", now, status_reason=reason, **extra
            )
            line.action, line.detail = "failed_permanent", reason
            return line
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
                post["id"],
                ("posting",),
                "blocked",
                now,
                status_reason=reason,
                **extra,
                claimed_at=None,
                claimed_by=None,
                next_attempt_at=until,
            )
            line.action, line.detail, line.stop_account = "blocked", reason, True
            return line
        if root is RootCause.SESSION:
            pause_account(self.store, account_id, f"session expired: {result.message}"[:500])
            reason = "account paused: the session expired (log in again, then `xbot` resume)"
            transition(
                self.store,
                post["id"],
                ("posting",),
                "blocked",
                now,
                status_reason=reason,
                **extra,
                claimed_at=None,
                claimed_by=None,
            )
            line.action, line.detail, line.stop_account = "blocked", reason, True
            return line
        reason = f"rejected: {result.message}"[:500]
        transition(
            self.store, post["id"], ("posting",), "failed_permanent", now, status_reason=reason, **extra
        )
        line.action, line.detail = "failed_permanent", reason
        return line
