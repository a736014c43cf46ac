"""The API publisher: X API v2 over httpx with a user-context bearer token.

Outcome rules (X has no idempotency key, so anything after the request left is UNKNOWN):
- 2xx with an id -> POSTED; 2xx without an id -> POSTED_NO_ID (recovery fills it in).
- 429 -> RETRYABLE, retry_after = ``x-rate-limit-reset`` (or the 24-hour reset).
- 403 duplicate -> REJECTED/DUPLICATE ("maybe already posted: reconcile"); 226 -> REJECTED/AUTOMATION_BLOCK.
- 401 -> REJECTED/SESSION; other 4xx -> REJECTED; 5xx -> RETRYABLE (X answered: nothing was created).
- connect errors -> RETRYABLE/NETWORK (nothing sent); timeouts or a dropped answer after sending -> UNKNOWN.
Threads are a chain of replies; when a later part fails, ``tweet_ids`` lists what did go out.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from xbot_pipeline.clock import Clock, SystemClock
from xbot_pipeline.events.redact import redact_text, register_secret
from xbot_pipeline.publishing.base import (
    Outcome,
    PostRequest,
    PublicMetrics,
    PublishResult,
    RateBudget,
    RootCause,
    TimelinePost,
)

log = logging.getLogger("xbot_pipeline.publishing.api")


def rate_budget(headers: httpx.Headers) -> RateBudget | None:
    """X's rate-limit headers; the 24-hour user budget wins when it is the tighter one."""

    def num(name: str) -> int | None:
        try:
            return int(headers[name])
        except (KeyError, ValueError):
            return None

    limit, remaining, reset = (num(f"x-rate-limit-{k}") for k in ("limit", "remaining", "reset"))
    day = [num(f"x-user-limit-24hour-{k}") for k in ("limit", "remaining", "reset")]
    if day[1] is not None and (remaining is None or day[1] < remaining):
        limit, remaining, reset = day
    if limit is None and remaining is None and reset is None:
        return None
    reset_at = datetime.fromtimestamp(reset, tz=UTC) if reset is not None else None
    return RateBudget(limit=limit, remaining=remaining, reset_at=reset_at)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    parts = [str(body.get("detail") or body.get("title") or "")]
    parts += [f"{e.get('code', '')} {e.get('message', '')}".strip() for e in body.get("errors") or []]
    return "; ".join(p for p in parts if p)[:500]


