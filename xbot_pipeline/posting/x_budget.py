"""X's posting budget: the 24-hour post caps per account ("user") and per X app, planned before a publish.

X counts every created post (each part of a thread) against two 24-hour caps: one per user, one per
developer app (shared by every account that posts through the app). Two sources tell what is left, and
the tighter one wins:

- the store: posts of the account (or of every API account of the app) in the last window, counting
  a post whose outcome is open as posted and each thread part as one post, so the cap holds before X
  has answered anything (a fresh process, a first post of the day);
- X's headers (``x-user-limit-24hour-*``, ``x-app-limit-24hour-*``) from the last answer, kept in
  ``x_budgets`` by ``record``, so posts made elsewhere (another tool on the same app) count too.

A budget at 0 holds the account's circuit breaker forced open until the reset (as a 429 does,
``posting/breaker.force_open``), so nothing is attempted before it; a post that needs more posts than
are left (a thread) waits without touching the breaker. Plain module: store, config and clock in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting import breaker
from xbot_pipeline.posting.config import XBudgetConfig
from xbot_pipeline.publishing.base import RateLimits, RateWindow
from xbot_pipeline.store import Store
from xbot_pipeline.store.posts import posts_on_x_since
from xbot_pipeline.store.x_budgets import load_x_budget, save_x_budget

OPEN = ("posting", "unknown")  # the outcome is open: every part may be live


def posts_on_x(row: dict[str, Any]) -> int:
    """How many posts on X one queue row may account for (each thread part is one)."""
    parts = len(row.get("parts") or [row.get("text")]) if row.get("kind") == "thread" else 1
    live = len([i for i in row.get("tweet_ids") or [] if i])
    if row["status"] in OPEN:
        return parts
    if row["status"] == "posted":
        return live or parts
    return live


def posts_needed(post: dict[str, Any]) -> int:
    """Create calls the post still needs: a thread's parts not yet live, else 1."""
    if post.get("kind") != "thread":
        return 1
    parts = len(post.get("parts") or [post.get("text")])
    return max(1, parts - len([i for i in post.get("tweet_ids") or [] if i]))


@dataclass(frozen=True)
class ScopeBudget:
    """What is left of one 24-hour cap (scope 'user' or 'app') and when the spent part frees."""

    scope: str
    key: str
    cap: int | None  # None: no cap known (no tier cap, no header)
    left: int | None  # None: unlimited as far as we know
    used: int  # posts the store counts in the window
    reset_at: datetime | None  # when enough frees for ``needed`` posts (None: nothing is spent)
    source: str  # "store" | "x" | "none": which source set ``left``
    grows_at: datetime | None = None  # when the window next frees posts (X's reset, or the oldest + 24 h)

    def allows(self, needed: int) -> bool:
        return self.left is None or self.left >= needed

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "key": self.key,
            "cap": self.cap,
            "left": self.left,
            "used": self.used,
            "reset_at": self.reset_at.isoformat() if self.reset_at else None,
            "source": self.source,
            "grows_at": self.grows_at.isoformat() if self.grows_at else None,
        }


def _frees_at(times: list[tuple[datetime, int]], used: int, cap: int, needed: int, window: timedelta) -> Any:
    """The time enough of the counted posts leave the window for ``needed`` more to fit under ``cap``."""
    for at, n in sorted(times):
        used -= n
        if used + needed <= cap:
            return at + window
    return None


def scope_budget(
    store: Store,
    scope: str,
    key: str,
    account_ids: Iterable[str],
    cap: int | None,
    window_s: float,
    now: datetime,
    needed: int = 1,
) -> ScopeBudget:
    """One cap's budget: the tier's ``cap`` minus the store's count, and X's last header (if still valid),
    whichever leaves less."""
    window = timedelta(seconds=window_s)
    rows = posts_on_x_since(store, list(account_ids), now - window)
    times = [(r["at"], posts_on_x(r)) for r in rows if r["at"] is not None]
    used = sum(n for _, n in times)
    oldest = min((at for at, n in times if n), default=None)
    # (left, when ``needed`` fit again, source, cap, when the budget next grows)
    found: list[tuple[int, datetime | None, str, int | None, datetime | None]] = []
    if cap is not None:
        left = max(0, cap - used)
        frees = _frees_at(times, used, cap, needed, window) if left < needed else None
        found.append((left, frees, "store", cap, oldest + window if oldest else None))
    row = load_x_budget(store, scope, key)
    if row and row.get("remaining") is not None and row.get("reset_at") and row["reset_at"] > now:
        left = int(row["remaining"])
        reset_x = row["reset_at"]
        found.append((left, reset_x if left < needed else None, "x", row.get("cap") or cap, reset_x))
    if not found:
        return ScopeBudget(scope, key, None, None, used, None, "none")
    tightest = min(f[0] for f in found)
    chosen = [f for f in found if f[0] == tightest]
    resets = [f[1] for f in chosen if f[1] is not None]
    grows = [f[4] for f in chosen if f[4] is not None]
    return ScopeBudget(
        scope,
        key,
        chosen[-1][3],
        tightest,
        used,
        max(resets, default=None),
        chosen[-1][2],
        max(grows, default=None),
    )


