"""The `xbot` command. Domain modules register their commands on the shared Typer app.

``main`` is the one place a failure becomes output: every error is ONE line on stderr
(``xbot: error: ...``) and a non-zero exit; a traceback never reaches the terminal (unexpected errors
write theirs to the log file, ``XBOT_HOME/logs/xbot.log``, and the line says so).
"""

from __future__ import annotations

import signal
import sqlite3
import sys
from typing import NoReturn

from typer import Abort, Exit
from typer._click.exceptions import ClickException, NoArgsIsHelpError, NoSuchOption, UsageError

from xbot_pipeline.cli import accounts, auth, db, demo, fleet, learning, review, status, threads, ui  # noqa: F401  (registers commands)
from xbot_pipeline.cli import bulk as _bulk_cli  # noqa: F401  (registers `xbot import` and `xbot export`)
from xbot_pipeline.cli import posting as _posting_cli  # noqa: F401  (registers `xbot enqueue` and friends)
from xbot_pipeline.cli import sandbox as _sandbox_cli  # noqa: F401  (registers `xbot sandbox`)
from xbot_pipeline.cli.app import CliError, app, write_error_line
from xbot_pipeline.cli.logs import log_unexpected, set_up_logging
from xbot_pipeline.settings import SettingsError
from xbot_pipeline.store.errors import StoreUnreachable, StoreUnusable

# Exit codes: 2 bad input or usage, 3 the store cannot be reached, 1 anything else, 130 interrupted.
USAGE, UNREACHABLE, FAILED, INTERRUPTED = 2, 3, 1, 130


def _honour_interrupts() -> None:
    """A shell starts background commands with SIGINT ignored, and Python (and anything it execs, such as
    `dagster dev` and its webserver and daemon) would keep ignoring it: `kill -INT` or Ctrl-C forwarded by a
    supervisor then never stops `xbot sandbox serve` or `xbot ui`. Take the default interrupt back."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _usage_line(exc: UsageError) -> str:
    """Typer's message ("Missing argument 'POST_ID'.") plus where to read the usage."""
    message = " ".join(exc.format_message().split())
    if isinstance(exc, NoSuchOption):
        message += " (a value that starts with '-' goes after '--', e.g. xbot enqueue -- '-text')"
    ctx = exc.ctx
    if ctx is not None:
        return f"{message} (see '{ctx.command_path} --help')"
    return message


def _exit(message: str, code: int) -> NoReturn:
    write_error_line(message)
    sys.exit(code)


def _check_utf8(argv: list[str]) -> None:
    """Arguments arrive decoded with surrogateescape: bytes that are not UTF-8 become lone surrogates,
    which no store, page or terminal accepts; name the argument instead of failing later."""
    for number, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")[:60]
            raise CliError(f"argument {number} is not valid UTF-8: {shown}") from None


def main(argv: list[str] | None = None) -> None:
    _honour_interrupts()
    set_up_logging()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _check_utf8(argv)
        code = app(args=argv, prog_name="xbot", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # `xbot`, `xbot db`, `xbot sandbox`: the help, then one line
        if exc.ctx is not None:
            sys.stdout.write(exc.ctx.get_help() + "\n")
        _exit(f"missing command (see '{exc.ctx.command_path if exc.ctx else 'xbot'} --help')", USAGE)
    except UsageError as exc:
        _exit(_usage_line(exc), USAGE)
    except ClickException as exc:
        _exit(" ".join(exc.format_message().split()), exc.exit_code or USAGE)
    except (CliError, SettingsError, ValueError) as exc:
        _exit(_first_line(exc), USAGE)
    except (Abort, KeyboardInterrupt):
        _exit("interrupted", INTERRUPTED)
    except Exit as exc:  # raised by a command; standalone_mode=False returns it from help/version only
        sys.exit(exc.exit_code)
    except StoreUnreachable as exc:
        _exit(f"the store cannot be reached: {_first_line(exc.orig or exc)}", UNREACHABLE)
    except StoreUnusable as exc:
        _exit(f"the store cannot be used: {_first_line(exc.orig or exc)}", UNREACHABLE)
    except sqlite3.DatabaseError as exc:
        _exit(f"a local database file cannot be used: {_first_line(exc)}", UNREACHABLE)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        _exit(f"cannot use{where}: {exc.strerror or _first_line(exc)}", USAGE)
    except Exception as exc:
        _exit(log_unexpected(exc), FAILED)
    if isinstance(code, int) and code:
        sys.exit(code)
