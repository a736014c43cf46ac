"""X's error answers, classified in one place: what an answer from X means for the post and the account.

Both publishers (the API's JSON answers and the web page's GraphQL answers) call ``classify``; posting
and recovery act on the verdict's ``RootCause``. The decision comes from the structured parts first:
X's numeric error codes (``errors[].code``, as v1.1 and the web client's GraphQL send them) and the HTTP
status. Words in the text decide only when the answer carries no code at all (X API v2 "problem"
answers, ``{"title", "detail", "type", "status"}``, carry none: the duplicate-content 403 is one).
Digits inside the text (an id, a length) never decide anything.

Codes (X's documented error index): 88 rate limit exceeded and 185 over the daily post limit (wait for
the reset); 187 duplicate status (maybe already posted: reconcile); 226 "looks like it might be
automated" (cool the account down); 32 could not authenticate, 89 invalid or expired token and 353 the
web client's CSRF mismatch (the session is gone); 130 over capacity and 131 internal error (X failed:
retry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from xbot_pipeline.publishing.base import (
    Outcome,
    PublishResult,
    RateBudget,
    RateLimits,
    RateWindow,
    RootCause,
)

RATE_LIMIT_CODES = frozenset({88, 185})
AUTOMATION_CODES = frozenset({226})
DUPLICATE_CODES = frozenset({187})
SESSION_CODES = frozenset({32, 89, 353})
SERVER_CODES = frozenset({130, 131})


MAX_RESET_AHEAD = timedelta(hours=25)  # X's longest window is 24 h: a reset further out is not believed
MAX_COUNT = 10**9  # no X limit comes near this: a larger count is garbage
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last second a datetime holds
WINDOWS = {"window": "x-rate-limit", "user_24h": "x-user-limit-24hour", "app_24h": "x-app-limit-24hour"}


def _whole(headers: Mapping[str, str], name: str, most: int) -> int | None:
    """A header as a whole number 0..``most``, else None (missing, non-numeric, negative, too big)."""
    raw = headers.get(name)
    if raw is None:
        return None
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        return None
    value = int(text)
    return value if value <= most else None


def _count(headers: Mapping[str, str], name: str) -> int | None:
    return _whole(headers, name, MAX_COUNT)


def _reset(headers: Mapping[str, str], name: str, now: datetime | None) -> datetime | None:
    """A reset header (Unix seconds) as a time; with ``now``, only a reset in (now, now + 25 h]."""
    seconds = _whole(headers, name, MAX_EPOCH)
    if seconds is None:
        return None
    try:
        when = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    if now is not None and not now < when <= now + MAX_RESET_AHEAD:
        return None
    return when


def _window(headers: Mapping[str, str], prefix: str, now: datetime | None) -> RateWindow | None:
    limit = _count(headers, f"{prefix}-limit")
    remaining = _count(headers, f"{prefix}-remaining")
    if limit is not None and remaining is not None and remaining > limit:
        remaining = None  # more left than the limit: not believable
    reset_at = _reset(headers, f"{prefix}-reset", now)
    if limit is None and remaining is None and reset_at is None:
        return None
    return RateWindow(limit, remaining, reset_at)


def rate_limits(headers: Mapping[str, str] | None, now: datetime | None = None) -> RateLimits | None:
    """Every rate-limit window in an answer's headers (names in any case). Hostile values are dropped
    one by one: missing, non-numeric, negative or huge counts, remaining above the limit and, given
    ``now``, a reset in the past or more than 25 h ahead. None when no window is left."""
    if headers is None:
        return None
    lowered = {str(k).lower(): v for k, v in headers.items()}
    found = {field: _window(lowered, prefix, now) for field, prefix in WINDOWS.items()}
    if not any(found.values()):
        return None
    return RateLimits(**found)


def rate_budget(headers: Mapping[str, str], now: datetime | None = None) -> RateBudget | None:
    """The tightest window of ``rate_limits``: the one with the fewest left (the 15-minute one on a tie)."""
    limits = rate_limits(headers, now)
    if limits is None:
        return None
    windows = [w for w in (limits.window, limits.user_24h, limits.app_24h) if w is not None]
    known = [w for w in windows if w.remaining is not None]
    chosen = min(known, key=lambda w: w.remaining or 0) if known else windows[0]
    return RateBudget(limit=chosen.limit, remaining=chosen.remaining, reset_at=chosen.reset_at)


def rate_limit_reset(limits: RateLimits | None) -> datetime | None:
    """When a 429 ends: the latest reset of a spent window (a spent 24-hour cap outlasts the 15-minute
    window), else the 15-minute window's reset."""
    if limits is None:
        return None
    spent = limits.exhausted_until()
    if spent is not None:
        return spent
    return limits.window.reset_at if limits.window else None


