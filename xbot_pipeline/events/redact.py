"""Secrets never reach the store or the logs: every string and mapping passes through here first."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_KEYS = re.compile(
    r"(?i)^(auth_token|ct0|password|passwd|secret|token|access_token|refresh_token|api_key|apikey|"
    r"client_secret|authorization|cookie|cookies|set-cookie|bearer|webhook_url|alert_webhook_url|"
    r"x_api_token|llm_api_key|session|storage_state)$"
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{6,}"), rf"\1 {REDACTED}"),
    (
        re.compile(
            r"(?i)\b(auth_token|ct0|password|passwd|secret|access_token|refresh_token|api_key|apikey|"
            r"client_secret|token)(\"?\s*[=:]\s*\"?)([^\s\"'&;,}]+)"
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
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


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
