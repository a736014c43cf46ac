"""``run_recovery``: fill in missing ids, settle unknown and stuck posts, half-open breakers, free leases.

The rule that fixes the seed's "one tweet went out 5 times": a post whose fate is open is only requeued
when the account's timeline, read completely back past the post's claim, does not have it, and only after
a settle period. Anything found is marked posted with its id; every recovery marks the post's open errors
recovered so recovery metrics measure something real.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.clock import Clock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting import breaker
from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.live import alert_unsettled, mark_found_live, replay_journal
from xbot_pipeline.posting.reconcile import (
    CLOCK_SLACK,
    Timeline,
    match_parts,
    missing_parts_absent,
    read_timeline,
)
from xbot_pipeline.publishing.base import Publisher
from xbot_pipeline.publishing.lease import ACCOUNT_LEASE_MARGIN_S, account_lease
from xbot_pipeline.recovery.config import RecoveryConfig
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import get_account
from xbot_pipeline.store.attempts import attempts_for, fill_posted_attempt_id, resolve_open_attempts
from xbot_pipeline.store.holders import holder_alive
from xbot_pipeline.store.leases import release_dead_holders, release_expired_leases
from xbot_pipeline.store.posts import posts_missing_id, posts_to_reconcile, set_fields, transition

log = logging.getLogger("xbot_pipeline.recovery")
COMPONENT = "recovery"


@dataclass
class RecoveryReport:
    ids_filled: list[int] = field(default_factory=list)
    reconciled_posted: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    still_open: list[int] = field(default_factory=list)
    breakers_half_open: list[str] = field(default_factory=list)
    leases_released: int = 0
    journal_replayed: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        """Nothing changed and nothing is left open."""
        return not (
            self.ids_filled or self.reconciled_posted or self.requeued or self.failed or self.still_open
        )

    def summary(self) -> str:
        return (
            f"recovery: {len(self.ids_filled)} ids filled, {len(self.reconciled_posted)} found live, "
            f"{len(self.requeued)} requeued, {len(self.failed)} failed, {len(self.still_open)} still open, "
            f"{len(self.breakers_half_open)} breakers half-open, {self.leases_released} leases released"
        )


def run_recovery(
    store: Store,
    tracker: EventTracker,
    publisher_for: Callable[[dict[str, Any]], Publisher],
    *,
    config: RecoveryConfig | None = None,
    posting_config: PostingConfig | None = None,
    account_ids: Iterable[str] | None = None,
) -> RecoveryReport:
    """One recovery pass over every account (or only ``account_ids``: one shard of the fleet). Each
    account is worked under its account lease, so a worker never reconciles an account another worker is
    posting for; a busy account is left open for the next pass."""
    clock = store.clock  # the one clock (see run_posting)
    wanted = set(account_ids) if account_ids is not None else None
    holder = f"{socket.gethostname()}:{os.getpid()}:recovery-{uuid.uuid4().hex[:8]}"
    config = config or RecoveryConfig()
    posting_config = posting_config or PostingConfig()
    report = RecoveryReport()
    now = clock.now()
    jpath = config.journal_path or posting_config.journal_path
    if jpath is not None:
        report.journal_replayed = replay_journal(store, tracker, jpath, component=COMPONENT)
    try:
        report.leases_released = release_expired_leases(store) + release_dead_holders(store)
    except Exception as exc:
        tracker.track_error(COMPONENT, "lease_release_failed", exc, "warning")
    for account_id, pub in breaker.half_open_due(store, now, wanted):
        report.breakers_half_open.append(f"{account_id}/{pub}")
        tracker.track_event(
            "circuit_breaker_half_open",
            {"account_id": account_id, "publisher": pub},
            component=COMPONENT,
            account_id=account_id,
            subject=breaker.subject(account_id, pub),
        )

    open_posts = posts_to_reconcile(store, now - timedelta(seconds=config.stuck_after_s))
    missing = posts_missing_id(store)
    by_account: dict[str, list[dict[str, Any]]] = {}
    for post in open_posts + missing:
        if wanted is None or post["account_id"] in wanted:
            by_account.setdefault(post["account_id"], []).append(post)
    ttl_s = posting_config.lease_deadline_s + ACCOUNT_LEASE_MARGIN_S
    for account_id, rows in sorted(by_account.items()):
        account = get_account(store, account_id)
        if account is None:
            continue
        with account_lease(store, account_id, holder, "recovery", ttl_s) as lease:
            if lease is None:
                report.still_open.extend(p["id"] for p in rows)
                report.lines.append(f"account {account_id}: busy (another runner holds it); next pass")
                continue
            _recover_account(
                store, tracker, publisher_for, account, rows, clock, config, posting_config, report
            )
    log.info(report.summary())
    return report


def _recover_account(
    store: Store,
    tracker: EventTracker,
    publisher_for: Callable[[dict[str, Any]], Publisher],
    account: dict[str, Any],
    rows: list[dict[str, Any]],
    clock: Clock,
    config: RecoveryConfig,
    posting_config: PostingConfig,
    report: RecoveryReport,
) -> None:
    """Read the account's timeline once and settle each of its open rows."""
    account_id = account["id"]
    publisher: Publisher | None = None
    try:
        publisher = publisher_for(account)
        earliest = min(window_start(p, attempts_for(store, p["id"])) for p in rows)
        timeline = read_timeline(publisher, earliest - CLOCK_SLACK, config.timeline_limit)
        taken: set[str] = set()
        for post in rows:
            try:
                _recover_post(store, tracker, post, timeline, taken, clock, config, posting_config, report)
            except Exception as exc:
                log.exception("recovering post %s failed", post["id"])
                tracker.track_error(
                    COMPONENT,
                    "recovery_failed",
                    exc,
                    "error",
                    {"post_id": post["id"]},
                    account_id=account_id,
                    subject=f"post:{post['id']}",
                )
                report.still_open.append(post["id"])
    except Exception as exc:
        tracker.track_error(COMPONENT, "recovery_failed", exc, "error", {}, account_id=account_id)
        report.still_open.extend(p["id"] for p in rows)
    finally:
        if publisher is not None:
            with contextlib.suppress(Exception):
                publisher.close()


