"""``run_posting``: one pass over the queue, the same code for the Dagster op, the demo and the campaign.

Per account: end an expired cool-down, expire stale rows, work out the rate budget, then publish the due
rows (replies, singles, threads) one at a time: X's 24-hour budget (API accounts,
``posting/x_budget``) -> breaker check -> browser lease -> atomic claim ->
write-ahead attempt -> publish -> outcome. The publisher is created once per account per run and always
closed.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from xbot_pipeline.clock import Clock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting import breaker, x_budget
from xbot_pipeline.posting.config import KIND_ORDER, PostingConfig
from xbot_pipeline.posting.limits import Budget, compute_budget
from xbot_pipeline.posting.outcomes import PUBLISHED_ACTIONS, Action, OnPublished, OutcomeHandler, PostLine
from xbot_pipeline.posting.review import auto_approve
from xbot_pipeline.publishing.base import (
    MediaItem,
    MediaUploaded,
    Outcome,
    PostRequest,
    Publisher,
    PublishResult,
    RootCause,
)
from xbot_pipeline.publishing.lease import (
    ACCOUNT_LEASE_MARGIN_S,
    AccountLease,
    LeaseUnavailable,
    account_lease,
    browser_lease,
)
from xbot_pipeline.store import Store
from xbot_pipeline.store.accounts import list_accounts, set_account_status
from xbot_pipeline.store.attempts import begin_attempt
from xbot_pipeline.store.leases import release_dead_holders
from xbot_pipeline.store.media import media_for, remember_upload
from xbot_pipeline.store.posts import claim, due_posts, stale_candidates, transition

log = logging.getLogger("xbot_pipeline.posting")
COMPONENT = "posting"
PublisherFor = Callable[[dict[str, Any]], Publisher]


@dataclass
class PostingRunReport:
    run_id: str
    lines: list[PostLine] = field(default_factory=list)
    accounts: dict[str, str] = field(default_factory=dict)  # account -> what happened to it
    breakers: dict[str, str] = field(default_factory=dict)  # "account/publisher" -> state
    journal_replayed: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # account -> why the pass could not work on it

    def count(self, action: Action | str) -> int:
        return sum(1 for line in self.lines if line.action == action)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.action.value] = out.get(line.action.value, 0) + 1
        return out

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        failed = f"{len(self.failed)} account(s) failed" if self.failed else ""
        return f"posting run {self.run_id}: {', '.join(x for x in (counts, failed) if x) or 'nothing due'}"


def media_items(rows: list[dict[str, Any]], n_parts: int) -> tuple[tuple[MediaItem, ...], ...]:
    """``post_media`` rows as the publisher's per-part tuples (part ``i + 1`` at index ``i``)."""
    if not rows:
        return ()
    out: list[list[MediaItem]] = [[] for _ in range(n_parts)]
    for row in sorted(rows, key=lambda r: (r["part"], r["position"])):
        index = int(row["part"]) - 1
        if 0 <= index < n_parts:
            out[index].append(
                MediaItem(
                    path=row["path"],
                    mime=row["mime"],
                    sha256=row["sha256"],
                    size=int(row["size"]),
                    alt_text=row.get("alt_text"),
                    part=int(row["part"]),
                    position=int(row["position"]),
                    media_id=row.get("media_id"),
                    expires_at=row.get("media_expires_at"),
                )
            )
    return tuple(tuple(items) for items in out)


def _request(
    post: dict[str, Any],
    media: tuple[tuple[MediaItem, ...], ...] = (),
    on_media_uploaded: MediaUploaded | None = None,
) -> PostRequest:
    parts = list(post.get("parts") or [post["text"]])
    return PostRequest(
        kind=post["kind"],
        parts=parts,
        reply_to=post.get("reply_to_tweet_id"),
        post_id=post["id"],
        media=media,
        on_media_uploaded=on_media_uploaded,
    )