@dataclass(frozen=True)
class BudgetCheck:
    """May a post that needs ``needed`` create calls go out now?"""

    allowed: bool
    reason: str
    spent: bool  # a cap is at 0: hold the breaker open until ``reset_at``
    reset_at: datetime | None
    user: ScopeBudget
    app: ScopeBudget


def account_budgets(
    store: Store,
    account_id: str,
    app_members: Iterable[str],
    config: XBudgetConfig,
    now: datetime,
    needed: int = 1,
) -> tuple[ScopeBudget, ScopeBudget]:
    """The account's per-user budget and its app's (shared by ``app_members``, the app's API accounts)."""
    user = scope_budget(
        store, "user", account_id, [account_id], config.per_user_24h, config.window_s, now, needed
    )
    members = sorted({*app_members, account_id})
    app = scope_budget(
        store, "app", config.app_key, members, config.per_app_24h, config.window_s, now, needed
    )
    return user, app


def check(
    store: Store,
    account_id: str,
    app_members: Iterable[str],
    config: XBudgetConfig,
    post: dict[str, Any],
    now: datetime,
) -> BudgetCheck:
    """The budget verdict for ``post`` of ``account_id``."""
    needed = posts_needed(post)
    user, app = account_budgets(store, account_id, app_members, config, now, needed)
    short = [b for b in (user, app) if not b.allows(needed)]
    if not short:
        return BudgetCheck(True, "ok", False, None, user, app)
    spent = [b for b in short if b.left == 0]
    resets = [b.reset_at for b in (spent or short) if b.reset_at is not None]
    reset = max(resets) if resets else None
    names = {"user": f"{account_id}'s", "app": f"the X app {config.app_key!r}'s"}
    what = "; ".join(
        f"{names[b.scope]} 24-hour cap: {b.left} of {b.cap} left"
        + (f" until {b.reset_at.isoformat()}" if b.reset_at else "")
        for b in short
    )
    need = f", the post needs {needed}" if needed > 1 else ""
    return BudgetCheck(False, f"X budget: {what}{need}", bool(spent), reset, user, app)


def hold(
    store: Store,
    tracker: EventTracker | None,
    account_id: str,
    publisher: str,
    until: datetime,
    reason: str,
) -> bool:
    """Hold the account's breaker forced open until ``until`` (once: not again while it already holds
    that long). True when it was forced now."""
    forced = breaker.state_of(store, account_id, publisher).get("forced_until")
    if forced is not None and forced >= until:
        return False
    breaker.force_open(store, account_id, publisher, until, reason[:200], tracker)
    return True


def _save(store: Store, scope: str, key: str, window: RateWindow | None, now: datetime) -> None:
    if window is None or window.reset_at is None or window.remaining is None:
        return  # an undated or partial header says nothing usable about the budget
    save_x_budget(
        store, scope, key, now, cap=window.limit, remaining=window.remaining, reset_at=window.reset_at
    )


def record(
    store: Store, account_id: str, config: XBudgetConfig, limits: RateLimits | None, now: datetime
) -> None:
    """Keep what X's answer said about the 24-hour caps (the account's and its app's)."""
    if limits is None:
        return
    _save(store, "user", account_id, limits.user_24h, now)
    _save(store, "app", config.app_key, limits.app_24h, now)


def app_members(accounts: Iterable[dict[str, Any]]) -> list[str]:
    """The accounts that post through the X app: every API account (one app per deployment)."""
    return [str(a["id"]) for a in accounts if (a.get("publisher") or "api") == "api"]