def _code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


@dataclass(frozen=True)
class XError:
    """One error answer from X, as structured as it came."""

    status: int  # HTTP status (the web client's GraphQL may answer 200 with ``errors``)
    codes: tuple[int, ...] = ()  # X's error codes, in the order given
    text: str = ""  # the human text: v2 ``detail``/``title`` and every ``errors[].message``
    reset_at: datetime | None = None  # when the rate limit resets (from the headers)

    @classmethod
    def from_answer(
        cls,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
        now: datetime | None = None,
    ) -> XError:
        """Read an answer's parsed JSON body (a non-JSON answer: its text, as a ``str``); ``now`` lets
        the headers' resets be checked (see ``rate_limits``)."""
        raw = body[:300] if isinstance(body, str) else ""
        body = body if isinstance(body, Mapping) else {}
        errors = [e for e in body.get("errors") or [] if isinstance(e, Mapping)]
        codes = tuple(c for c in (_code(e.get("code")) for e in errors) if c is not None)
        texts = [raw, str(body.get("detail") or body.get("title") or "")]
        texts += [str(e.get("message") or e.get("detail") or "") for e in errors]
        return cls(
            status=status,
            codes=codes,
            text="; ".join(dict.fromkeys(t for t in texts if t))[:500],
            reset_at=rate_limit_reset(rate_limits(headers, now)),
        )


@dataclass(frozen=True)
class Verdict:
    """What the error means: the outcome for the post and the root cause the account's handling keys on."""

    outcome: Outcome
    error_type: str  # short machine name: rate_limited, automation_block, duplicate_content, http_503, ...
    root_cause: RootCause
    message: str  # human-readable; the caller redacts it
    retry_after: datetime | None = None

    def result(self, **extra: Any) -> PublishResult:
        """The verdict as a ``PublishResult`` (``extra``: ids, elapsed time, rate budget, a redacted
        ``message``)."""
        fields: dict[str, Any] = {
            "error_type": self.error_type,
            "root_cause": self.root_cause,
            "message": self.message,
            "retry_after": self.retry_after,
        }
        return PublishResult(self.outcome, **{**fields, **extra})


def classify(error: XError) -> Verdict:
    """The one reading of X's errors (see the module docstring for the order and the codes)."""
    status, codes, text = error.status, set(error.codes), error.text
    coded = f"HTTP {status}" + (f" (code {', '.join(map(str, error.codes))})" if error.codes else "")
    if status == 429 or codes & RATE_LIMIT_CODES:
        until = error.reset_at.isoformat() if error.reset_at else "the reset"
        return Verdict(
            Outcome.RETRYABLE,
            "rate_limited",
            RootCause.RATE_LIMIT,
            f"{coded}: {text}; wait until {until}",
            retry_after=error.reset_at,
        )
    if codes & AUTOMATION_CODES:
        return _automation(coded, text)
    if codes & DUPLICATE_CODES:
        return _duplicate(coded, text)
    if codes & SESSION_CODES or status == 401:
        kind = "session_expired" if codes & SESSION_CODES else "unauthorized"
        return Verdict(Outcome.REJECTED, kind, RootCause.SESSION, f"{coded}: {text}")
    if status >= 500 or codes & SERVER_CODES:
        return Verdict(Outcome.RETRYABLE, f"http_{status}", RootCause.NETWORK, f"{coded}: {text}")
    if not codes:  # a v2 problem answer: the words are all there is
        lowered = text.lower()
        if "automated" in lowered:
            return _automation(coded, text)
        if "duplicate" in lowered:
            return _duplicate(coded, text)
    return Verdict(Outcome.REJECTED, f"http_{status}", RootCause.UNKNOWN, f"{coded}: {text}")


def _automation(coded: str, text: str) -> Verdict:
    return Verdict(
        Outcome.REJECTED,
        "automation_block",
        RootCause.AUTOMATION_BLOCK,
        f"{coded}: X flagged the account as automated: {text}",
    )


def _duplicate(coded: str, text: str) -> Verdict:
    return Verdict(
        Outcome.REJECTED,
        "duplicate_content",
        RootCause.DUPLICATE,
        f"{coded}: duplicate content: maybe already posted: reconcile ({text})",
    )
