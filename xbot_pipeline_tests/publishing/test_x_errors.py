"""The one classifier of X's errors: codes and statuses decide, text only when there is no code."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from xbot_pipeline.publishing.api import ApiPublisher
from xbot_pipeline.publishing.base import Outcome, PostRequest, RootCause
from xbot_pipeline.publishing.x_errors import XError, classify

RESET = 1_900_000_000


class CannedX:
    """A real HTTP server answering every request with one canned X answer (what the stand-in cannot say)."""

    def __init__(self) -> None:
        self.answer: tuple[int, Any] = (200, {})
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, body = canned.answer
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("x-rate-limit-reset", str(RESET))
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def canned() -> Iterator[CannedX]:
    server = CannedX()
    yield server
    server.close()


def publish_against(canned: CannedX, status: int, body: Any) -> Any:
    canned.answer = (status, body)
    with ApiPublisher(canned.url, "canned-token", timeout_s=5) as api:
        return api.publish(PostRequest("single", ["hello"]))


def test_a_5xx_mentioning_226_in_an_id_stays_retryable(canned: CannedX) -> None:
    """The old API copy read ``"226" in detail`` before the 5xx branch: a 6-hour cool-down for an id."""
    body = {"title": "Service Unavailable", "detail": "post 12260001 could not be created", "status": 503}
    result = publish_against(canned, 503, body)
    assert (result.outcome, result.error_type, result.root_cause) == (
        Outcome.RETRYABLE,
        "http_503",
        RootCause.NETWORK,
    )


def test_a_403_carrying_code_226_is_the_automation_block(canned: CannedX) -> None:
    body = {
        "title": "Forbidden",
        "detail": "Forbidden",
        "type": "about:blank",
        "status": 403,
        "errors": [{"code": 226, "message": "This request looks like it might be automated."}],
    }
    result = publish_against(canned, 403, body)
    assert (result.outcome, result.error_type, result.root_cause) == (
        Outcome.REJECTED,
        "automation_block",
        RootCause.AUTOMATION_BLOCK,
    )


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # a 400 whose text holds the digits 226 (a length) is an ordinary rejection
        (400, {"title": "Invalid Request", "detail": "text is 2260 characters"}, ("rejected", "http_400")),
        # v2 duplicate: no code, only the words
        (
            403,
            {"title": "Forbidden", "detail": "You are not allowed to create a Tweet with duplicate content."},
            ("rejected", "duplicate_content"),
        ),
        # the web client's GraphQL: 200 with errors[]
        (
            200,
            {"errors": [{"code": 187, "message": "Status is a duplicate."}]},
            ("rejected", "duplicate_content"),
        ),
        (200, {"errors": [{"code": 226, "message": "automated"}]}, ("rejected", "automation_block")),
        (401, {"title": "Unauthorized", "detail": "Unauthorized"}, ("rejected", "unauthorized")),
        (
            401,
            {"errors": [{"code": 32, "message": "Could not authenticate you."}]},
            ("rejected", "session_expired"),
        ),
        (500, {"errors": [{"code": 131, "message": "Internal error"}]}, ("retryable", "http_500")),
        (502, "<html>Bad Gateway</html>", ("retryable", "http_502")),
        (429, {"title": "Too Many Requests", "errors": [{"code": 88}]}, ("retryable", "rate_limited")),
        (
            403,
            {"errors": [{"code": 185, "message": "User is over daily status update limit."}]},
            ("retryable", "rate_limited"),
        ),
        # a code decides: "automated" in the words of another code is not the automation block
        (
            403,
            {"errors": [{"code": 261, "message": "automated apps may not write"}]},
            ("rejected", "http_403"),
        ),
        # no code at all: the words are the fallback
        (
            403,
            {"title": "Forbidden", "detail": "looks like it might be automated"},
            ("rejected", "automation_block"),
        ),
    ],
)
def test_classify_x_answers(status: int, body: Any, expected: tuple[str, str]) -> None:
    verdict = classify(XError.from_answer(status, body, {"x-rate-limit-reset": str(RESET)}))
    assert (verdict.outcome.value, verdict.error_type) == expected, verdict.message


def test_rate_limit_waits_until_the_reset_and_names_the_code() -> None:
    verdict = classify(
        XError.from_answer(
            429,
            {"errors": [{"code": 88, "message": "Rate limit exceeded"}]},
            {
                "x-rate-limit-reset": str(RESET),
            },
        )
    )
    assert verdict.root_cause is RootCause.RATE_LIMIT
    assert verdict.retry_after == datetime.fromtimestamp(RESET, tz=UTC)
    assert "code 88" in verdict.message


def test_duplicate_says_reconcile() -> None:
    verdict = classify(
        XError.from_answer(200, {"errors": [{"code": 187, "message": "Status is a duplicate."}]})
    )
    assert verdict.root_cause is RootCause.DUPLICATE
    assert "maybe already posted: reconcile" in verdict.message
