"""X's sign-in endpoints as the stand-in serves them: the authorize page (``/i/oauth2/authorize``), the
token endpoint (``/2/oauth2/token``: authorization_code with PKCE S256, rotating refresh tokens) and
revocation (``/2/oauth2/revoke``); plus OAuth 1.0a request verification for the API routes."""

from __future__ import annotations

import base64
import hmac
import html
import time
from urllib.parse import parse_qsl, urlencode
from urllib.request import parse_http_list, parse_keqv_list

from authlib.oauth1.rfc5849.signature import construct_base_string, hmac_sha1_signature
from authlib.oauth1.rfc5849.util import unescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from xbot_pipeline.sandbox.behaviour import Sandbox
from xbot_pipeline.sandbox.oauth import OAuthRefusal, OAuthState
from xbot_pipeline.sandbox.state import TOKEN_FAULTS, Account

AUTHORIZE_PATH = "/i/oauth2/authorize"
TOKEN_PATH = "/2/oauth2/token"
OAUTH1_SKEW_S = 300


def _error(refusal: OAuthRefusal) -> JSONResponse:
    return JSONResponse(
        {"error": refusal.error, "error_description": refusal.description}, status_code=refusal.status
    )


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except ValueError:
        return None
    return user, password


def _page(params: dict[str, str], handles: list[str], error: str | None = None) -> HTMLResponse:
    if error:
        return HTMLResponse(f"<h1>Something went wrong</h1><p id='error'>{html.escape(error)}</p>", 400)
    hidden = "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>" for k, v in params.items()
    )
    options = "".join(f"<option value='{html.escape(h)}'>@{html.escape(h)}</option>" for h in handles)
    body = (
        "<h1>Authorize app</h1>"
        f"<p>The app wants: {html.escape(params.get('scope', ''))}</p>"
        f"<form method='post' action='{AUTHORIZE_PATH}'>{hidden}"
        f"<select name='handle' data-testid='handle'>{options}</select>"
        "<button name='decision' value='allow' data-testid='OAuth_Consent_Button'>Authorize app</button>"
        "<button name='decision' value='deny'>Cancel</button></form>"
    )
    return HTMLResponse(body)


def _redirect(redirect_uri: str, **params: str) -> RedirectResponse:
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{sep}{urlencode(params)}", status_code=302)


def make_oauth_routes(sandbox: Sandbox, oauth: OAuthState) -> list[Route]:
    async def authorize(request: Request) -> Response:
        if request.method == "POST":
            params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        else:
            params = dict(request.query_params)
        handle = params.pop("handle", None) or sandbox.limits.oauth_auto_approve or None
        decision = params.pop("decision", "allow" if sandbox.limits.oauth_auto_approve else None)
        try:
            oauth.check_authorize(params)
        except OAuthRefusal as exc:
            return _page(params, [], exc.description)
        if decision is None or handle is None:  # X's consent page: the user picks allow or cancel
            return _page(params, [a.handle for a in sandbox.state.accounts()])
        if decision != "allow":
            return _redirect(params["redirect_uri"], error="access_denied", state=params["state"])
        account = sandbox.state.account(handle)
        if account is None:
            return _page(params, [], f"unknown account {handle!r}")
        code = oauth.issue_code(params, account, sandbox.limits.code_s)
        return _redirect(params["redirect_uri"], state=params["state"], code=code)

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        try:
            client = oauth.authenticate(form, _basic(request))
            grant = form.get("grant_type")
            account = _refresh_account(oauth, form) if grant == "refresh_token" else None
            fault = sandbox.state.take_fault(TOKEN_FAULTS, account)
            if fault is not None and fault.kind == "token_500":
                return JSONResponse({"title": "Internal Server Error", "status": 500}, status_code=500)
            if fault is not None and fault.kind == "token_hang":
                await sandbox.sleep_unless_stopping(float(fault.params.get("seconds", sandbox.limits.hang_s)))
                return JSONResponse({"title": "Service Unavailable", "status": 503}, status_code=503)
            if grant == "authorization_code":
                answer = oauth.exchange_code(client, form, sandbox.limits.access_token_s)
            elif grant == "refresh_token":
                answer = oauth.refresh(client, form, sandbox.limits.access_token_s)
            else:
                raise OAuthRefusal("unsupported_grant_type", f"grant_type {grant!r} is not supported")
        except OAuthRefusal as exc:
            return _error(exc)
        return JSONResponse(answer, headers={"cache-control": "no-store", "pragma": "no-cache"})

    async def revoke(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        try:
            oauth.authenticate(form, _basic(request))
        except OAuthRefusal as exc:
            return _error(exc)
        oauth.revoke_token(form.get("token", ""))
        return JSONResponse({"revoked": True})

    return [
        Route(AUTHORIZE_PATH, authorize, methods=["GET", "POST"]),
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route("/2/oauth2/revoke", revoke, methods=["POST"]),
    ]


def _refresh_account(oauth: OAuthState, form: dict[str, str]) -> Account | None:
    rows = oauth.state.sql(
        "SELECT user_id FROM oauth_tokens WHERE token = ? AND kind = 'refresh'",
        (form.get("refresh_token", ""),),
    )
    return oauth.state.account(rows[0][0]) if rows else None


def oauth1_account(sandbox: Sandbox, oauth: OAuthState, request: Request, body: bytes) -> Account | None:
    """The account an ``Authorization: OAuth ...`` request is signed for; None when the signature, the
    consumer, the token or the timestamp is wrong (X answers 401). Form bodies are not signed here: the
    API's bodies are JSON, which OAuth 1.0a leaves out of the signature."""
    header = request.headers.get("authorization", "")
    try:
        items = parse_keqv_list(parse_http_list(header[len("OAuth ") :]))
        params = {unescape(k): unescape(v) for k, v in items.items()}
        timestamp = int(params.get("oauth_timestamp", "0"))
    except (ValueError, IndexError):
        return None
    consumer_secret = oauth.consumer_secret(params.get("oauth_consumer_key", ""))
    found = oauth.oauth1_token(params.get("oauth_token", ""))
    if consumer_secret is None or found is None or params.get("oauth_signature_method") != "HMAC-SHA1":
        return None
    if abs(time.time() - timestamp) > OAUTH1_SKEW_S:
        return None
    user_id, token_secret = found
    signed = [*parse_qsl(request.url.query, keep_blank_values=True), *params.items()]
    base = construct_base_string(request.method, str(request.url), signed)
    if not hmac.compare_digest(
        hmac_sha1_signature(base, consumer_secret, token_secret), params.get("oauth_signature", "")
    ):
        return None
    return sandbox.state.account(user_id)
