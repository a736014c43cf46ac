"""Where the CLI's log records go: details (tracebacks) to ``XBOT_HOME/logs/xbot.log``, one line each to
stderr, never a traceback on the terminal."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

from xbot_pipeline.events.redact import install_log_redaction, redact_text

log = logging.getLogger("xbot_pipeline.cli")
LOG_NAME = "xbot.log"


class _OneLine(logging.Formatter):
    """``xbot: warning: <first line of the message>``: no traceback, no stack."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage().strip().splitlines() or [""]
        return f"xbot: {record.levelname.lower()}: {text[0]}"


class _ForTheTerminal(logging.Filter):
    """Only the settings' warnings (an unknown XBOT_* name) reach the terminal: every other record (the
    event tracker's copies, a pass's details, tracebacks) goes to the log file, and the command prints
    its own one-line outcome."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == "xbot_pipeline.settings" and not record.exc_info


class _LogFile(logging.FileHandler):
    """Opened (folder created, 0600) on the first record only, so a command that logs nothing creates
    nothing; a log file that cannot be written loses the record quietly (the command still prints)."""

    def _open(self) -> io.TextIOWrapper:
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        stream = super()._open()
        os.chmod(self.baseFilename, 0o600)
        return stream

    def handleError(self, record: logging.LogRecord) -> None:
        return None


def log_file() -> Path | None:
    """``XBOT_HOME/logs/xbot.log`` when the settings load; None otherwise (the command says why)."""
    from xbot_pipeline.settings import SettingsError, load_settings

    try:
        return load_settings().home / "logs" / LOG_NAME
    except (SettingsError, ValueError):
        return None


_installed: list[logging.Handler] = []


def set_up_logging() -> None:
    """Idempotent: a second call (a test driving ``main`` twice in one process) replaces the handlers."""
    root = logging.getLogger()
    for old in _installed:
        root.removeHandler(old)
        old.close()
    _installed.clear()
    root.setLevel(logging.WARNING)
    terminal = logging.StreamHandler()
    terminal.setFormatter(_OneLine())
    terminal.addFilter(_ForTheTerminal())
    root.addHandler(terminal)
    _installed.append(terminal)
    path = log_file()
    if path is not None:
        handler = _LogFile(path, encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        _installed.append(handler)
    install_log_redaction()


def log_unexpected(exc: BaseException) -> str:
    """Log ``exc`` with its traceback (file only) and return the one line the user sees."""
    log.error("unexpected error", exc_info=exc)
    first = (str(exc).strip().splitlines() or [""])[0]
    path = log_file()
    where = f"details in {path}" if path is not None else "run again with XBOT_HOME set to see details"
    return redact_text(f"unexpected {type(exc).__name__}: {first} ({where})")