def _recover_post(
    store: Store,
    tracker: EventTracker,
    post: dict[str, Any],
    timeline: Timeline,
    taken: set[str],
    clock: Clock,
    config: RecoveryConfig,
    posting_config: PostingConfig,
    report: RecoveryReport,
) -> None:
    now = clock.now()
    subject = f"post:{post['id']}"
    attempts = attempts_for(store, post["id"])
    since = window_start(post, attempts)
    ids = match_parts(post, timeline, since, taken)
    parts_n = len(ids)
    found = [i for i in ids if i]  # every part's id when found_all
    found_all = len(found) == parts_n
    if post["status"] == "posted":  # live, id missing
        if found_all:
            values: dict[str, Any] = {"tweet_id": found[0], "status_reason": None}
            if post["kind"] == "thread":
                values["tweet_ids"] = found
            set_fields(store, post["id"], now, **values)
            fill_posted_attempt_id(store, post["id"], found[0])
            taken.update(found)
            tracker.track_event(
                "post_id_recovered",
                {"post_id": post["id"], "tweet_id": found[0]},
                component=COMPONENT,
                account_id=post["account_id"],
                subject=subject,
            )
            tracker.mark_recovered(subject=subject)
            report.ids_filled.append(post["id"])
            report.lines.append(f"post {post['id']}: id {found[0]} filled in from the timeline")
        elif (post.get("posted_at") or now) < now - timedelta(seconds=config.missing_id_give_up_s):
            report.lines.append(f"post {post['id']}: id not found within the give-up window; left as posted")
        else:
            report.still_open.append(post["id"])
        return
    # 'unknown' or stuck 'posting'
    if post["status"] == "posting" and claimer_alive(post.get("claimed_by")):
        report.still_open.append(post["id"])
        report.lines.append(f"post {post['id']}: still being posted by a live process")
        return
    if found_all:
        mark_found_live(store, tracker, post, found, now, component=COMPONENT, why="found on the timeline")
        taken.update(found)
        report.reconciled_posted.append(post["id"])
        report.lines.append(f"post {post['id']}: found live as {found[0]} ({post['status']} -> posted)")
        return
    last = max([post.get("claimed_at") or post["created_at"], *(a["started_at"] for a in attempts)])
    settled = last <= now - timedelta(seconds=config.settle_s)
    duplicate = x_called_it_duplicate(attempts)
    if not settled or duplicate or not missing_parts_absent(timeline, since, ids):
        report.still_open.append(post["id"])
        why = (
            "settling"
            if not settled
            else "parked: X called a re-post a duplicate, so it may be live; check the account"
            if duplicate
            else "timeline read cannot rule it out"
        )
        report.lines.append(f"post {post['id']}: {post['status']}, left open ({why})")
        if last <= now - timedelta(seconds=config.unsettled_alert_s):
            alert_unsettled(store, tracker, post, now, COMPONENT, f"open since {last.isoformat()}: {why}")
        return
    live = [i for i in ids if i]
    extra: dict[str, Any] = {"tweet_ids": live} if live else {}
    attempt_no = max([0, *(a["attempt_no"] for a in attempts)])
    if attempt_no > posting_config.max_retries(post["kind"]):
        reason = f"not on the timeline after {attempt_no} attempts; giving up"
        if transition(store, post["id"], (post["status"],), "failed", now, status_reason=reason, **extra):
            resolve_open_attempts(
                store,
                post["id"],
                "retryable",
                now,
                error_type="not_on_timeline",
                error_message="not on the timeline",
            )
            report.failed.append(post["id"])
            tracker.track_error(
                COMPONENT,
                "post_failed",
                f"post {post['id']}: {reason}",
                "error",
                {"post_id": post["id"], "attempts": attempt_no},
                account_id=post["account_id"],
                subject=subject,
            )
        return
    reason = f"recovery: not on the timeline ({parts_n - len(live)} part(s) missing); requeued"
    if transition(
        store,
        post["id"],
        (post["status"],),
        "retry_pending",
        now,
        status_reason=reason,
        next_attempt_at=now,
        claimed_at=None,
        claimed_by=None,
        **extra,
    ):
        resolve_open_attempts(
            store,
            post["id"],
            "retryable",
            now,
            error_type="not_on_timeline",
            error_message="not on the timeline after settle",
        )
        tracker.track_event(
            "post_requeued",
            {"post_id": post["id"], "was": post["status"], "parts_live": len(live)},
            "warning",
            component=COMPONENT,
            account_id=post["account_id"],
            subject=subject,
        )
        tracker.mark_recovered(subject=subject)
        report.requeued.append(post["id"])
        report.lines.append(f"post {post['id']}: {reason}")


def window_start(post: dict[str, Any], attempts: list[dict[str, Any]]) -> datetime:
    """The earliest time the post's still-open parts could have gone out: parts posted by earlier, settled
    attempts are in tweet_ids already, so look back to the first open attempt (else the claim)."""
    open_attempts = [
        a["started_at"] for a in attempts if a["outcome"] in ("pending", "unknown", "posted_no_id")
    ]
    return min(open_attempts) if open_attempts else (post.get("claimed_at") or post["created_at"])


def x_called_it_duplicate(attempts: list[dict[str, Any]]) -> bool:
    """X refused one of the post's attempts as duplicate content: strong evidence that it is live, so it is
    never requeued (a re-post would be refused again); it is found, or it waits for the operator."""
    return any(a.get("root_cause") == "duplicate" for a in attempts)


def claimer_alive(claimed_by: str | None) -> bool:
    """True when the row was claimed by another process on this host that is still running."""
    return holder_alive(claimed_by) is True and not (claimed_by or "").startswith(
        f"{socket.gethostname()}:{os.getpid()}:"
    )