class ApiPublisher:
    name = "api"

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        clock: Clock | None = None,
        timeout_s: float = 20.0,
        connect_timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token:
            raise ValueError("the API publisher needs a bearer token (XBOT_X_API_TOKEN)")
        register_secret(token)
        self.clock = clock or SystemClock()
        self.budget: RateBudget | None = None
        self._token = token
        self._user_id: str | None = None
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={"authorization": f"Bearer {token}", "user-agent": "xbot-pipeline"},
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
        )

    # -- publish --------------------------------------------------------------------------------------
    def publish(self, request: PostRequest) -> PublishResult:
        started = time.monotonic()
        ids: list[str] = []
        parent = request.reply_to if request.kind == "reply" else None
        result: PublishResult | None = None
        for index, text in enumerate(request.parts):
            result = self._create(text, parent)
            if result.outcome is not Outcome.POSTED:
                break
            ids.append(str(result.tweet_id))
            parent = result.tweet_id
            if index + 1 < len(request.parts):
                log.debug("thread part %d/%d posted", index + 1, len(request.parts))
        assert result is not None
        if result.outcome is Outcome.POSTED:
            return PublishResult(
                Outcome.POSTED,
                tweet_id=ids[0],
                tweet_ids=ids,
                rate_budget=self.budget,
                elapsed_s=time.monotonic() - started,
                message=f"posted {len(ids)} part(s)",
            )
        message = result.message
        if ids:
            message = (
                f"part {len(ids) + 1} of {len(request.parts)} failed after {len(ids)} went out: {message}"
            )
        return PublishResult(
            result.outcome,
            tweet_id=ids[0] if ids else None,
            tweet_ids=ids,
            error_type=result.error_type,
            root_cause=result.root_cause,
            message=message,
            retry_after=result.retry_after,
            rate_budget=self.budget,
            elapsed_s=time.monotonic() - started,
        )

    def _create(self, text: str, reply_to: str | None) -> PublishResult:
        body: dict[str, Any] = {"text": text}
        if reply_to:
            body["reply"] = {"in_reply_to_tweet_id": reply_to}
        try:
            response = self._http.post("/2/tweets", json=body)
        except httpx.ConnectError as exc:
            return self._fail(
                Outcome.RETRYABLE, "network_unreachable", RootCause.NETWORK, f"cannot connect: {exc}"
            )
        except httpx.ConnectTimeout as exc:
            return self._fail(
                Outcome.RETRYABLE, "connect_timeout", RootCause.NETWORK, f"connect timeout: {exc}"
            )
        except httpx.TimeoutException as exc:
            return self._fail(
                Outcome.UNKNOWN,
                "timeout_after_send",
                RootCause.NETWORK,
                f"no answer after sending ({type(exc).__name__}): the post may be live; reconcile",
            )
        except httpx.TransportError as exc:
            return self._fail(
                Outcome.UNKNOWN,
                "connection_dropped",
                RootCause.NETWORK,
                f"connection lost after sending ({type(exc).__name__}): the post may be live; reconcile",
            )
        budget = rate_budget(response.headers)
        if budget is not None:
            self.budget = budget
        status = response.status_code
        if 200 <= status < 300:
            try:
                data = response.json().get("data") or {}
            except ValueError:
                data = {}
            tweet_id = data.get("id")
            if tweet_id:
                return PublishResult(Outcome.POSTED, tweet_id=str(tweet_id), tweet_ids=[str(tweet_id)])
            return self._fail(
                Outcome.POSTED_NO_ID, "missing_id", RootCause.UNKNOWN, f"HTTP {status} without a post id"
            )
        detail = _error_text(response)
        if status == 429:
            reset = budget.reset_at if budget else None
            return self._fail(
                Outcome.RETRYABLE,
                "rate_limited",
                RootCause.RATE_LIMIT,
                f"HTTP 429 (code 88): {detail}; wait until {reset.isoformat() if reset else 'the reset'}",
                retry_after=reset,
            )
        if status == 401:
            return self._fail(Outcome.REJECTED, "unauthorized", RootCause.SESSION, f"HTTP 401: {detail}")
        if "226" in detail or "automated" in detail.lower():
            return self._fail(
                Outcome.REJECTED,
                "automation_block",
                RootCause.AUTOMATION_BLOCK,
                f"HTTP {status} (226): {detail}",
            )
        if status == 403 and "duplicate" in detail.lower():
            return self._fail(
                Outcome.REJECTED,
                "duplicate_content",
                RootCause.DUPLICATE,
                f"HTTP 403 duplicate content: maybe already posted: reconcile ({detail})",
            )
        if status >= 500:
            return self._fail(
                Outcome.RETRYABLE, f"http_{status}", RootCause.NETWORK, f"HTTP {status}: {detail}"
            )
        return self._fail(Outcome.REJECTED, f"http_{status}", RootCause.UNKNOWN, f"HTTP {status}: {detail}")

    def _fail(
        self,
        outcome: Outcome,
        error_type: str,
        root: RootCause,
        message: str,
        *,
        retry_after: datetime | None = None,
    ) -> PublishResult:
        return PublishResult(
            outcome,
            error_type=error_type,
            root_cause=root,
            message=redact_text(message, [self._token]),
            retry_after=retry_after,
            rate_budget=self.budget,
        )

    # -- reads --------------------------------------------------------------------------------------------
    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            log.warning("API read %s failed: %s", path, redact_text(str(exc), [self._token]))
            return None
        budget = rate_budget(response.headers)
        if budget is not None:
            self.budget = budget
        if response.status_code != 200:
            log.warning("API read %s answered HTTP %s", path, response.status_code)
            return None
        return response.json()

    def user_id(self) -> str | None:
        if self._user_id is None:
            body = self._get("/2/users/me")
            self._user_id = (body or {}).get("data", {}).get("id")
        return self._user_id

    def recent_posts(self, limit: int = 50) -> list[TimelinePost]:
        user_id = self.user_id()
        if user_id is None:
            return []
        body = self._get(
            f"/2/users/{user_id}/tweets",
            {"max_results": max(5, min(100, limit)), "tweet.fields": "created_at,referenced_tweets"},
        )
        posts = []
        for item in (body or {}).get("data") or []:
            parent = next(
                (r["id"] for r in item.get("referenced_tweets") or [] if r.get("type") == "replied_to"), None
            )
            created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
            posts.append(TimelinePost(str(item["id"]), item["text"], created, parent))
        return posts[:limit]

    def fetch_metrics(self, tweet_ids: list[str]) -> dict[str, PublicMetrics]:
        out: dict[str, PublicMetrics] = {}
        for start in range(0, len(tweet_ids), 100):
            chunk = tweet_ids[start : start + 100]
            body = self._get(
                "/2/tweets", {"ids": ",".join(chunk), "tweet.fields": "public_metrics,created_at"}
            )
            for item in (body or {}).get("data") or []:
                m = item.get("public_metrics") or {}
                out[str(item["id"])] = PublicMetrics(
                    tweet_id=str(item["id"]),
                    impressions=int(m.get("impression_count", 0)),
                    likes=int(m.get("like_count", 0)),
                    reposts=int(m.get("retweet_count", 0)),
                    replies=int(m.get("reply_count", 0)),
                    quotes=int(m.get("quote_count", 0)),
                    bookmarks=int(m.get("bookmark_count", 0)),
                )
        return out

    def followers_count(self) -> int | None:
        body = self._get("/2/users/me", {"user.fields": "public_metrics"})
        metrics = ((body or {}).get("data") or {}).get("public_metrics") or {}
        value = metrics.get("followers_count")
        return int(value) if value is not None else None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
