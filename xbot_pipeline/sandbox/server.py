"""``SandboxServer``: the local X stand-in as a real HTTP server (uvicorn on 127.0.0.1, background thread).

with SandboxServer(tmp_path / "x.sqlite3") as x:
    x.admin.inject("http_500", next_n=1)
    token = x.account("xbot_demo").token
    x.write_storage_state("xbot_demo", session_file)
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from xbot_pipeline.clock import Clock
from xbot_pipeline.private_files import write_private_json
from xbot_pipeline.sandbox.admin_routes import PREFIX, make_admin_routes
from xbot_pipeline.sandbox.api_routes import make_api_routes
from xbot_pipeline.sandbox.behaviour import Limits, Sandbox
from xbot_pipeline.sandbox.media_routes import make_media_routes
from xbot_pipeline.sandbox.oauth_routes import make_oauth_routes
from xbot_pipeline.sandbox.state import Account, SandboxState
from xbot_pipeline.sandbox.web_routes import make_web_routes

DEMO_HANDLE = "xbot_demo"


def build_app(sandbox: Sandbox) -> Starlette:
    routes = [
        *make_admin_routes(sandbox),
        *make_oauth_routes(sandbox, sandbox.oauth),
        *make_api_routes(sandbox),
        *make_media_routes(sandbox),
        *make_web_routes(sandbox),
    ]
    return Starlette(routes=routes)


class SandboxAdmin:
    """An httpx client for the admin endpoints: reset, faults, posts, metrics, sessions."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url + PREFIX, timeout=10)

    def close(self) -> None:
        self._http.close()

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise ValueError(response.json().get("error", response.text))
        return response.json()

    def reset(self) -> None:
        self._ok(self._http.post("/reset"))

    def inject(
        self,
        kind: str,
        *,
        prob: float | None = None,
        next_n: int | None = None,
        account: str | None = None,
        **params: Any,
    ) -> int:
        """Add a fault: ``next_n`` scripted occurrences or a probability ``prob``; ``params`` per kind."""
        body = {"kind": kind, "prob": prob, "next": next_n, "account": account, "params": params}
        return int(self._ok(self._http.post("/faults", json=body))["id"])

    def faults(self) -> list[dict[str, Any]]:
        return self._ok(self._http.get("/faults"))

    def clear_faults(self) -> int:
        return int(self._ok(self._http.delete("/faults"))["cleared"])

    def posts(self, account: str | None = None) -> list[dict[str, Any]]:
        """Every post, newest first: id, author, text, parent_id, created_at, channel, media (each with
        media_id, type, mime, alt_text, sha256, size)."""
        return self._ok(self._http.get("/posts", params={"account": account} if account else None))

    def metrics(self, ids: list[str]) -> dict[str, dict[str, int]]:
        return self._ok(self._http.get("/metrics", params={"ids": ",".join(ids)}))

    def accounts(self) -> list[dict[str, Any]]:
        return self._ok(self._http.get("/accounts"))

    def storage_state(self, handle: str) -> dict[str, Any]:
        return self._ok(self._http.post(f"/session/{handle}"))

    def set_limits(self, **limits: Any) -> dict[str, Any]:
        return self._ok(self._http.post("/limits", json=limits))

    # -- sign-in ----------------------------------------------------------------------------------------
    def oauth_clients(self) -> dict[str, dict[str, Any]]:
        """``{"public": {...}, "confidential": {...}}``: the stand-in's OAuth 2.0 apps."""
        rows = self._ok(self._http.get("/oauth/clients"))
        return {("confidential" if r["confidential"] else "public"): r for r in rows}

    def oauth1_keys(self, handle: str) -> dict[str, str]:
        return self._ok(self._http.get(f"/oauth1/{handle}"))

    def revoke(self, handle: str) -> int:
        return int(self._ok(self._http.post(f"/oauth/revoke/{handle}"))["revoked"])

    def oauth_stats(self) -> dict[str, dict[str, int]]:
        return self._ok(self._http.get("/oauth/stats"))

    def approve(self, authorize_url: str, handle: str) -> str:
        """Click "Authorize app" on the consent page for ``handle``; returns the redirect X sends back
        (``redirect_uri?state=...&code=...``) without following it."""
        parsed = httpx.URL(authorize_url)
        form = {**dict(parsed.params), "handle": handle, "decision": "allow"}
        with httpx.Client(timeout=10) as http:
            answer = http.post(str(parsed.copy_with(query=None)), data=form)
        if answer.status_code != 302:
            raise ValueError(f"the authorize page answered {answer.status_code}: {answer.text[:200]}")
        return answer.headers["location"]


class SandboxServer:
    """The stand-in running in a background thread; a context manager that always stops it."""

    def __init__(
        self,
        state_path: Path | str,
        *,
        port: int = 0,
        clock: Clock | None = None,
        seed: int = 0,
        limits: Limits | None = None,
        log_level: str = "warning",
    ) -> None:
        self.state = SandboxState(state_path, clock=clock, seed=seed)
        self.sandbox = Sandbox(state=self.state, limits=limits or Limits())
        config = uvicorn.Config(
            build_app(self.sandbox),
            host="127.0.0.1",
            port=port,
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=1,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.port = port
        self._admin: SandboxAdmin | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.run, name="xbot-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox server did not start on 127.0.0.1:{self.port}")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.sandbox.stopping = True
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        self.state.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and helpers ----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def web_url(self) -> str:
        return self.base_url

    @property
    def api_url(self) -> str:
        return self.base_url

    @property
    def admin(self) -> SandboxAdmin:
        if self._admin is None:
            self._admin = SandboxAdmin(self.base_url)
        return self._admin

    def account(self, handle: str = DEMO_HANDLE) -> Account:
        account = self.state.account(handle)
        if account is None:
            raise KeyError(f"no sandbox account {handle!r}")
        return account

    def write_storage_state(self, handle: str, path: Path | str) -> Path:
        """Log ``handle`` in (without clicking) and save the cookies as a Playwright storage state (0600)."""
        return write_private_json(self.admin.storage_state(handle), Path(path))


def _not_a_scripted_drop(record: logging.LogRecord) -> bool:
    """The ``drop`` fault aborts connections on purpose: keep its traceback out of the logs."""
    exc = record.exc_info[1] if record.exc_info else None
    return not (isinstance(exc, ConnectionAbortedError) and "sandbox fault" in str(exc))


logging.getLogger("uvicorn.error").addFilter(_not_a_scripted_drop)
