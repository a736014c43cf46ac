"""The local redirect target of ``xbot auth login``: a one-shot HTTP server on 127.0.0.1 that receives
X's redirect (``/callback?state=...&code=...``) and hands the whole URL back. The wait is bounded."""

from __future__ import annotations

import contextlib
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from xbot_pipeline.auth.errors import AuthError

CALLBACK_PATH = "/callback"
DEFAULT_PORT = 8765

_DONE_PAGE = (
    b"<!doctype html><title>xbot</title><h1>Signed in</h1>"
    b"<p>You can close this tab and go back to the terminal.</p>"
)


def port_of(server: Any) -> int:
    return int(server.server_address[1])


class CallbackServer:
    """``with CallbackServer(port) as server: url = server.redirect_uri; ... server.wait(timeout_s)``."""

    def __init__(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> None:
        received: queue.Queue[str] = queue.Queue(maxsize=1)
        self._received = received

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.startswith(CALLBACK_PATH):
                    self.send_error(404)
                    return
                with contextlib.suppress(queue.Full):  # a second redirect (a reload): the first counts
                    received.put_nowait(f"http://{host}:{port_of(self.server)}{self.path}")
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(_DONE_PAGE)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the redirect carries the code: never in a log

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise AuthError(
                f"cannot listen on {host}:{port} for X's redirect ({exc.strerror}); choose another --port "
                "(and register that callback URL on the app) or use --paste"
            ) from None
        self.host = host
        self.port = port_of(self._server)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="xbot-auth-callback", daemon=True
        )

    @property
    def redirect_uri(self) -> str:
        return f"http://{self.host}:{self.port}{CALLBACK_PATH}"

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait(self, timeout_s: float) -> str:
        """The redirect URL X sent the browser to; ``AuthError`` after ``timeout_s`` without one."""
        try:
            return self._received.get(timeout=timeout_s)
        except queue.Empty:
            raise AuthError(
                f"no redirect reached {self.redirect_uri} within {timeout_s:g} s; run the login again "
                "(or use --paste on a machine without a browser)"
            ) from None
