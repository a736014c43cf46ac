"""Admin endpoints (``/_sandbox/...``): reset, faults, posts, metrics, accounts and session cookies.

Only for tests, the demo and the ``xbot sandbox`` command; the server binds to 127.0.0.1 only.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from xbot_pipeline.sandbox.behaviour import Sandbox

PREFIX = "/_sandbox"


def post_json(post: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": post["id"],
        "author": post["handle"],
        "author_id": post["author_id"],
        "text": post["text"],
        "parent_id": post["parent_id"],
        "created_at": post["created_at"].isoformat(),
        "channel": post["channel"],
        "media": post.get("media") or [],
    }


def make_admin_routes(sandbox: Sandbox) -> list[Route]:
    state = sandbox.state

    async def reset(request: Request) -> Response:
        state.reset()
        sandbox.oauth.reset()
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            return JSONResponse({"cleared": state.clear_faults()})
        if request.method == "POST":
            body = json.loads(await request.body() or b"{}")
            try:
                fault = state.add_fault(
                    str(body.get("kind")),
                    prob=body.get("prob"),
                    next_n=body.get("next"),
                    account=body.get("account"),
                    params=body.get("params") or {},
                )
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse({"id": fault.id})
        return JSONResponse([f.__dict__ for f in state.faults()])

    async def posts(request: Request) -> Response:
        handle = request.query_params.get("account")
        account = state.account(handle) if handle else None
        if handle and account is None:
            return JSONResponse({"error": f"unknown account {handle!r}"}, status_code=404)
        return JSONResponse([post_json(p) for p in state.posts(account)])

    async def metrics(request: Request) -> Response:
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        out = {}
        for post_id in ids:
            post = state.post(post_id)
            if post is not None:
                out[post_id] = sandbox.metrics(post)
        return JSONResponse(out)

    async def accounts(request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "handle": a.handle,
                    "user_id": a.user_id,
                    "password": a.password,
                    "token": a.token,
                    "followers": a.followers,
                }
                for a in state.accounts()
            ]
        )

    async def session_state(request: Request) -> Response:
        """A fresh login for an account, as a Playwright storage state (no clicking needed)."""
        account = state.account(request.path_params["handle"])
        if account is None:
            return JSONResponse({"error": "unknown account"}, status_code=404)
        auth_token, ct0 = state.new_session(account)
        host = request.url.hostname or "127.0.0.1"
        cookies = [
            {
                "name": "auth_token",
                "value": auth_token,
                "domain": host,
                "path": "/",
                "expires": -1,
                "httpOnly": True,
                "secure": False,
                "sameSite": "Lax",
            },
            {
                "name": "ct0",
                "value": ct0,
                "domain": host,
                "path": "/",
                "expires": -1,
                "httpOnly": False,
                "secure": False,
                "sameSite": "Lax",
            },
        ]
        return JSONResponse({"cookies": cookies, "origins": []})

    async def limits(request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        for key, value in body.items():
            if hasattr(sandbox.limits, key):
                setattr(sandbox.limits, key, type(getattr(sandbox.limits, key))(value))
        return JSONResponse(sandbox.limits.__dict__)

    async def oauth_clients(request: Request) -> Response:
        """The stand-in's registered apps (a public and a confidential OAuth 2.0 client)."""
        return JSONResponse(
            [
                {"client_id": c.client_id, "client_secret": c.client_secret, "confidential": c.confidential}
                for c in sandbox.oauth.clients()
            ]
        )

    async def oauth1_keys(request: Request) -> Response:
        account = state.account(request.path_params["handle"])
        if account is None:
            return JSONResponse({"error": "unknown account"}, status_code=404)
        return JSONResponse(sandbox.oauth.oauth1_keys(account))

    async def oauth_revoke(request: Request) -> Response:
        """The user revoked the app on X: every token of theirs dies."""
        account = state.account(request.path_params["handle"])
        if account is None:
            return JSONResponse({"error": "unknown account"}, status_code=404)
        return JSONResponse({"revoked": sandbox.oauth.revoke_user(account)})

    async def oauth_stats(request: Request) -> Response:
        return JSONResponse(sandbox.oauth.stats())

    return [
        Route(f"{PREFIX}/oauth/clients", oauth_clients, methods=["GET"]),
        Route(f"{PREFIX}/oauth1/{{handle}}", oauth1_keys, methods=["GET"]),
        Route(f"{PREFIX}/oauth/revoke/{{handle}}", oauth_revoke, methods=["POST"]),
        Route(f"{PREFIX}/oauth/stats", oauth_stats, methods=["GET"]),
        Route(f"{PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{PREFIX}/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{PREFIX}/posts", posts, methods=["GET"]),
        Route(f"{PREFIX}/metrics", metrics, methods=["GET"]),
        Route(f"{PREFIX}/accounts", accounts, methods=["GET"]),
        Route(f"{PREFIX}/session/{{handle}}", session_state, methods=["POST"]),
        Route(f"{PREFIX}/limits", limits, methods=["POST"]),
    ]
