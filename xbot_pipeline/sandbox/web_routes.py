"""The stand-in's web page: login, /home, /compose/post, status pages, profiles and GraphQL CreateTweet."""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from xbot_pipeline.sandbox.api_routes import DroppedResponse
from xbot_pipeline.sandbox.behaviour import AUTOMATION_MESSAGE, Sandbox
from xbot_pipeline.sandbox.pages import article, composer, shell, tweet_detail
from xbot_pipeline.sandbox.state import Account

LOGIN_PATH = "/i/flow/login"
TWEET_DETAIL_HASH = "nBS-WpgA6ZG0CyNHD517JQ"  # X's web client loads a status page's post through this query


def _gql_error(
    code: int, message: str, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "code": code, "kind": "Operational"}]}, status, headers
    )


PROFILE_BATCH = 5  # articles a profile renders before (and per) scroll, like X
PROFILE_MAX = 400
EMPTY_PROFILE = '<div data-testid="emptyState"><span>@{handle} hasn’t posted</span></div>'


def make_web_routes(sandbox: Sandbox) -> list[Route]:
    state = sandbox.state

    def session(request: Request) -> tuple[Account, str] | None:
        return state.session_account(request.cookies.get("auth_token"))

    def page(
        request: Request, title: str, body_fn: Any, *, extra: str = "", focal: str | None = None
    ) -> Response:
        """Render a logged-in page, applying the page faults (expiry, consent, layout, slow button)."""
        found = session(request)
        if found is None:
            return RedirectResponse(LOGIN_PATH, status_code=302)
        account, _ = found
        if state.take_fault(("session_expired",), account):
            return RedirectResponse(LOGIN_PATH, status_code=302)
        consent = state.take_fault(("consent",), account)
        layout = state.take_fault(("alt_layout",), account)
        alt = layout is not None
        reply_ui = not (layout and layout.params.get("no_reply"))  # alt layout without reply buttons
        slow = state.take_fault(("slow_button",), account)
        cfg = {
            "handle": account.handle,
            "gqlHash": sandbox.graphql_hash,
            "slowButtonMs": int(float(slow.params.get("seconds", 1.5)) * 1000) if slow else 0,
            "consentSticky": bool(consent and consent.params.get("sticky")),
            "toastMs": 4000,
        }
        if focal:  # a status page: its script asks TweetDetail for the post, as X's web client does
            cfg.update({"focalTweetId": focal, "detailHash": TWEET_DETAIL_HASH})
        nav = (
            f'<nav role="navigation"><a href="/home" data-testid="AppTabBar_Home_Link">Home</a> '
            f'<a href="/{escape(account.handle)}" data-testid="AppTabBar_Profile_Link">Profile</a> '
            f'<a href="/compose/post" data-testid="SideNav_NewTweet_Button">Post</a></nav>'
        )
        return HTMLResponse(
            shell(
                title,
                nav + body_fn(account, alt, reply_ui),
                cfg=cfg,
                consent=consent is not None,
                extra=extra,
            )
        )

    async def login_page(request: Request) -> Response:
        error = request.query_params.get("error")
        note = '<p role="alert">Wrong username or password.</p>' if error else ""
        body = (
            f"<h1>Sign in to X</h1>{note}<form method=post action={LOGIN_PATH}>"
            '<input name=username autocomplete=username aria-label="Phone, email, or username">'
            '<input name=password type=password autocomplete=current-password aria-label="Password">'
            '<button type=submit data-testid="loginButton">Log in</button></form>'
        )
        return HTMLResponse(
            f"<!doctype html><html><head><title>Log in / X</title></head><body>{body}</body></html>"
        )

    async def login_submit(request: Request) -> Response:
        # parsed by hand: Starlette's form parser needs python-multipart, which we do not pin
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        account = state.account(form.get("username", "").lstrip("@"))
        if account is None or account.password != form.get("password"):
            return RedirectResponse(f"{LOGIN_PATH}?error=1", status_code=303)
        auth_token, ct0 = state.new_session(account)
        response = RedirectResponse("/home", status_code=303)
        response.set_cookie("auth_token", auth_token, httponly=True, samesite="lax", max_age=365 * 86400)
        response.set_cookie("ct0", ct0, samesite="lax", max_age=365 * 86400)
        return response

    async def home(request: Request) -> Response:
        def body(account: Account, alt: bool, reply_ui: bool) -> str:
            posts = "".join(article(p, None) for p in state.posts(account, limit=10, timeline=True))
            timeline = f'<section aria-label="Timeline">{posts}</section>'
            return f"<h2>Home</h2>{composer('tweetButtonInline', alt=alt)}{timeline}"

        return page(request, "Home", body)

    async def compose(request: Request) -> Response:
        def body(account: Account, alt: bool, reply_ui: bool) -> str:
            inner = composer("tweetButton", alt=alt, thread=True)
            return f'<div role="dialog" aria-modal="true" aria-label="Compose">{inner}</div>'

        return page(request, "Compose", body)

    async def profile(request: Request) -> Response:
        user = state.account(request.path_params["handle"])
        if user is None:
            return HTMLResponse("<h1>This account doesn’t exist</h1>", status_code=404)

        def body(account: Account, alt: bool, reply_ui: bool) -> str:
            rendered = [
                article(p, sandbox.metrics(p), reply_ui=reply_ui)
                for p in state.posts(user, limit=PROFILE_MAX, timeline=True)
            ]
            # the first batch is in the page; each later one waits in a template until a scroll
            batches = [
                "".join(rendered[i : i + PROFILE_BATCH]) for i in range(0, len(rendered), PROFILE_BATCH)
            ]
            posts = (batches[0] if batches else EMPTY_PROFILE.format(handle=escape(user.handle))) + "".join(
                f"<template data-more>{b}</template>" for b in batches[1:]
            )
            return (
                f'<h2 data-testid="UserName">@{escape(user.handle)}</h2>'
                f'<a href="/{escape(user.handle)}/verified_followers">'
                f"<span>{user.followers}</span> Followers</a>"
                f'<section data-infinite aria-label="Timeline: {escape(user.handle)}’s posts">'
                f"{posts}</section>"
            )

        return page(request, user.handle, body)

    async def status(request: Request) -> Response:
        post = state.post(str(request.path_params["post_id"]))
        if post is None or post["handle"].lower() != request.path_params["handle"].lower():
            return HTMLResponse("<h1>Hmm...this page doesn’t exist.</h1>", status_code=404)
        replies = [p for p in reversed(state.posts(None, limit=5000)) if p["parent_id"] == post["id"]]

        def body(account: Account, alt: bool, reply_ui: bool) -> str:
            inner = composer("tweetButton", alt=True) if alt else composer("tweetButton", alt=False)
            template_html = f'<template id="reply-template">{inner}</template>'
            shown = [post, *replies]
            return (
                '<section aria-label="Conversation">'
                + "".join(article(p, sandbox.metrics(p), reply_ui=reply_ui) for p in shown)
                + f"</section>{template_html}"
            )

        return page(request, "Post", body, focal=post["id"])

    async def tweet_detail_gql(request: Request) -> Response:
        """X's ``TweetDetail`` query, focal post only: its counts sit in ``legacy`` (with ``quote_count``,
        which X's status page does not print) and ``views``."""
        if session(request) is None:
            return _gql_error(32, "Could not authenticate you.", 401)
        try:
            focal = str(json.loads(request.query_params.get("variables", "{}"))["focalTweetId"])
        except (ValueError, KeyError, TypeError):
            return _gql_error(214, "Bad request.", 400)
        post = state.post(focal)
        if post is None:
            return JSONResponse(
                {"data": {}, "errors": [{"message": "_Missing: No status found", "code": 144}]}
            )
        return JSONResponse(tweet_detail(post, sandbox.metrics(post)))

    async def create_tweet_gql(request: Request) -> Response:
        found = session(request)
        if found is None:
            return _gql_error(32, "Could not authenticate you.", 401)
        account, ct0 = found
        if request.headers.get("x-csrf-token") != ct0:
            return _gql_error(353, "This request requires a matching csrf cookie and header.", 403)
        try:
            variables = json.loads(await request.body())["variables"]
            text = variables["tweet_text"]
        except (ValueError, KeyError, TypeError):
            return _gql_error(214, "Bad request.", 400)
        reply_to = (variables.get("reply") or {}).get("in_reply_to_tweet_id")
        entities = (variables.get("media") or {}).get("media_entities") or []
        media_ids = [str(e.get("media_id")) for e in entities if isinstance(e, dict)]
        decision = sandbox.attempt_create(
            account, text, str(reply_to) if reply_to else None, "web", media_ids or None
        )
        if decision.kind == "rate_limit":
            return _gql_error(88, "Rate limit exceeded", 429, decision.headers)
        if decision.kind == "http_500":
            return JSONResponse({"errors": [{"message": "Internal error", "code": 131}]}, 500)
        if decision.kind == "hang":
            params = decision.fault.params if decision.fault else {}
            await sandbox.sleep_unless_stopping(float(params.get("seconds", sandbox.limits.hang_s)))
            return _gql_error(130, "Over capacity", 503)
        if decision.kind == "duplicate":
            return _gql_error(187, "Status is a duplicate.")
        if decision.kind == "automation":
            return _gql_error(226, AUTOMATION_MESSAGE)
        if decision.kind == "bad_media":
            return _gql_error(324, f"The media ids are invalid: {decision.reason}.")
        if decision.kind == "bad_reply":
            return _gql_error(385, "You attempted to reply to a Tweet that is deleted or not visible to you.")
        assert decision.post is not None
        if decision.kind == "drop":
            return DroppedResponse(200)
        result: dict[str, Any] = {}
        if decision.kind != "missing_id":
            result = {
                "result": {
                    "rest_id": decision.post["id"],
                    "legacy": {"full_text": text, "in_reply_to_status_id_str": decision.post["parent_id"]},
                }
            }
        return JSONResponse({"data": {"create_tweet": {"tweet_results": result}}})

    async def status_by_id(request: Request) -> Response:
        post = state.post(str(request.path_params["post_id"]))
        if post is None:
            return HTMLResponse("<h1>Hmm...this page doesn’t exist.</h1>", status_code=404)
        return RedirectResponse(f"/{post['handle']}/status/{post['id']}", status_code=302)

    async def root(request: Request) -> Response:
        return RedirectResponse("/home" if session(request) else LOGIN_PATH, status_code=302)

    return [
        Route("/", root),
        Route(LOGIN_PATH, login_page, methods=["GET"]),
        Route(LOGIN_PATH, login_submit, methods=["POST"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/home", home),
        Route("/compose/post", compose),
        Route("/i/api/graphql/{query_hash}/CreateTweet", create_tweet_gql, methods=["POST"]),
        Route("/i/api/graphql/{query_hash}/TweetDetail", tweet_detail_gql),
        Route("/i/status/{post_id}", status_by_id),
        Route("/{handle}/status/{post_id}", status),
        Route("/{handle}", profile),
    ]
