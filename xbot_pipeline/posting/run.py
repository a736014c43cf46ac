"""``run_posting``: one pass over the queue, the same code for the Dagster op, the demo and the campaign.

Per account: end an expired cool-down, expire stale rows, work out the rate budget, then publish the due
rows (replies, singles, threads) one at a time: breaker check -> browser lease -> atomic claim ->
write-ahead attempt -> publish -> outcome. The publisher is created once per account per run and always
closed.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from xbot_pipeline.clock import Clock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting import breaker
from xbot_pipeline.posting.config import KIND_ORDER, PostingConfig
from xbot_pipeline.posting.limits import Budget, compute_budget
from xbot_pipeline.posting.outcomes import OutcomeHandler, PostLine
from xbot_pipeline.publishing.base import Outcome, PostRequest, Publisher, PublishResult, RootCause
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import list_accounts, set_account_status
from xbot_pipeline.store.attempts import begin_attempt
from xbot_pipeline.store.posts import claim, due_posts, stale_candidates, transition

log = logging.getLogger("xbot_pipeline.posting")
COMPONENT = "posting"
PublisherFor = Callable[[dict[str, Any]], Publisher]
OnPublished = Callable[[dict[str, Any]], Any]


@dataclass
class PostingRunReport:
    run_id: str
    lines: list[PostLine] = field(default_factory=list)
    accounts: dict[str, str] = field(default_factory=dict)  # account -> what happened to it
    breakers: dict[str, str] = field(default_factory=dict)  # "account/publisher" -> state
    journal_replayed: int = 0

    def count(self, action: str) -> int:
        return sum(1 for line in self.lines if line.action == action)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.action] = out.get(line.action, 0) + 1
        return out

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "nothing due"
        return f"posting run {self.run_id}: {counts}"


def _request(post: dict[str, Any]) -> PostRequest:
    parts = list(post.get("parts") or [post["text"]])
    return PostRequest(
        kind=post["kind"], parts=parts, reply_to=post.get("reply_to_tweet_id"), post_id=post["id"]
    )


def publish_post(publisher: Publisher, post: dict[str, Any]) -> PublishResult:
    """Publish ``post``; a thread with parts already live continues after its last posted part."""
    known = [str(i) for i in (post.get("tweet_ids") or []) if i]
    parts = list(post.get("parts") or [post["text"]])
    try:
        if post["kind"] != "thread" or not known:
            return publisher.publish(_request(post))
        ids = list(known)
        result: PublishResult | None = None
        for part in parts[len(ids) :]:
            result = publisher.publish(PostRequest("reply", [part], reply_to=ids[-1], post_id=post["id"]))
            if result.outcome is not Outcome.POSTED or not result.tweet_id:
                break
            ids.append(str(result.tweet_id))
        if result is None or (result.outcome is Outcome.POSTED and len(ids) == len(parts)):
            return PublishResult(Outcome.POSTED, tweet_id=ids[0], tweet_ids=ids, message="thread completed")
        return PublishResult(
            result.outcome,
            tweet_id=ids[0],
            tweet_ids=ids,
            error_type=result.error_type,
            root_cause=result.root_cause,
            message=f"continuing thread at part {len(ids) + 1}: {result.message}",
            retry_after=result.retry_after,
        )
    except Exception as exc:  # a publisher bug: we cannot know whether anything went out
        return PublishResult(
            Outcome.UNKNOWN,
            tweet_ids=known,
            tweet_id=known[0] if known else None,
            error_type="publisher_exception",
            root_cause=RootCause.UNKNOWN,
            message=f"{type(exc).__name__}: {exc}",
        )


def run_posting(
    store: Store,
    tracker: EventTracker,
    publisher_for: PublisherFor,
    *,
    clock: Clock | None = None,
    config: PostingConfig | None = None,
    run_id: str | None = None,
    on_published: Iterable[OnPublished] = (),
    account_ids: Iterable[str] | None = None,
    journal_path: Path | None = None,
    stop_after: int | None = None,
) -> PostingRunReport:
    """One posting pass over every active account (or ``account_ids``); never raises for a post."""
    clock = clock or store.clock
    config = config or PostingConfig()
    run_id = run_id or uuid.uuid4().hex[:12]
    holder = f"{socket.gethostname()}:{os.getpid()}:{run_id}"
    report = PostingRunReport(run_id)
    jpath = journal_path or config.journal_path
    handler = OutcomeHandler(store, tracker, clock, config, jpath, list(on_published), run_id)
    if jpath is not None:
        report.journal_replayed = handler.replay_journal()
    try:  # a killed run's browser lease must not hold this run up until it expires
        from xbot_pipeline.recovery.leases import release_dead_holders

        release_dead_holders(store)
    except Exception as exc:
        log.warning("could not free dead leases: %s", exc)
    try:
        accounts = list_accounts(store)
    except Exception as exc:
        tracker.track_error(COMPONENT, "queue_processing_failed", exc, "error", {"run_id": run_id})
        report.accounts["*"] = f"cannot list accounts: {exc}"
        return report
    wanted = set(account_ids) if account_ids is not None else None
    published = 0
    for account in accounts:
        if wanted is not None and account["id"] not in wanted:
            continue
        try:
            published += _run_account(
                store, tracker, publisher_for, account, clock, config, handler, holder, report
            )
        except Exception as exc:
            log.exception("posting for %s failed", account["id"])
            tracker.track_error(
                COMPONENT,
                "queue_processing_failed",
                exc,
                "error",
                {"run_id": run_id},
                account_id=account["id"],
            )
            report.accounts[account["id"]] = f"queue processing failed: {exc}"
        if stop_after is not None and published >= stop_after:
            break
    log.info(report.summary())
    return report


def _expire_stale(
    store: Store, tracker: EventTracker, account_id: str, clock: Clock, config: PostingConfig, report
) -> None:
    now = clock.now()
    horizon = max(config.stale_after_s.values())
    for row in stale_candidates(
        store, account_id, now - timedelta(seconds=min(config.stale_after_s.values()))
    ):
        limit = config.stale_after_s.get(row["kind"], horizon)
        if row["scheduled_at"] >= now - timedelta(seconds=limit) or row.get("tweet_ids"):
            continue  # a thread with live parts is finished, never abandoned half-way
        reason = f"stale: scheduled {row['scheduled_at'].isoformat()}, over {limit / 3600:g} h ago"
        if transition(
            store, row["id"], ("queued", "retry_pending", "blocked"), "skipped", now, status_reason=reason
        ):
            tracker.track_event(
                "post_skipped",
                {"post_id": row["id"], "reason": reason},
                "warning",
                component=COMPONENT,
                account_id=account_id,
                subject=f"post:{row['id']}",
            )
            report.lines.append(PostLine(row["id"], account_id, row["kind"], "skipped", reason))


def _run_account(
    store: Store,
    tracker: EventTracker,
    publisher_for: PublisherFor,
    account: dict[str, Any],
    clock: Clock,
    config: PostingConfig,
    handler: OutcomeHandler,
    holder: str,
    report: PostingRunReport,
) -> int:
    account_id = account["id"]
    now = clock.now()
    if account["status"] == "cooldown" and account.get("cooldown_until") and account["cooldown_until"] <= now:
        set_account_status(store, account_id, "active", None)
        tracker.track_event(
            "account_cooldown_ended", {"account_id": account_id}, component=COMPONENT, account_id=account_id
        )
        account = {**account, "status": "active"}
    _expire_stale(store, tracker, account_id, clock, config, report)
    if account["status"] != "active":
        report.accounts[account_id] = f"{account['status']}: {account.get('status_reason') or ''}".strip()
        return 0
    limits = config.limits.merged(account.get("limits"))
    try:
        budget = compute_budget(store, account_id, limits, now)
    except Exception as exc:
        tracker.track_error(
            COMPONENT,
            "rate_limit_check_failed",
            exc,
            "warning",
            {"fallback_per_run": config.conservative_per_run},
            account_id=account_id,
        )
        budget = Budget.conservative(config.conservative_per_run)
    due = due_posts(store, account_id, now, now + timedelta(seconds=config.grace_s))
    due.sort(key=lambda p: (KIND_ORDER.get(p["kind"], 9), p["scheduled_at"], p["id"]))
    publisher: Publisher | None = None
    published = 0
    pub_name = account.get("publisher") or "api"
    try:
        for post in due:
            allowed, why = budget.allows(post["kind"], clock.now())
            if not allowed:
                report.lines.append(PostLine(post["id"], account_id, post["kind"], "deferred", why))
                continue
            ok, state = breaker.allow(
                store, account_id, pub_name, clock.now(), config.breaker_probe_timeout_s
            )
            report.breakers[f"{account_id}/{pub_name}"] = state
            if not ok:
                report.lines.append(
                    PostLine(post["id"], account_id, post["kind"], "deferred", f"breaker {state}")
                )
                continue
            if publisher is None:
                publisher = publisher_for(account)
                pub_name = getattr(publisher, "name", pub_name)
            line = _publish_one(store, tracker, publisher, post, clock, config, handler, holder)
            report.lines.append(line)
            if "probe" in state and line.action in ("deferred", "not_claimed"):
                breaker.release_probe(store, account_id, pub_name, clock.now())
            if line.action in ("posted", "posted_no_id", "unknown", "reconciled"):
                budget.record(post["kind"], clock.now())
                published += 1
            elif line.action != "not_claimed":
                budget.spend_attempt()
            if line.stop_account:
                report.accounts[account_id] = line.detail
                break
        report.breakers[f"{account_id}/{pub_name}"] = breaker.state_of(store, account_id, pub_name)["state"]
    finally:
        if publisher is not None:
            try:
                publisher.close()
            except Exception as exc:
                log.warning("closing the publisher for %s failed: %s", account_id, exc)
    report.accounts.setdefault(account_id, f"{published} published, {len(due)} due")
    return published


def _publish_one(
    store: Store,
    tracker: EventTracker,
    publisher: Publisher,
    post: dict[str, Any],
    clock: Clock,
    config: PostingConfig,
    handler: OutcomeHandler,
    holder: str,
) -> PostLine:
    account_id = post["account_id"]
    purpose = "reply" if post["kind"] == "reply" else "posting"
    lease_ctx = nullcontext()
    if getattr(publisher, "name", "") == "browser":
        from xbot_pipeline.publishing.lease import LeaseUnavailable, browser_lease

        try:
            lease_ctx = browser_lease(store, tracker, account_id, purpose, config.lease_deadline_s, wait_s=30)
            lease_ctx.__enter__()
        except LeaseUnavailable as exc:
            return PostLine(post["id"], account_id, post["kind"], "deferred", str(exc))
        entered = lease_ctx
    else:
        entered = None
    try:
        previous = post["status"]
        if not claim(store, post["id"], holder, clock.now()):
            return PostLine(post["id"], account_id, post["kind"], "not_claimed", "claimed by another run")
        post = {**post, "status": "posting", "claimed_at": clock.now()}
        try:
            attempt_id, attempt_no = begin_attempt(store, post, publisher.name, handler.run_id, clock.now())
        except Exception as exc:
            tracker.track_error(
                COMPONENT,
                "store_write_failed",
                exc,
                "error",
                {"step": "begin_attempt"},
                account_id=account_id,
                subject=f"post:{post['id']}",
            )
            transition(
                store, post["id"], ("posting",), previous, clock.now(), claimed_at=None, claimed_by=None
            )
            return PostLine(post["id"], account_id, post["kind"], "deferred", "attempt could not be recorded")
        result = publish_post(publisher, post)
        return handler.handle(publisher, post, attempt_id, attempt_no, result)
    finally:
        if entered is not None:
            entered.__exit__(None, None, None)
