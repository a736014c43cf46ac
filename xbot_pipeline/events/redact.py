"""Secrets never reach the store or the logs: every string and mapping passes through here first.

Besides exact registered values and ``name=value`` forms, credentials are recognised in the shapes error
messages actually carry them: Playwright cookies and headers (``{'name': 'auth_token', 'value': '...'}``,
also as JSON, in either order), dict literals (``{'Authorization': 'Bearer ...'}``), header tuples
(``("cookie", "...")``) and ``Cookie:`` header lines. A name is a credential when it is one of X's
session cookies (auth_token, ct0, twid, kdt, att, _twitter_sess, auth_multi), session-like
(``*session*``, ``*sess``, ``*sid``), a token or secret (``*token*``, ``*secret*``, password, api key,
oauth_*), or a header carrying one (authorization, proxy-authorization, cookie, set-cookie,
x-csrf-token, x-api-key).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_KEYS = re.compile(
    r"(?i)^(auth_token|ct0|password|passwd|secret|token|access_token|refresh_token|api_key|apikey|"
    r"client_secret|authorization|proxy-authorization|cookie|cookies|set-cookie|bearer|webhook_url|"
    r"alert_webhook_url|x_api_token|llm_api_key|session|storage_state|twid|kdt|att|_twitter_sess|"
    r"auth_multi|x-csrf-token|csrf_token|oauth_token|oauth_token_secret|x-api-key|code_verifier|"
    r"consumer_key|consumer_secret|access_token_secret|secret_key|xbot_secret_key|sealed|oauth_signature)$"
)
# A cookie or header name whose value is a credential (see the module docstring).
_CREDENTIAL_NAME = (
    r"(?:auth_token|ct0|twid|kdt|att|_twitter_sess|auth_multi|[\w.-]*session[\w.-]*|[\w.-]*_?sess|"
    r"[\w.-]*sid|[\w.-]*token[\w.-]*|[\w.-]*secret[\w.-]*|password|passwd|api[_-]?key|x-api-key|"
    r"oauth[\w.-]*|bearer|(?:proxy-)?authorization|(?:set-)?cookies?|x-csrf-token|csrf[\w.-]*)"
)
_Q = r"(?P<{0}>['\"])"  # an opening quote; the value runs to the same quote (escaped quotes allowed)
_VALUE = r"(?:\\.|(?!(?P={0})).)*"
_STRUCTURED: list[re.Pattern[str]] = [
    # {'name': 'auth_token', 'value': '...'} (Playwright cookies and headers), any fields in between
    re.compile(
        rf"(?is)(?P<pre>{_Q.format('a')}name(?P=a)\s*:\s*{_Q.format('b')}{_CREDENTIAL_NAME}(?P=b)"
        rf"[^{{}}]*?{_Q.format('c')}value(?P=c)\s*:\s*{_Q.format('q')})(?P<secret>{_VALUE.format('q')})"
    ),
    # the same with value before name
    re.compile(
        rf"(?is)(?P<pre>{_Q.format('c')}value(?P=c)\s*:\s*{_Q.format('q')})(?P<secret>{_VALUE.format('q')})"
        rf"(?=(?P=q)[^{{}}]*?{_Q.format('a')}name(?P=a)\s*:\s*{_Q.format('b')}{_CREDENTIAL_NAME}(?P=b))"
    ),
    # {'auth_token': '...'} / {"Authorization": "Bearer ..."} / ("cookie", "...")
    re.compile(
        rf"(?is)(?P<pre>(?:\(\s*{_Q.format('a')}{_CREDENTIAL_NAME}(?P=a)\s*,|"
        rf"{_Q.format('k')}{_CREDENTIAL_NAME}(?P=k)\s*:)\s*{_Q.format('q')})(?P<secret>{_VALUE.format('q')})"
    ),
    # Cookie: auth_token=...; ct0=...  (a whole cookie header line)
    re.compile(r"(?im)(?P<pre>\b(?:set-)?cookie\s*:\s*)(?P<secret>[^\r\n'\"]+)"),
]
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{6,}"), rf"\1 {REDACTED}"),
    (
        re.compile(
            r"(?i)\b(auth_token|ct0|twid|kdt|att|_twitter_sess|auth_multi|password|passwd|secret|access_token|"
            r"refresh_token|api_key|apikey|client_secret|oauth_token|oauth_token_secret|csrf_token|code_verifier|"
            r"consumer_secret|access_token_secret|oauth_signature|token)"
            r"(\"?\s*[=:]\s*\"?)([^\s\"'&;,}]+)"
        ),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"(?i)(authorization\s*:\s*)(\S+(\s+\S+)?)"), rf"\1{REDACTED}"),
    (re.compile(r"https://hooks\.slack\.com/\S+"), f"https://hooks.slack.com/{REDACTED}"),
    (re.compile(r"(?i)(://[^/\s:@]+:)([^@\s/]+)(@)"), rf"\1{REDACTED}\3"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),
]

_known: set[str] = set()
_known_lock = threading.Lock()


def register_secret(*values: str | None) -> None:
    """Remember exact secret values (tokens, webhook URLs) so they are redacted wherever they appear."""
    with _known_lock:
        for v in values:
            if v and len(v) >= 6:
                _known.add(v)


def redact_text(text: str, extra: Iterable[str] = ()) -> str:
    with _known_lock:
        known = sorted(_known.union(v for v in extra if v and len(v) >= 6), key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for structured in _STRUCTURED:
        text = structured.sub(_keep_name, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _keep_name(match: re.Match[str]) -> str:
    return match.group("pre") + (REDACTED if match.group("secret") else "")


def redact(value: Any, extra: Iterable[str] = ()) -> Any:
    """Redact recursively: secret-named keys lose their values, strings lose secret-looking parts."""
    extra = tuple(extra)
    if isinstance(value, str):
        return redact_text(value, extra)
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and _SECRET_KEYS.match(k) and v else redact(v, extra))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, extra) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to a logger's handlers (root by default) and to the logger itself."""
    logger = logger or logging.getLogger()
    targets: list[logging.Filterer] = [logger, *logger.handlers]
    for target in targets:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