def publish_post(
    publisher: Publisher,
    post: dict[str, Any],
    *,
    media: list[dict[str, Any]] | None = None,
    on_media_uploaded: MediaUploaded | None = None,
) -> PublishResult:
    """Publish ``post`` with its ``media`` rows; a thread with parts already live continues after its last
    posted part (each later part with its own files)."""
    known = [str(i) for i in (post.get("tweet_ids") or []) if i]
    parts = list(post.get("parts") or [post["text"]])
    items = media_items(media or [], len(parts))
    try:
        if post["kind"] != "thread" or not known:
            return publisher.publish(_request(post, items, on_media_uploaded))
        ids = list(known)
        result: PublishResult | None = None
        for index in range(len(ids), len(parts)):
            step_media = (items[index],) if index < len(items) else ()
            result = publisher.publish(
                PostRequest(
                    "reply",
                    [parts[index]],
                    reply_to=ids[-1],
                    post_id=post["id"],
                    media=step_media,
                    on_media_uploaded=on_media_uploaded,
                )
            )
            if result.outcome is not Outcome.POSTED or not result.tweet_id:
                break
            ids.append(str(result.tweet_id))
        if result is None or (result.outcome is Outcome.POSTED and len(ids) == len(parts)):
            return PublishResult(
                Outcome.POSTED,
                tweet_id=ids[0],
                tweet_ids=ids,
                message="thread completed",
                rate_limits=result.rate_limits if result else None,
            )
        return PublishResult(
            result.outcome,
            tweet_id=ids[0],
            tweet_ids=ids,
            error_type=result.error_type,
            root_cause=result.root_cause,
            message=f"continuing thread at part {len(ids) + 1}: {result.message}",
            retry_after=result.retry_after,
            rate_limits=result.rate_limits,
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
    config: PostingConfig | None = None,
    run_id: str | None = None,
    on_published: Iterable[OnPublished] = (),
    account_ids: Iterable[str] | None = None,
    journal_path: Path | None = None,
    stop_after: int | None = None,
) -> PostingRunReport:
    """One posting pass over every active account (or ``account_ids``); never raises for a post.

    Time comes from ``store.clock`` (the one clock: the store stamps rows with it, so decisions agree).
    """
    clock = store.clock
    config = config or PostingConfig()
    run_id = run_id or uuid.uuid4().hex[:12]
    holder = f"{socket.gethostname()}:{os.getpid()}:{run_id}"
    report = PostingRunReport(run_id)
    jpath = journal_path or config.journal_path
    handler = OutcomeHandler(
        store, tracker, config, run_id, journal_path=jpath, on_published=list(on_published)
    )
    if jpath is not None:
        report.journal_replayed = handler.replay_journal()
    try:  # a killed run's browser lease must not hold this run up until it expires
        release_dead_holders(store)
    except Exception as exc:
        log.warning("could not free dead leases: %s", exc)
    try:
        accounts = list_accounts(store)
    except Exception as exc:
        tracker.track_error(COMPONENT, "queue_processing_failed", exc, "error", {"run_id": run_id})
        report.accounts["*"] = report.failed["*"] = f"cannot list accounts: {exc}"
        return report
    # the store answers again: a pass-wide failure of an earlier pass is over
    tracker.mark_recovered(component=COMPONENT, error_type="queue_processing_failed", without_account=True)
    wanted = set(account_ids) if account_ids is not None else None
    members = x_budget.app_members(accounts)  # the API accounts sharing the X app's 24-hour cap
    if config.auto_approve_after_min is not None:  # before selection: approved posts may go out now
        try:
            auto_approve(store, tracker, config.auto_approve_after_min)
        except Exception as exc:
            tracker.track_error(COMPONENT, "auto_approve_failed", exc, "error", {"run_id": run_id})
    published = 0
    for account in accounts:
        if wanted is not None and account["id"] not in wanted:
            continue
        try:
            with account_lease(
                store, account["id"], holder, "posting", config.lease_deadline_s + ACCOUNT_LEASE_MARGIN_S
            ) as lease:
                if lease is None:  # another worker drives it now: its pass, not ours
                    report.accounts[account["id"]] = "busy: another runner holds the account"
                    continue
                published += _run_account(
                    store,
                    tracker,
                    publisher_for,
                    account,
                    clock,
                    config,
                    handler,
                    holder,
                    report,
                    members,
                    lease,
                )
            tracker.mark_recovered(
                component=COMPONENT, error_type="queue_processing_failed", account_id=account["id"]
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
            report.failed[account["id"]] = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        if stop_after is not None and published >= stop_after:
            break
    log.info(report.summary())
    return report


def _expire_stale(
    store: Store,
    tracker: EventTracker,
    account_id: str,
    clock: Clock,
    config: PostingConfig,
    report: PostingRunReport,
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
            report.lines.append(PostLine(row["id"], account_id, row["kind"], Action.SKIPPED, reason))


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
    app_members: list[str] | None = None,
    lease: AccountLease | None = None,
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
    spent: str | None = None  # X's 24-hour budget is at 0: the rest of the account's posts wait too
    try:
        for post in due:
            allowed, why = budget.allows(post["kind"], clock.now())
            if not allowed:
                report.lines.append(PostLine(post["id"], account_id, post["kind"], Action.DEFERRED, why))
                continue
            if pub_name == "api":  # X's 24-hour caps bind the API only
                verdict = spent or _x_budget_verdict(
                    store, tracker, account_id, app_members or [], config, post, clock
                )
                if verdict is not None:
                    spent = verdict if verdict.startswith(SPENT) else None
                    report.lines.append(
                        PostLine(post["id"], account_id, post["kind"], Action.DEFERRED, verdict)
                    )
                    continue
            ok, state = breaker.allow(
                store, account_id, pub_name, clock.now(), config.breaker_probe_timeout_s
            )
            report.breakers[f"{account_id}/{pub_name}"] = state
            if not ok:
                report.lines.append(
                    PostLine(post["id"], account_id, post["kind"], Action.DEFERRED, f"breaker {state}")
                )
                continue
            if publisher is None:
                publisher = publisher_for(account)
                pub_name = getattr(publisher, "name", pub_name)
            line = _publish_one(store, tracker, publisher, post, clock, config, handler, holder)
            report.lines.append(line)
            if "probe" in state and line.action in (Action.DEFERRED, Action.NOT_CLAIMED):
                breaker.release_probe(store, account_id, pub_name, clock.now())
            if line.action in PUBLISHED_ACTIONS:
                budget.record(post["kind"], clock.now())
                published += 1
            elif line.action is not Action.NOT_CLAIMED:
                budget.spend_attempt()
            if line.stop_account:
                report.accounts[account_id] = line.detail
                break
            if lease is not None and not lease.renew():  # expired mid-pass and taken: stop driving it
                report.accounts[account_id] = "account lease lost; the next pass continues"
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


SPENT = "X budget spent"


def _x_budget_verdict(
    store: Store,
    tracker: EventTracker,
    account_id: str,
    app_members: list[str],
    config: PostingConfig,
    post: dict[str, Any],
    clock: Clock,
) -> str | None:
    """None when X's 24-hour caps leave room for ``post``; else why it waits. A cap at 0 holds the
    account's breaker forced open until the reset (as a 429 does), so no create call is made before it."""
    verdict = x_budget.check(store, account_id, app_members, config.x_budget, post, clock.now())
    if verdict.allowed:
        return None
    if not verdict.spent:
        return verdict.reason
    if verdict.reset_at is not None:
        x_budget.hold(store, tracker, account_id, "api", verdict.reset_at, verdict.reason)
    return f"{SPENT}: {verdict.reason.removeprefix('X budget: ')}"


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
    with ExitStack() as held:  # the browser lease, when the browser publishes: released on every path
        if getattr(publisher, "name", "") == "browser":
            try:
                held.enter_context(
                    browser_lease(store, tracker, account_id, purpose, config.lease_deadline_s, wait_s=30)
                )
            except LeaseUnavailable as exc:
                return PostLine(post["id"], account_id, post["kind"], Action.DEFERRED, str(exc))
        media = media_for(store, post["id"])  # before the claim: a store error leaves the post untouched
        previous = post["status"]
        if not claim(store, post["id"], holder, clock.now()):
            return PostLine(
                post["id"], account_id, post["kind"], Action.NOT_CLAIMED, "claimed by another run"
            )
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
            return PostLine(
                post["id"], account_id, post["kind"], Action.DEFERRED, "attempt could not be recorded"
            )

        def cache_upload(item: MediaItem, media_id: str, expires_at: datetime) -> None:
            try:  # a lost cache write only costs an upload on the next attempt
                remember_upload(store, post["id"], item.part, item.position, media_id, expires_at, attempt_no)
            except Exception as exc:
                log.warning("could not cache media id for post %s: %s", post["id"], exc)

        result = publish_post(publisher, post, media=media, on_media_uploaded=cache_upload)
        return handler.handle(publisher, post, attempt_id, attempt_no, result)
