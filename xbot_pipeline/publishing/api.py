"""The API publisher: X API v2 over httpx with a user-context bearer token.

Outcome rules (X has no idempotency key, so anything after the request left is UNKNOWN):
- 2xx with an id -> POSTED; 2xx without an id -> POSTED_NO_ID (recovery fills it in).
- any other answer: ``x_errors.classify`` (429 -> RETRYABLE until the reset, 226 -> automation block,
  duplicate -> REJECTED "maybe already posted: reconcile", 401 -> SESSION, 5xx -> RETRYABLE, ...).
- connect errors -> RETRYABLE/NETWORK (nothing sent); timeouts or a dropped answer after sending -> UNKNOWN.
Threads are a chain of replies; when a later part fails, ``tweet_ids`` lists what did go out.

Media: each part's files are uploaded just before that part is created (simple upload for images,
chunked initialize/append/finalize with bounded status polling for a GIF), their alt text set through
``/2/media/metadata``, and the ids attached as ``media.media_ids``. An id an earlier attempt uploaded is
reused while it has ``media_reuse_margin_s`` left; within one publish nothing is uploaded twice. Any
upload failure ends the publish before the create call: RETRYABLE (nothing was posted), never a post
without the media the operator queued.
Every answer's rate-limit headers (15-minute window, 24-hour caps per user and per app) come back as
``PublishResult.rate_limits``, hostile values dropped: the posting pass plans X's budget with them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from xbot_pipeline.auth.errors import AuthError, AuthRefused
from xbot_pipeline.clock import Clock, SystemClock
from xbot_pipeline.events.redact import redact_text, register_secret
from xbot_pipeline.publishing.base import (
    MediaItem,
    Outcome,
    PostRequest,
    PublicMetrics,
    PublishResult,
    RateBudget,
    RootCause,
    TimelinePost,
    TimelinePosts,
    partial_thread_result,
)
from xbot_pipeline.publishing.x_errors import XError, classify, rate_budget, rate_limits

log = logging.getLogger("xbot_pipeline.publishing.api")


def _body(response: httpx.Response) -> Any:
    """The parsed JSON answer, else the start of its text (for the classifier)."""
    try:
        return response.json()
    except ValueError:
        return response.text[:300]


class ApiPublisher:
    name = "api"

    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        *,
        auth: httpx.Auth | None = None,
        clock: Clock | None = None,
        timeout_s: float = 20.0,
        connect_timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        media_chunk_bytes: int = 1024 * 1024,
        media_reuse_margin_s: float = 300.0,
        media_processing_max_s: float = 120.0,
    ) -> None:
        """``token``: a static bearer token (XBOT_X_API_TOKEN); ``auth``: the account's signed-in
        credentials (``auth.provider.ProviderAuth``: OAuth 2.0 refreshed in time, or OAuth 1.0a)."""
        if not token and auth is None:
            raise ValueError(
                "the API publisher needs a bearer token (XBOT_X_API_TOKEN) or a signed-in account"
            )
        register_secret(token)
        self.clock = clock or SystemClock()
        self.timeout_s = timeout_s
        self.budget: RateBudget | None = None
        self._token = token or ""
        self._user_id: str | None = None
        self.media_chunk_bytes = max(1, int(media_chunk_bytes))
        self.media_reuse_margin = timedelta(seconds=media_reuse_margin_s)
        self.media_processing_max_s = media_processing_max_s
        self.uploads = 0  # files sent to X by this publisher (tests and benchmarks read it)
        self._uploaded: dict[tuple[int, int, str], tuple[str, datetime]] = {}
        headers = {"user-agent": "xbot-pipeline"}
        if auth is None:
            headers["authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
        )

    # -- publish --------------------------------------------------------------------------------------
    def publish(self, request: PostRequest) -> PublishResult:
        started = self.clock.monotonic()
        ids: list[str] = []
        parent = request.reply_to if request.kind == "reply" else None
        result: PublishResult | None = None
        self._uploaded = {}  # one publish is one attempt: no file goes up twice within it
        for index, text in enumerate(request.parts):
            result = self._publish_part(request, index, text, parent)
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
                elapsed_s=self.clock.monotonic() - started,
                message=f"posted {len(ids)} part(s)",
                rate_limits=result.rate_limits,
            )
        return partial_thread_result(
            result,
            ids,
            len(request.parts),
            elapsed_s=self.clock.monotonic() - started,
            rate_budget=self.budget,
        )

    def _publish_part(self, request: PostRequest, index: int, text: str, parent: str | None) -> PublishResult:
        """Upload (or reuse) the part's media, then create it; an id X no longer knows is uploaded again
        once (a 400 on the create means nothing was posted)."""
        files = request.media_of(index)
        media_ids, reused, failure = self._attach(request, files, fresh=False)
        if failure is not None:
            return failure
        result = self._create(text, parent, media_ids)
        if reused and result.outcome is Outcome.REJECTED and "media" in result.message.lower():
            log.info("a reused media id was refused; uploading part %d's media again", index + 1)
            media_ids, _, failure = self._attach(request, files, fresh=True)
            if failure is not None:
                return failure
            result = self._create(text, parent, media_ids)
        return result

    # -- media ----------------------------------------------------------------------------------------
    def _attach(
        self, request: PostRequest, files: tuple[MediaItem, ...], *, fresh: bool
    ) -> tuple[list[str], bool, PublishResult | None]:
        """X's ids for ``files`` (uploading what has no valid id); (ids, any reused, failure)."""
        ids: list[str] = []
        reused = False
        for item in files:
            key = (item.part, item.position, item.sha256)
            now = self.clock.now()
            if not fresh and key in self._uploaded:
                ids.append(self._uploaded[key][0])
                continue
            if (
                not fresh
                and item.media_id
                and item.expires_at is not None
                and item.expires_at - now > self.media_reuse_margin
            ):
                ids.append(item.media_id)
                reused = True
                continue
            uploaded = self._upload(item)
            if isinstance(uploaded, PublishResult):
                return [], reused, uploaded
            self._uploaded[key] = uploaded
            ids.append(uploaded[0])
            if request.on_media_uploaded is not None:
                try:
                    request.on_media_uploaded(item, *uploaded)
                except Exception as exc:  # the cache is an optimisation: never fail the post for it
                    log.warning("caching media id failed: %s", exc)
        return ids, reused, None

    def _upload(self, item: MediaItem) -> tuple[str, datetime] | PublishResult:
        """Upload one file and set its alt text; (media id, expiry) or a failure that posted nothing."""
        try:
            data = Path(item.path).read_bytes()
        except OSError as exc:
            return self._fail(
                Outcome.REJECTED,
                "media_missing",
                RootCause.UNKNOWN,
                f"queued media file cannot be read ({exc.strerror or exc}): requeue the post with it",
            )
        if hashlib.sha256(data).hexdigest() != item.sha256:
            return self._fail(
                Outcome.REJECTED,
                "media_changed",
                RootCause.UNKNOWN,
                "queued media file changed on disk since enqueue: requeue the post with it",
            )
        self.uploads += 1
        if item.mime == "image/gif":
            answer = self._upload_chunked(item, data)
        else:
            answer = self._media_call(
                "simple upload",
                "POST",
                "/2/media/upload",
                files={"media": (f"{item.sha256[:16]}.bin", data, item.mime)},
                data={"media_category": "tweet_image", "media_type": item.mime},
            )
        if isinstance(answer, PublishResult):
            return answer
        media_id = str(answer.get("id") or "")
        if not media_id:
            return self._fail(
                Outcome.RETRYABLE, "media_upload_failed", RootCause.UNKNOWN, "media upload answered no id"
            )
        expires = self.clock.now() + timedelta(seconds=float(answer.get("expires_after_secs") or 86400))
        if item.alt_text:
            meta = self._media_call(
                "alt text",
                "POST",
                "/2/media/metadata",
                json={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}},
            )
            if isinstance(meta, PublishResult):
                return meta
        return media_id, expires

    def _upload_chunked(self, item: MediaItem, data: bytes) -> dict[str, Any] | PublishResult:
        """initialize -> append each chunk -> finalize -> poll the processing status (bounded)."""
        init = self._media_call(
            "initialize",
            "POST",
            "/2/media/upload/initialize",
            json={"media_type": item.mime, "total_bytes": len(data), "media_category": "tweet_gif"},
        )
        if isinstance(init, PublishResult):
            return init
        media_id = str(init.get("id") or "")
        if not media_id:
            return self._fail(
                Outcome.RETRYABLE, "media_upload_failed", RootCause.UNKNOWN, "initialize answered no id"
            )
        step = self.media_chunk_bytes
        for segment, start in enumerate(range(0, len(data), step)):
            appended = self._media_call(
                f"append segment {segment}",
                "POST",
                f"/2/media/upload/{media_id}/append",
                files={"media": ("chunk", data[start : start + step], "application/octet-stream")},
                data={"segment_index": str(segment)},
            )
            if isinstance(appended, PublishResult):
                return appended
        answer = self._media_call("finalize", "POST", f"/2/media/upload/{media_id}/finalize")
        if isinstance(answer, PublishResult):
            return answer
        started = self.clock.monotonic()
        while True:
            info = answer.get("processing_info") or {}
            state = info.get("state", "succeeded")
            if state == "succeeded":
                return {**init, **answer, "id": media_id}
            if state == "failed":
                error = (info.get("error") or {}).get("message") or "no reason given"
                return self._fail(
                    Outcome.RETRYABLE,
                    "media_processing_failed",
                    RootCause.UNKNOWN,
                    f"X could not process the GIF: {error}",
                )
            waited = self.clock.monotonic() - started
            if waited >= self.media_processing_max_s:
                return self._fail(
                    Outcome.RETRYABLE,
                    "media_processing_timeout",
                    RootCause.NETWORK,
                    f"the GIF was still processing after {waited:.0f} s",
                )
            pause = float(info.get("check_after_secs") or 1)
            self.clock.sleep(max(0.05, min(pause, self.media_processing_max_s - waited)))
            status = self._media_call(
                "status", "GET", "/2/media/upload", params={"command": "STATUS", "media_id": media_id}
            )
            if isinstance(status, PublishResult):
                return status
            answer = status

    def _media_call(self, step: str, method: str, path: str, **kwargs: Any) -> dict[str, Any] | PublishResult:
        """One media request; its ``data`` object, or a failure. Nothing is posted by a media call, so
        what would be UNKNOWN for a create is RETRYABLE here."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            return self._fail(
                Outcome.RETRYABLE,
                "media_upload_failed",
                RootCause.NETWORK,
                f"media {step} failed ({type(exc).__name__}): nothing was posted",
            )
        budget = rate_budget(response.headers)
        if budget is not None:
            self.budget = budget
        if 200 <= response.status_code < 300:
            try:
                body = response.json() if response.content else {}
            except ValueError:
                body = {}
            return (body.get("data") if isinstance(body, dict) else None) or {}
        verdict = classify(XError.from_answer(response.status_code, _body(response), response.headers))
        failed = verdict.result(
            message=redact_text(f"media {step}: {verdict.message}", [self._token]), rate_budget=self.budget
        )
        if failed.outcome is not Outcome.REJECTED and failed.outcome is not Outcome.RETRYABLE:
            failed = replace(failed, outcome=Outcome.RETRYABLE)
        return failed

    def _create(self, text: str, reply_to: str | None, media_ids: list[str] | None = None) -> PublishResult:
        body: dict[str, Any] = {"text": text}
        if reply_to:
            body["reply"] = {"in_reply_to_tweet_id": reply_to}
        if media_ids:
            body["media"] = {"media_ids": list(media_ids)}
        try:
            response = self._http.post("/2/tweets", json=body)
        except AuthRefused as exc:  # nothing was sent: the account must sign in again
            return self._fail(Outcome.REJECTED, "auth_refused", RootCause.SESSION, str(exc))
        except AuthError as exc:  # the token endpoint failed or hung: nothing was sent
            return self._fail(Outcome.RETRYABLE, "auth_unavailable", RootCause.NETWORK, str(exc))
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
        now = self.clock.now()
        budget = rate_budget(response.headers, now)
        if budget is not None:
            self.budget = budget
        limits = rate_limits(response.headers, now)  # every answer, success or error: the posting budget
        status = response.status_code
        if 200 <= status < 300:
            try:
                data = response.json().get("data") or {}
            except ValueError:
                data = {}
            tweet_id = data.get("id")
            if tweet_id:
                return PublishResult(
                    Outcome.POSTED, tweet_id=str(tweet_id), tweet_ids=[str(tweet_id)], rate_limits=limits
                )
            return replace(
                self._fail(
                    Outcome.POSTED_NO_ID, "missing_id", RootCause.UNKNOWN, f"HTTP {status} without a post id"
                ),
                rate_limits=limits,
            )
        verdict = classify(XError.from_answer(status, _body(response), response.headers, now))
        return verdict.result(
            message=redact_text(verdict.message, [self._token]), rate_budget=self.budget, rate_limits=limits
        )

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
        except AuthError as exc:
            log.warning("API read %s failed: %s", path, exc)
            return None
        except httpx.HTTPError as exc:
            log.warning("API read %s failed: %s", path, redact_text(str(exc), [self._token]))
            return None
        budget = rate_budget(response.headers, self.clock.now())
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

    def recent_posts(self, limit: int = 50, since: datetime | None = None) -> list[TimelinePost]:
        """GET /2/users/:id/tweets, page after page (``pagination_token``) until ``limit`` posts or the
        last page; with ``since``, X filters by ``start_time`` and the last page proves the read complete
        back to it (``TimelinePosts.complete_since``). A failed page ends the read without that proof."""
        user_id = self.user_id()
        if user_id is None:
            return []
        params: dict[str, Any] = {"tweet.fields": "created_at,referenced_tweets"}
        if since is not None:
            params["start_time"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        posts: list[TimelinePost] = []
        token: str | None = None
        while len(posts) < limit:
            page = {**params, "max_results": max(5, min(100, limit - len(posts)))}
            if token:
                page["pagination_token"] = token
            body = self._get(f"/2/users/{user_id}/tweets", page)
            if body is None:
                return posts[:limit]  # no proof: the read stopped early
            for item in body.get("data") or []:
                parent = next(
                    (r["id"] for r in item.get("referenced_tweets") or [] if r.get("type") == "replied_to"),
                    None,
                )
                created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
                posts.append(TimelinePost(str(item["id"]), item["text"], created, parent))
            token = (body.get("meta") or {}).get("next_token")
            if not token:  # the last page: nothing older (than start_time) exists
                complete = since if since is not None else datetime(1970, 1, 1, tzinfo=UTC)
                return TimelinePosts(posts[:limit], complete if len(posts) <= limit else None)
        return posts[:limit]

    def signed_in_handle(self) -> str | None:
        """The token's user's handle (GET /2/users/me); None when it cannot be read."""
        body = self._get("/2/users/me")
        username = ((body or {}).get("data") or {}).get("username")
        return str(username) if username else None

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
