"""X API v2 as the stand-in plays it: ``POST /2/tweets``, ``GET /2/tweets``, ``GET /2/users/...``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from xbot_pipeline.sandbox.behaviour import AUTOMATION_MESSAGE, DUPLICATE_MESSAGE, Sandbox
from xbot_pipeline.sandbox.oauth_routes import oauth1_account
from xbot_pipeline.sandbox.state import Account


class DroppedResponse(Response):
    """Headers and half a body, then the connection is cut: the client never learns the outcome."""

    def __init__(self, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status_code, headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"data": {"i', "more_body": True})
        raise ConnectionAbortedError("sandbox fault: connection dropped after the post was created")


def _problem(status: int, title: str, detail: str, headers: dict[str, str], **extra: Any) -> JSONResponse:
    body = {"title": title, "detail": detail, "type": "about:blank", "status": status, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def _account(sandbox: Sandbox, request: Request) -> Account | None:
    """The caller: a static bearer token, a live (unexpired) OAuth 2.0 access token, or an OAuth 1.0a
    request whose HMAC-SHA1 signature verifies; None otherwise (X answers 401)."""
    auth = request.headers.get("authorization", "")
    if auth.startswith("OAuth "):
        return oauth1_account(sandbox, sandbox.oauth, request, b"")
    if not auth.lower().startswith("bearer "):
        return None
    token = auth[7:].strip()
    account = sandbox.state.account_by_token(token)
    if account is not None:
        return account
    user_id, expired = sandbox.oauth.account_for_access_token(token)
    if user_id is None or expired:
        return None
    return sandbox.state.account(user_id)


def _unauthorized() -> JSONResponse:
    return _problem(401, "Unauthorized", "Unauthorized", {})


def _auth(sandbox: Sandbox, request: Request) -> Account | None:
    account = _account(sandbox, request)
    if account is None or sandbox.state.take_fault(("session_expired",), account):
        return None
    return account


def _tweet_json(sandbox: Sandbox, post: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": post["id"], "text": post["text"], "edit_history_tweet_ids": [post["id"]]}
    if "created_at" in fields:
        data["created_at"] = post["created_at"].strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if "author_id" in fields:
        data["author_id"] = post["author_id"]
    if "public_metrics" in fields:
        m = sandbox.metrics(post)
        data["public_metrics"] = {
            "retweet_count": m["reposts"],
            "reply_count": m["replies"],
            "like_count": m["likes"],
            "quote_count": m["quotes"],
            "bookmark_count": m["bookmarks"],
            "impression_count": m["impressions"],
        }
    if post.get("media"):
        data["attachments"] = {"media_keys": [m["media_key"] for m in post["media"]]}
    if post.get("parent_id") and ("referenced_tweets" in fields or "in_reply_to_user_id" in fields):
        data["referenced_tweets"] = [{"type": "replied_to", "id": post["parent_id"]}]
    return data


def make_api_routes(sandbox: Sandbox) -> list[Route]:
    async def create_tweet(request: Request) -> Response:
        account = _auth(sandbox, request)
        if account is None:
            return _unauthorized()
        try:
            body = json.loads(await request.body() or b"{}")
            text = body["text"]
            if not isinstance(text, str) or not text.strip():
                raise ValueError
        except (ValueError, KeyError, TypeError):
            headers, _ = sandbox.rate_headers(account, "create", count=False)
            return _problem(
                400, "Invalid Request", "One or more parameters to your request was invalid.", headers
            )
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        media = body.get("media") or {}
        media_ids = [str(m) for m in media.get("media_ids") or []] if isinstance(media, dict) else []
        decision = sandbox.attempt_create(
            account, text, str(reply_to) if reply_to else None, "api", media_ids or None
        )
        headers = decision.headers
        if decision.kind == "rate_limit":
            return _problem(
                429,
                "Too Many Requests",
                "Too Many Requests",
                headers,
                errors=[{"code": 88, "message": "Rate limit exceeded"}],
            )
        if decision.kind == "http_500":
            return _problem(500, "Internal Server Error", "Internal Server Error", headers)
        if decision.kind == "hang":
            await sandbox.sleep_unless_stopping(
                float((decision.fault.params if decision.fault else {}).get("seconds", sandbox.limits.hang_s))
            )
            return _problem(503, "Service Unavailable", "Service Unavailable", headers)
        if decision.kind == "duplicate":
            return _problem(403, "Forbidden", DUPLICATE_MESSAGE, headers)
        if decision.kind == "automation":
            return _problem(
                403,
                "Forbidden",
                AUTOMATION_MESSAGE,
                headers,
                errors=[{"code": 226, "message": AUTOMATION_MESSAGE}],
            )
        if decision.kind == "bad_reply":
            return _problem(400, "Invalid Request", "The post you are replying to does not exist.", headers)
        if decision.kind == "bad_media":
            detail = f"Your media IDs are invalid: {decision.reason}."
            return _problem(400, "Invalid Request", detail, headers, errors=[{"message": detail}])
        assert decision.post is not None
        if decision.kind == "drop":
            return DroppedResponse(201, headers)
        if decision.kind == "missing_id":
            return JSONResponse({"data": {"text": text}}, status_code=201, headers=headers)
        return JSONResponse(
            {
                "data": {
                    "id": decision.post["id"],
                    "text": text,
                    "edit_history_tweet_ids": [decision.post["id"]],
                }
            },
            status_code=201,
            headers=headers,
        )

    async def lookup_tweets(request: Request) -> Response:
        account = _auth(sandbox, request)
        if account is None:
            return _unauthorized()
        headers, over = sandbox.rate_headers(account, "read", count=True)
        if over:
            return _problem(429, "Too Many Requests", "Too Many Requests", headers)
        ids = [i for i in request.query_params.get("ids", "").split(",") if i.strip()]
        if not ids or len(ids) > 100:
            return _problem(400, "Invalid Request", "ids must name 1 to 100 posts", headers)
        fields = set(request.query_params.get("tweet.fields", "").split(","))
        found, errors = [], []
        for post_id in ids:
            post = sandbox.state.post(post_id.strip())
            if post is None:
                errors.append(
                    {
                        "value": post_id,
                        "detail": f"Could not find tweet with ids: [{post_id}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "ids",
                    }
                )
            else:
                found.append(_tweet_json(sandbox, post, fields))
        body: dict[str, Any] = {"data": found} if found else {}
        if "attachments.media_keys" in request.query_params.get("expansions", ""):
            media = [
                {"media_key": m["media_key"], "type": m["type"], "alt_text": m["alt_text"]}
                for post_id in ids
                for m in (sandbox.state.post(post_id.strip()) or {}).get("media") or []
            ]
            if media:
                body["includes"] = {"media": media}
        if errors:
            body["errors"] = errors
        return JSONResponse(body, headers=headers)

    async def user_tweets(request: Request) -> Response:
        account = _auth(sandbox, request)
        if account is None:
            return _unauthorized()
        headers, over = sandbox.rate_headers(account, "read", count=True)
        if over:
            return _problem(429, "Too Many Requests", "Too Many Requests", headers)
        user = sandbox.state.account(request.path_params["user_id"])
        if user is None:
            return _problem(404, "Not Found Error", "Could not find user", headers)
        try:
            limit = max(5, min(100, int(request.query_params.get("max_results", "10"))))
        except ValueError:
            return _problem(400, "Invalid Request", "max_results must be a number", headers)
        fields = set(request.query_params.get("tweet.fields", "").split(",")) | {"referenced_tweets"}
        try:  # X's paging: start_time filters, pagination_token is the previous page's next_token
            start = request.query_params.get("start_time")
            since = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
            offset = int(request.query_params.get("pagination_token") or 0)
            if since is not None and since.tzinfo is None:
                raise ValueError("start_time needs a time zone")
        except ValueError:
            return _problem(400, "Invalid Request", "bad start_time or pagination_token", headers)
        everything = [
            p for p in sandbox.state.posts(user, timeline=True) if since is None or p["created_at"] >= since
        ]
        posts = everything[offset : offset + limit]
        body: dict[str, Any] = {"data": [_tweet_json(sandbox, p, fields) for p in posts]} if posts else {}
        body["meta"] = {"result_count": len(posts)}
        if posts:
            body["meta"].update({"newest_id": posts[0]["id"], "oldest_id": posts[-1]["id"]})
        if offset + limit < len(everything):
            body["meta"]["next_token"] = str(offset + limit)
        return JSONResponse(body, headers=headers)

    async def users_me(request: Request) -> Response:
        account = _auth(sandbox, request)
        if account is None:
            return _unauthorized()
        data: dict[str, Any] = {"id": account.user_id, "name": account.handle, "username": account.handle}
        if "public_metrics" in request.query_params.get("user.fields", ""):
            data["public_metrics"] = {
                "followers_count": account.followers,
                "following_count": 0,
                "tweet_count": sandbox.state.post_count(account),
                "listed_count": 0,
            }
        return JSONResponse({"data": data})

    return [
        Route("/2/tweets", create_tweet, methods=["POST"]),
        Route("/2/tweets", lookup_tweets, methods=["GET"]),
        Route("/2/users/me", users_me, methods=["GET"]),
        Route("/2/users/{user_id}/tweets", user_tweets, methods=["GET"]),
    ]
