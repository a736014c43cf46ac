"""What the stand-in does when someone posts or reads: shared by the API v2 routes and the web page.

``attempt_create`` decides the fate of one create (a fault, a duplicate, a limit, or a new post) so both
channels behave alike; each channel renders the decision in its own wire format.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.sandbox.audience import metrics_at
from xbot_pipeline.sandbox.state import CREATE_FAULTS, Account, Fault, SandboxState

AUTOMATION_MESSAGE = (
    "This request looks like it might be automated. To protect our users from spam and other malicious "
    "activity, we can't complete this action right now. Please try again later."
)
DUPLICATE_MESSAGE = "You are not allowed to create a Tweet with duplicate content."


@dataclass
class Limits:
    """X's limits as the stand-in enforces them (small enough to hit in tests when lowered)."""

    requests_per_window: int = 200  # per user per 15 minutes, per endpoint family
    window_s: int = 15 * 60
    posts_per_day: int = 100  # x-user-limit-24hour-*
    rate_limit_reset_s: int = 60  # the reset a ``rate_limit`` fault announces (unless params say)
    hang_s: float = 30.0


@dataclass
class CreateDecision:
    """kind: created | missing_id | drop | hang | http_500 | rate_limit | duplicate | automation"""

    kind: str
    post: dict[str, Any] | None = None
    reset_at: datetime | None = None
    fault: Fault | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Sandbox:
    """The running stand-in's shared objects (what every route handler needs)."""

    state: SandboxState
    limits: Limits
    graphql_hash: str = "oB-5XsHNAbjvARJEc8CZFw"
    stopping: bool = False

    def now(self) -> datetime:
        return self.state.clock.now()

    async def sleep_unless_stopping(self, seconds: float) -> None:
        """A hang that ends early when the server shuts down (tests never wait for it)."""
        end = asyncio.get_running_loop().time() + seconds
        while not self.stopping and asyncio.get_running_loop().time() < end:
            await asyncio.sleep(0.05)

    def rate_headers(self, account: Account, kind: str, *, count: bool) -> tuple[dict[str, str], bool]:
        """X's rate-limit headers for ``account`` and whether the call is over a limit."""
        now = self.now()
        window_start = now - timedelta(seconds=self.limits.window_s)
        calls = self.state.calls_since(account, kind, window_start)
        over = len(calls) >= self.limits.requests_per_window
        if count and not over:
            self.state.count_call(account, kind)
            calls = [*calls, now]
        reset = (calls[0] if calls else now) + timedelta(seconds=self.limits.window_s)
        headers = {
            "x-rate-limit-limit": str(self.limits.requests_per_window),
            "x-rate-limit-remaining": str(max(0, self.limits.requests_per_window - len(calls))),
            "x-rate-limit-reset": str(int(reset.timestamp())),
        }
        if kind == "create":
            day = self.state.calls_since(account, "post", now - timedelta(days=1))
            day_reset = (day[0] if day else now) + timedelta(days=1)
            headers.update(
                {
                    "x-user-limit-24hour-limit": str(self.limits.posts_per_day),
                    "x-user-limit-24hour-remaining": str(max(0, self.limits.posts_per_day - len(day))),
                    "x-user-limit-24hour-reset": str(int(day_reset.timestamp())),
                }
            )
            if len(day) >= self.limits.posts_per_day:
                over = True
                headers["x-rate-limit-reset"] = headers["x-user-limit-24hour-reset"]
        return headers, over

    def attempt_create(
        self, account: Account, text: str, reply_to: str | None, channel: str
    ) -> CreateDecision:
        headers, over = self.rate_headers(account, "create", count=True)
        fault = self.state.take_fault(CREATE_FAULTS, account)
        if fault and fault.kind == "rate_limit":
            reset = self.now() + timedelta(
                seconds=float(fault.params.get("reset_s", self.limits.rate_limit_reset_s))
            )
            headers["x-rate-limit-remaining"] = "0"
            headers["x-rate-limit-reset"] = str(int(reset.timestamp()))
            return CreateDecision("rate_limit", reset_at=reset, fault=fault, headers=headers)
        if over:
            reset = datetime.fromtimestamp(int(headers["x-rate-limit-reset"]), tz=self.now().tzinfo)
            return CreateDecision("rate_limit", reset_at=reset, headers=headers)
        if fault and fault.kind in ("http_500", "hang", "duplicate", "automation"):
            return CreateDecision(fault.kind, fault=fault, headers=headers)
        if self.state.is_duplicate(account, text):
            return CreateDecision("duplicate", headers=headers)
        if reply_to is not None and self.state.post(reply_to) is None:
            return CreateDecision("bad_reply", headers=headers)
        post = self.state.create_post(account, text, reply_to, channel)
        self.state.count_call(account, "post")
        remaining = int(headers["x-user-limit-24hour-remaining"])
        headers["x-user-limit-24hour-remaining"] = str(max(0, remaining - 1))
        kind = fault.kind if fault and fault.kind in ("missing_id", "drop") else "created"
        if kind != "created" and fault and float(fault.params.get("hide_s", 0)) > 0:
            self.state.hide(post["id"], float(fault.params["hide_s"]))
        return CreateDecision(kind, post=post, fault=fault, headers=headers)

    def metrics(self, post: dict[str, Any]) -> dict[str, int]:
        return metrics_at(
            post["text"],
            post["created_at"],
            max(self.now(), post["created_at"]),
            seed=self.state.seed,
            post_key=post["id"],
            followers=int(post.get("followers") or 1000),
            is_thread=self.state.is_thread_post(post),
        )
