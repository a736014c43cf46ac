"""What the stand-in does when someone posts or reads: shared by the API v2 routes and the web page.

``attempt_create`` decides the fate of one create (a fault, a duplicate, a limit, or a new post) so both
channels behave alike; each channel renders the decision in its own wire format.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from xbot_pipeline.sandbox.audience import World, metrics_at
from xbot_pipeline.sandbox.oauth import OAuthState
from xbot_pipeline.sandbox.state import CREATE_FAULTS, Account, Fault, SandboxState

AUTOMATION_MESSAGE = (
    "This request looks like it might be automated. To protect our users from spam and other malicious "
    "activity, we can't complete this action right now. Please try again later."
)
DUPLICATE_MESSAGE = "You are not allowed to create a Tweet with duplicate content."
DEFAULT_APP = "xbot-sandbox-app"


def _epoch(when: datetime) -> str:
    """A reset header: Unix seconds, rounded up so a client waiting until it is never early."""
    return str(math.ceil(when.timestamp()))


@dataclass
class Limits:
    """X's limits as the stand-in enforces them (small enough to hit in tests when lowered)."""

    requests_per_window: int = 200  # per user per 15 minutes, per endpoint family
    window_s: int = 15 * 60
    posts_per_day: int = 100  # per user per day window: x-user-limit-24hour-*
    app_posts_per_day: int = 10_000  # per X app per day window, all its users: x-app-limit-24hour-*
    day_window_s: int = 24 * 3600  # X's 24 hours (tests shorten it to seconds)
    apps: dict[str, str] = field(default_factory=dict)  # handle -> X app name; others: DEFAULT_APP
    rate_limit_reset_s: int = 60  # the reset a ``rate_limit`` fault announces (unless params say)
    hang_s: float = 30.0
    media_expiry_s: float = 24 * 3600  # a media id's lifetime (expires_after_secs); tests use seconds
    gif_processing_s: float = 1.0  # how long a finalized GIF stays pending/in_progress
    access_token_s: float = 7200.0  # OAuth 2.0 user access tokens live two hours on X
    code_s: float = 30.0  # an authorization code must be exchanged within this
    oauth_auto_approve: str = ""  # a handle: the authorize page approves for it at once (tests)


@dataclass
class CreateDecision:
    """kind: created | missing_id | drop | hang | http_500 | rate_limit | duplicate | automation | bad_reply
    | bad_media (``reason`` says why)"""

    kind: str
    post: dict[str, Any] | None = None
    reset_at: datetime | None = None
    fault: Fault | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = ""


@dataclass
class Sandbox:
    """The running stand-in's shared objects (what every route handler needs)."""

    state: SandboxState
    limits: Limits
    graphql_hash: str = "oB-5XsHNAbjvARJEc8CZFw"
    stopping: bool = False
    world: World | None = None  # the learning simulation's audience; None = the seed's legacy audience
    _oauth: OAuthState | None = field(default=None, repr=False)

    @property
    def oauth(self) -> OAuthState:
        """The sign-in tables (OAuth 2.0 clients and tokens, OAuth 1.0a keys), created on first use."""
        if self._oauth is None:
            self._oauth = OAuthState(self.state)
        return self._oauth

    def now(self) -> datetime:
        return self.state.clock.now()

    async def sleep_unless_stopping(self, seconds: float) -> None:
        """A hang that ends early when the server shuts down (tests never wait for it)."""
        end = asyncio.get_running_loop().time() + seconds
        while not self.stopping and asyncio.get_running_loop().time() < end:
            await asyncio.sleep(0.05)

    def app_of(self, account: Account) -> str:
        """The X app ``account``'s token belongs to (``Limits.apps``; one shared app by default)."""
        return (
            self.limits.apps.get(account.handle.lower())
            or self.limits.apps.get(account.handle)
            or DEFAULT_APP
        )

    def rate_headers(self, account: Account, kind: str, *, count: bool) -> tuple[dict[str, str], bool]:
        """X's rate-limit headers for ``account`` and whether the call is over a limit. Every create
        answer also carries the 24-hour post caps, per user and per app."""
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
            "x-rate-limit-reset": _epoch(reset),
        }
        if kind == "create":
            window = timedelta(seconds=self.limits.day_window_s)
            day = self.state.calls_since(account, "post", now - window)
            app = self.app_of(account)
            members = [a.user_id for a in self.state.accounts() if self.app_of(a) == app]
            app_day = self.state.calls_of_users_since(members, "post", now - window)
            for prefix, cap, used in (
                ("x-user-limit-24hour", self.limits.posts_per_day, day),
                ("x-app-limit-24hour", self.limits.app_posts_per_day, app_day),
            ):
                headers.update(
                    {
                        f"{prefix}-limit": str(cap),
                        f"{prefix}-remaining": str(max(0, cap - len(used))),
                        f"{prefix}-reset": _epoch((used[0] if used else now) + window),
                    }
                )
                over = over or len(used) >= cap
        return headers, over

    @staticmethod
    def spent_reset(headers: dict[str, str]) -> int:
        """The latest reset among the windows at 0 (what a 429 makes the client wait for)."""
        spent = [
            int(headers[f"{p}-reset"])
            for p in ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")
            if headers.get(f"{p}-remaining") == "0"
        ]
        return max(spent, default=int(headers["x-rate-limit-reset"]))

    def attempt_create(
        self,
        account: Account,
        text: str,
        reply_to: str | None,
        channel: str,
        media_ids: list[str] | None = None,
    ) -> CreateDecision:
        headers, over = self.rate_headers(account, "create", count=True)
        fault = self.state.take_fault(CREATE_FAULTS, account)
        if fault and fault.kind == "rate_limit":
            reset = self.now() + timedelta(
                seconds=float(fault.params.get("reset_s", self.limits.rate_limit_reset_s))
            )
            headers["x-rate-limit-remaining"] = "0"
            headers["x-rate-limit-reset"] = _epoch(reset)
            return CreateDecision("rate_limit", reset_at=reset, fault=fault, headers=headers)
        if over:
            reset = datetime.fromtimestamp(self.spent_reset(headers), tz=self.now().tzinfo)
            return CreateDecision("rate_limit", reset_at=reset, headers=headers)
        if fault and fault.kind in ("http_500", "hang", "duplicate", "automation"):
            return CreateDecision(fault.kind, fault=fault, headers=headers)
        if self.state.is_duplicate(account, text):
            return CreateDecision("duplicate", headers=headers)
        if reply_to is not None and self.state.post(reply_to) is None:
            return CreateDecision("bad_reply", headers=headers)
        if media_ids:
            why = self.state.usable_media(account, media_ids)
            if why is not None:
                return CreateDecision("bad_media", headers=headers, reason=why)
        post = self.state.create_post(account, text, reply_to, channel, media_ids)
        self.state.count_call(account, "post")
        for prefix in ("x-user-limit-24hour", "x-app-limit-24hour"):
            remaining = int(headers[f"{prefix}-remaining"])
            headers[f"{prefix}-remaining"] = str(max(0, remaining - 1))
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
            world=self.world,
        )
